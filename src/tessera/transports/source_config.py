"""The checks every configured source of reports shares (``[[feeds]]``, ``[[imagery]]``):
distinct names, each source's own problem, a label of a known level."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from tessera.core.labels import ClassificationScheme
    from tessera.core.model import Label


class ConfiguredSource(Protocol):
    @property
    def name(self) -> str: ...

    @property
    def label(self) -> Label | None: ...

    def problem(self) -> str | None: ...


def check_sources(
    section: str, each: str, sources: Sequence[ConfiguredSource], scheme: ClassificationScheme
) -> None:
    """Raise ValueError naming the first source set up wrongly: ``section`` names the
    settings' list (``feeds``), ``each`` one of its entries (``feed``)."""
    names = [source.name for source in sources]
    if len(set(names)) != len(names):
        raise ValueError(f"{section}: names must be distinct")
    for source in sources:
        problem = source.problem()
        if problem is not None:
            raise ValueError(f"{each} {source.name}: {problem}")
        if source.label is not None and source.label.classification not in scheme:
            level = source.label.classification
            raise ValueError(f"{each} {source.name}: {level!r} is not a level")
