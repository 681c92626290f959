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
from collections.abc import Sequence
from typing import Final

import numpy as np

from tessera.core.fusion.association import GatedPairs
from tessera.core.fusion.gating import GATE_CHI2
from tessera.core.fusion.identity import CLASSES, statement_log_likelihood
from tessera.core.fusion.table import TrackTable
from tessera.core.model import Identity, Report

_PRIOR: Final = 1.0 / len(CLASSES)
# Up to this many pairs (a micro-batch of a commit or two) the ratios are taken pair by
# pair in floats, which costs less than NumPy's calls on such short arrays.
_FLOAT_PAIRS: Final = 32


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
    if gated.report.size <= _FLOAT_PAIRS:
        return _with_identity_floats(gated, reports, table)
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


@functools.cache
def _statement_floats(stated: Identity, reliability: str) -> tuple[tuple[float, ...], float] | None:
    """A statement's likelihood of each class, and its likelihood under no belief."""
    logs = statement_log_likelihood(stated, reliability)
    if logs is None:
        return None
    likelihood = tuple(math.exp(value) for value in logs)
    return likelihood, _PRIOR * sum(likelihood)


def _with_identity_floats(
    gated: GatedPairs, reports: Sequence[Report], table: TrackTable
) -> GatedPairs:
    """``with_identity`` pair by pair, in floats (the same sums, in the same order)."""
    kept: list[int] = []
    costs: list[float] = []
    distances: list[float] = []
    by_row = table.by_row
    floor = math.ulp(1.0)
    report_of = gated.report.tolist()
    statements = {
        index: _statement_floats(reports[index].identity, reports[index].grading.reliability)
        for index in set(report_of)
    }
    for at, (index, row, cost, distance2) in enumerate(
        zip(
            report_of,
            gated.row.tolist(),
            gated.cost.tolist(),
            gated.distance2.tolist(),
            strict=True,
        )
    ):
        statement = statements[index]
        if statement is None:
            kept.append(at)
            costs.append(cost)
            distances.append(distance2)
            continue
        (l0, l1, l2, l3), unbelieved = statement
        belief = by_row[row].belief
        if belief.evidence == 0 and belief.authoritative is None:
            p0 = p1 = p2 = p3 = _PRIOR
        else:
            p0, p1, p2, p3 = belief.class_probabilities()
        ratio = (p0 * l0 + p1 * l1 + p2 * l2 + p3 * l3) / unbelieved
        if belief.authoritative is not None and ratio < 1.0:
            continue
        penalty = -2.0 * math.log(floor if floor > ratio else ratio)
        if distance2 + (0.0 if penalty < 0.0 else penalty) > GATE_CHI2:
            continue
        kept.append(at)
        costs.append(cost + penalty)
        distances.append(distance2 + penalty)
    index = np.array(kept, dtype=np.intp)
    return GatedPairs(gated.report[index], gated.row[index], np.array(costs), np.array(distances))
