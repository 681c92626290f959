"""Security labels and pictures: who may see what (DESIGN §3).

A picture is an audience. Its admission rule decides, from a report's label alone, whether
the report may contribute to that picture; fusion then runs per picture over only the
reports it admits, so nothing derived from a report reaches an audience that may not see it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec

from tessera.core.model import Label

DEFAULT_LEVELS: Final = ("UNCLASSIFIED", "RESTRICTED", "CONFIDENTIAL", "SECRET")


class ClassificationScheme:
    """Ordered classification levels, lowest first."""

    __slots__ = ("_rank", "levels")

    def __init__(self, levels: Sequence[str] = DEFAULT_LEVELS) -> None:
        if not levels:
            raise ValueError("a classification scheme needs at least one level")
        if len(set(levels)) != len(levels):
            raise ValueError("classification levels must be distinct")
        self.levels: tuple[str, ...] = tuple(levels)
        self._rank = {level: rank for rank, level in enumerate(self.levels)}

    def __contains__(self, level: object) -> bool:
        return level in self._rank

    def rank(self, level: str) -> int:
        try:
            return self._rank[level]
        except KeyError:
            raise ValueError(f"unknown classification {level!r}") from None

    def highest(self, levels: Sequence[str]) -> str:
        return max(levels, key=self.rank) if levels else self.levels[0]


class AdmissionRule(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """Which labels a picture admits.

    ``max_classification``: the highest level admitted (``None``: any level).
    ``releasable_to``: a community the label must be releasable to (``None``: no need).
    """

    max_classification: str | None = None
    releasable_to: str | None = None


ANY_PRINCIPAL: Final = "*"


class Picture(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """A named audience, its admission rule, and who may read it.

    ``readers`` names principals (``"*"``: any); ``reader_communities`` admits every
    principal of those communities. Either way a principal reads a picture only if its
    clearance and communities cover everything the picture admits
    (``tessera.security.policy``).
    """

    name: str
    rule: AdmissionRule = AdmissionRule()
    description: str = ""
    readers: tuple[str, ...] = ()
    reader_communities: tuple[str, ...] = ()


DEFAULT_PICTURE: Final = Picture(
    name="COP",
    description="Every report, for every principal cleared to the highest level",
    readers=(ANY_PRINCIPAL,),
)


def admits(picture: Picture, label: Label, scheme: ClassificationScheme) -> bool:
    """Whether a report with ``label`` may contribute to ``picture``."""
    rule = picture.rule
    if rule.max_classification is not None and scheme.rank(label.classification) > scheme.rank(
        rule.max_classification
    ):
        return False
    return rule.releasable_to is None or rule.releasable_to in label.releasable_to


def pictures_problem(
    pictures: tuple[Picture, ...],
    scheme: ClassificationScheme,
    fused_here: tuple[str, ...] = (),
    fusion_role: bool = True,
) -> str | None:
    """What is wrong with the configured pictures (and the ones a fusion worker takes), or
    None."""
    names = [picture.name for picture in pictures]
    if not names:
        return "at least one picture is needed"
    if len(set(names)) != len(names):
        return "picture names must be distinct"
    if fused_here and not fusion_role:
        return "fusion_pictures is for role 'fusion' (every other role has all)"
    unknown = sorted(set(fused_here) - set(names))
    if unknown:
        return f"fusion_pictures: no picture named {', '.join(unknown)}"
    for picture in pictures:
        level = picture.rule.max_classification
        if level is not None and level not in scheme:
            return f"picture {picture.name}: unknown classification {level!r}"
    return None
