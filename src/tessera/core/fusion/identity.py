"""Identity as a categorical belief, updated by Bayes with each report's grading.

The hidden truth is one of friend, neutral, hostile, or unidentified (a thing its observers
cannot tell the side of). A report's stated identity is a noisy observation of it: the
source's reliability (Admiralty A-F) sets how likely it is to be right; "assumed friend"
and "suspect" are weaker statements of friend and hostile; "unknown" states unidentified
(a source that names the side of what it sees says unknown of what it cannot tell, so
its unknowns outweigh a few side statements that a neighbour's reports brought in);
"pending" says nothing. The belief is shown back as a standard identity, hedged
(assumed friend, suspect) when it is not firm.
"""

from __future__ import annotations

import functools
import math
from typing import Final

from tessera.core.model import Grading, Identity

CLASSES: Final = (Identity.FRIEND, Identity.NEUTRAL, Identity.HOSTILE, Identity.UNKNOWN)

# Probability that a source of this reliability states the right identity.
RELIABILITY_HIT_RATE: Final = {"A": 0.95, "B": 0.85, "C": 0.72, "D": 0.6, "E": 0.45, "F": 0.55}

# A hedged statement counts for this share of a firm one (on the log scale).
_HEDGED_WEIGHT: Final = 0.5
_STATEMENT: Final = {
    Identity.FRIEND: (Identity.FRIEND, 1.0),
    Identity.ASSUMED_FRIEND: (Identity.FRIEND, _HEDGED_WEIGHT),
    Identity.NEUTRAL: (Identity.NEUTRAL, 1.0),
    Identity.HOSTILE: (Identity.HOSTILE, 1.0),
    Identity.SUSPECT: (Identity.HOSTILE, _HEDGED_WEIGHT),
    Identity.UNKNOWN: (Identity.UNKNOWN, 1.0),
}
FIRM: Final = 0.9
LIKELY: Final = 0.6
# Each class as likely as another: a belief before any sighting or declaration.
UNIFORM: Final = (1.0 / len(CLASSES),) * len(CLASSES)
# Keep log-odds bounded so a long history can still be overturned by new evidence.
_LOG_CLAMP: Final = 25.0


def statement_log_likelihood(stated: Identity, reliability: str) -> tuple[float, ...] | None:
    """How likely a source of ``reliability`` is to state ``stated`` of a thing of each
    class (log, per class of CLASSES); None when the statement says nothing."""
    return _log_likelihood(stated, reliability)


@functools.cache
def _log_likelihood(stated: Identity, reliability: str) -> tuple[float, ...] | None:
    """What one statement adds to the log-probability of each class (memoised: a few
    dozen combinations in all)."""
    statement = _STATEMENT.get(stated)
    if statement is None:
        return None
    target, weight = statement
    hit = RELIABILITY_HIT_RATE[reliability]
    miss = (1.0 - hit) / (len(CLASSES) - 1)
    return tuple(weight * math.log(hit if cls is target else miss) for cls in CLASSES)


@functools.cache
def _certain(declared: Identity) -> tuple[float, ...]:
    """The class probabilities of a declared identity: certain of its side."""
    side = _STATEMENT.get(declared, (Identity.UNKNOWN, 1.0))[0]
    return tuple(1.0 if cls is side else 0.0 for cls in CLASSES)


class IdentityBelief:
    """Log-probabilities over CLASSES, moved by sightings; ``authoritative`` is the
    identity a declaration states (``core.fusion.declarations``), shown while it is in
    force: the newest declaration's (``declared_at``), until ``declared_until``."""

    __slots__ = (
        "_posterior",
        "_posterior_of",
        "authoritative",
        "declared_at",
        "declared_confidence",
        "declared_until",
        "evidence",
        "log_p",
    )

    def __init__(self) -> None:
        self.log_p = [0.0] * len(CLASSES)
        self.authoritative: Identity | None = None
        self.declared_at = -math.inf
        self.declared_until = math.inf
        self.declared_confidence = 1.0
        self.evidence = 0
        # The posterior of the log-probabilities it was taken from (association asks for
        # it of every candidate pair; it changes only with a sighting).
        self._posterior: tuple[float, ...] = ()
        self._posterior_of: list[float] | None = None

    def observe(self, stated: Identity, grading: Grading) -> None:
        step = _log_likelihood(stated, grading.reliability)
        if step is None:
            return
        moved = [value + change for value, change in zip(self.log_p, step, strict=True)]
        top = max(moved)
        self.log_p = [max(value - top, -_LOG_CLAMP) for value in moved]
        self.evidence += 1

    def declare(self, identity: Identity, confidence: float, at: float, until: float) -> bool:
        """A declaration's identity, in force unless a newer one (by ``at``) already is;
        answers whether it now is."""
        if at < self.declared_at:
            return False
        self.authoritative = identity
        self.declared_confidence = confidence
        self.declared_at = at
        self.declared_until = until
        return True

    def expire(self, now: float) -> bool:
        """Give up a declared identity whose validity has ended; answers whether it did."""
        if self.authoritative is None or self.declared_until > now:
            return False
        self.authoritative = None
        return True

    def posterior(self) -> tuple[float, ...]:
        log_p = self.log_p
        if self._posterior_of is not log_p:
            weights = [math.exp(value) for value in log_p]
            total = sum(weights)
            self._posterior = tuple(weight / total for weight in weights)
            self._posterior_of = log_p
        return self._posterior

    def class_probabilities(self) -> tuple[float, ...]:
        """The probability of each class of CLASSES: a declaration in force is certain."""
        if self.authoritative is not None:
            return _certain(self.authoritative)
        return self.posterior()

    def weighed(self) -> tuple[float, ...]:
        """What a report's stated identity is weighed against (``identity_gate``): the
        class probabilities, or none above another before any sighting or declaration."""
        if self.evidence == 0 and self.authoritative is None:
            return UNIFORM
        return self.class_probabilities()

    def estimate(self) -> tuple[Identity, float]:
        """The identity to show and the probability behind it."""
        if self.authoritative is not None:
            return self.authoritative, self.declared_confidence
        if self.evidence == 0:
            return Identity.UNKNOWN, 0.0
        posterior = self.posterior()
        best = max(range(len(CLASSES)), key=posterior.__getitem__)
        probability = posterior[best]
        cls = CLASSES[best]
        if probability >= FIRM:
            return cls, probability
        if probability >= LIKELY:
            hedged = {Identity.FRIEND: Identity.ASSUMED_FRIEND, Identity.HOSTILE: Identity.SUSPECT}
            return hedged.get(cls, cls), probability
        return Identity.UNKNOWN, probability
