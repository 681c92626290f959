"""Which label each item of an imported file takes, and when the file's own security
marking refuses the import. Pure.

* **A label given** by the importer labels everything. Every marking in the file (on the
  document, a group, a shape, an event) must be within it: none above its level, and none
  releasable to fewer communities than it names. Otherwise ``MarkingRefusedError``, naming
  the marking and where it is.
* **No label given**: the document's own marking is the file's label, and the floor of
  every item in it: an element marked stricter (by itself or the groups around it) takes
  the stricter label, the higher level and only the communities both release to, never
  a looser one. In a file without a document marking (a CoT file is one event after
  another) an element's own marking is its label. The sender's default labels what no
  marking gives a level; with no default either, ``LabelRequiredError``.

Markings are read by ``tessera.codecs.markings``; where each format carries them, by
``tessera.codecs.marking_sources``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal, NamedTuple

import msgspec

from tessera.codecs.markings import Marking, MarkingError, read_marking, stricter
from tessera.core.labels import DEFAULT_LEVELS, ClassificationScheme
from tessera.core.model import Label

LabelSource = Literal["given", "marking", "default"]
SHOWN_COMMUNITIES: Final = 8


class MarkingRefusedError(MarkingError):
    """A marking in the file that the label given would break."""


class LabelRequiredError(ValueError):
    """Neither a label given, nor a marking, nor a default label for something imported."""


class Found(NamedTuple):
    """A marking's text as a file writes it, and where (element and line)."""

    text: str
    where: str
    banner: bool = False  # a title line: a marking only if it starts with a classification


class Labelled(msgspec.Struct, frozen=True):
    """What an import was labelled with: ``label`` from ``source`` (None: each item by its
    own marking), and how many items took another label from their own marking."""

    label: Label | None
    source: LabelSource
    own_marking: int = 0


class ImportLabels(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The inputs of the decision: the levels, the label given, the sender's default.
    ``markings=False`` labels everything ``given`` without reading the file's markings
    (for files Tessera wrote itself)."""

    levels: tuple[str, ...] = DEFAULT_LEVELS
    given: Label | None = None
    default: Label | None = None
    markings: bool = True

    def file(self, document: Iterable[Found]) -> FileLabels:
        """The labels of one file whose document carries the markings ``document``."""
        return FileLabels(self, document)


def rule_of(label: Label | ImportLabels) -> ImportLabels:
    """A label alone labels everything, as a reader of Tessera's own files wants."""
    return label if isinstance(label, ImportLabels) else ImportLabels(given=label, markings=False)


class FileLabels:
    """The labels of one file, decided as its elements are read."""

    def __init__(self, rule: ImportLabels, document: Iterable[Found]) -> None:
        self._rule = rule
        self._scheme = ClassificationScheme(rule.levels)
        self._labelled = 0
        self._own_marking = 0
        self.document = self.within(None, document)
        self._base: Label | None
        self._source: LabelSource
        if rule.given is not None:
            self._base, self._source = rule.given, "given"
        elif self.document is not None and self.document.level is not None:
            self._base, self._source = self.document.label(self.document.level), "marking"
        elif rule.default is not None:
            self._base, self._source = rule.default, "default"
        else:
            self._base, self._source = None, "marking"

    def within(self, outer: Marking | None, found: Iterable[Found]) -> Marking | None:
        """The marking in force inside an element: ``outer`` (its container's) and its own
        ``found``, each checked against the label given."""
        if not self._rule.markings:
            return None
        for text, where, banner in found:
            marking = read_marking(text, self._scheme, where=where, banner=banner)
            if marking is not None:
                self._check(marking)
                outer = stricter(outer, marking, self._scheme)
        return outer

    def item(self, marking: Marking | None, where: str) -> Label:
        """The label of an item under ``marking`` (its own and its containers')."""
        base, given = self._base, self._rule.given
        if given is not None:
            label = given
        elif marking is not None and marking.level is not None:
            # The document's marking is a floor; without one the element's marking rules.
            floor = base if self._source == "marking" else None
            label = marking.label(marking.level) if floor is None else self._raised(floor, marking)
        elif base is not None:
            label = base if marking is None else self._raised(base, marking)
        else:
            said = "no security marking" if marking is None else f"only {marking.text!r}"
            raise LabelRequiredError(f"{where} has {said}")
        self._labelled += 1
        if label != base:
            self._own_marking += 1
        return label

    def finish(self) -> Labelled:
        """What the file was labelled with; ``LabelRequiredError`` if nothing decided it."""
        if self._base is None and not self._labelled:
            raise LabelRequiredError("the file has no security marking")
        own = self._own_marking if self._base is not None else 0
        return Labelled(self._base, self._source, own)

    def _raised(self, base: Label, marking: Marking) -> Label:
        rank = self._scheme.rank
        level = base.classification
        if marking.level is not None and rank(marking.level) > rank(level):
            level = marking.level
        communities = set(base.releasable_to)
        if marking.releasable_to is not None:
            communities &= marking.releasable_to
        return Label(level, tuple(sorted(communities)))

    def _check(self, marking: Marking) -> None:
        given = self._rule.given
        if given is None:
            return
        rank = self._scheme.rank
        if marking.level is not None and rank(marking.level) > rank(given.classification):
            raise MarkingRefusedError(
                f"{marking.where}: marked {marking.text!r}, above the label given "
                f"({given.classification}); import it at {marking.level} or above, or leave "
                "classification out to take the file's own marking"
            )
        if marking.releasable_to is None:
            return
        outside = sorted(set(given.releasable_to) - marking.releasable_to)
        if outside:
            allowed = ", ".join(sorted(marking.releasable_to)[:SHOWN_COMMUNITIES]) or "nobody"
            raise MarkingRefusedError(
                f"{marking.where}: marked {marking.text!r}, releasable only to {allowed}; "
                f"the label given would release it to {', '.join(outside[:SHOWN_COMMUNITIES])}"
            )
