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

import math
from collections.abc import Sequence
from typing import Final

import numpy as np

from tessera.core.fusion.association import GatedPairs
from tessera.core.fusion.gating import GATE_CHI2
from tessera.core.fusion.identity import CLASSES, statement_log_likelihood
from tessera.core.fusion.table import TrackTable
from tessera.core.model import Report

_PRIOR: Final = 1.0 / len(CLASSES)


def _statement(report: Report) -> np.ndarray | None:
    logs = statement_log_likelihood(report.identity, report.grading.reliability)
    return None if logs is None else np.exp(np.array(logs))


def _gathered(vectors: dict[int, np.ndarray], keys: list[int]) -> np.ndarray:
    """The vector of each key, as the rows of one matrix."""
    order = list(vectors)
    position = {key: at for at, key in enumerate(order)}
    matrix = np.array([vectors[key] for key in order])
    return matrix[np.fromiter((position[key] for key in keys), np.intp, len(keys))]


def with_identity(gated: GatedPairs, reports: Sequence[Report], table: TrackTable) -> GatedPairs:
    """``gated`` with each pair's cost moved by the identity likelihood ratio, and the
    pairs that no longer pass the gate with it refused."""
    if gated.report.size == 0:
        return gated
    reports_of = gated.report.tolist()
    rows_of = gated.row.tolist()
    statements: dict[int, np.ndarray] = {}
    for index in set(reports_of):
        likelihood = _statement(reports[index])
        if likelihood is not None:
            statements[index] = likelihood
    if not statements:
        return gated
    # Each pair's belief and statement as rows of two matrices, so the likelihood ratios
    # are taken at once (the same products and sums, in the same order, as pair by pair).
    beliefs: dict[int, np.ndarray] = {}
    declared: set[int] = set()
    stated = [at for at, index in enumerate(reports_of) if index in statements]
    for row in {rows_of[at] for at in stated}:
        record = table.record_at(row)
        if record.belief.authoritative is not None:
            declared.add(row)
        if record.belief.evidence == 0 and record.belief.authoritative is None:
            beliefs[row] = np.full(len(CLASSES), _PRIOR)
        else:
            beliefs[row] = np.array(record.belief.class_probabilities())
    belief = _gathered(beliefs, [rows_of[at] for at in stated])
    likelihood = _gathered(statements, [reports_of[at] for at in stated])
    ratio = np.ones(gated.report.size)
    ratio[stated] = (belief * likelihood).sum(axis=1) / (_PRIOR * likelihood.sum(axis=1))
    contradicts = np.zeros(gated.report.size, dtype=bool)
    if declared:
        on_declared = np.fromiter((rows_of[at] in declared for at in stated), bool, len(stated))
        contradicts[stated] = on_declared & (ratio[stated] < 1.0)
    # Never wider than the kinematic gate: agreement only ranks, disagreement also narrows.
    penalty = -2.0 * np.log(np.maximum(ratio, math.ulp(1.0)))
    keep = (gated.distance2 + np.maximum(penalty, 0.0) <= GATE_CHI2) & ~contradicts
    cost = gated.cost + penalty
    return GatedPairs(
        gated.report[keep], gated.row[keep], cost[keep], gated.distance2[keep] + penalty[keep]
    )
