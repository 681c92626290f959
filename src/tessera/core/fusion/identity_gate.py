"""Identity-aided association: what a report says a thing is weighs on which track it is.

Position alone cannot tell apart two things a few tens of metres apart, nor a late report
of a friendly vehicle from the hostile one that passed the same place. A report's stated
identity is a second, independent measurement: its likelihood under a track's identity
belief, against its likelihood under no belief (a thing not yet tracked), is a factor of
the association likelihood. Its log (times -2, as the Mahalanobis cost is) is added to
the pair's cost and to its squared distance, and the pair must still pass the gate's
chi-square test: a report that position alone cannot place is refused by a track whose
identity contradicts it (a friendly statement near a firmly hostile track, hundreds of
metres off), while one at the very place still joins, and may overturn a belief. A
declared identity (a unit's own, a headquarters' file) is not a belief that sightings can
overturn: a report whose statement is likelier of a new thing than of a declared track
is about something else, and is refused wherever it is.
"""

from __future__ import annotations

import functools
import math
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from tessera.core.fusion.arrays import IDENTITY_CLASSES, TrackArrays
from tessera.core.fusion.association import GatedPairs
from tessera.core.fusion.identity import CLASSES, statement_log_likelihood
from tessera.core.model import Identity, Report

_PRIOR: Final = 1.0 / len(CLASSES)
_SAYS_NOTHING: Final = ((0.0,) * IDENTITY_CLASSES, 0.0)


class Statement(NamedTuple):
    """A report's stated identity: its likelihood of each class, and its likelihood
    under no belief (zero: the report states nothing)."""

    likelihood: tuple[float, ...]
    unbelieved: float


@functools.cache
def _statement(stated: Identity, reliability: str) -> Statement:
    logs = statement_log_likelihood(stated, reliability)
    if logs is None:
        return Statement(*_SAYS_NOTHING)
    likelihood = tuple(math.exp(value) for value in logs)
    return Statement(likelihood, _PRIOR * sum(likelihood))


def statement_of(report: Report) -> Statement:
    return _statement(report.identity, report.grading.reliability)


def with_identity(
    gated: GatedPairs,
    likelihood: npt.NDArray[np.float64],
    unbelieved: npt.NDArray[np.float64],
    arrays: TrackArrays,
    limit: float,
) -> GatedPairs:
    """``gated`` with each pair's cost moved by the identity likelihood ratio (reports'
    ``likelihood`` and ``unbelieved`` as their ``Statement``s say, tracks' beliefs as
    ``arrays`` mirror them), and the pairs that no longer pass the gate's ``limit``
    refused. (``gate_kernel`` weighs each pair the same way, as it gates it.)"""
    if gated.report.size == 0:
        return gated
    says = unbelieved[gated.report]
    stated = np.flatnonzero(says > 0.0)
    ratio = np.ones(gated.report.size)
    rows = gated.row[stated]
    weighed = arrays.belief[rows] * likelihood[gated.report[stated]]
    # Summed left to right, as the kernel sums them.
    total = ((weighed[:, 0] + weighed[:, 1]) + weighed[:, 2]) + weighed[:, 3]
    ratio[stated] = total / says[stated]
    contradicts = np.zeros(gated.report.size, dtype=bool)
    contradicts[stated] = (arrays.declared[rows] != 0) & (ratio[stated] < 1.0)
    # Never wider than the kinematic gate: agreement only ranks, disagreement also narrows.
    penalty = -2.0 * np.log(np.maximum(ratio, math.ulp(1.0)))
    keep = (gated.distance2 + np.maximum(penalty, 0.0) <= limit) & ~contradicts
    cost = gated.cost + penalty
    return GatedPairs(
        gated.report[keep], gated.row[keep], cost[keep], gated.distance2[keep] + penalty[keep]
    )
