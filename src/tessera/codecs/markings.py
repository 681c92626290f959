"""Security markings as files write them, read into Tessera's levels and releasability.
Pure: text in, a ``Marking`` (or None for no marking at all) or a ``MarkingError`` out.

A marking is a classification, optionally after a policy, then caveats after ``//``:

* ``SECRET``, ``NATO SECRET``, ``COSMIC TOP SECRET``, ``Unclassified`` (any case),
  ``NOT CLASSIFIED`` (as NVG 2.0.2 files from nvg-parser write it), and the portion marks
  ``(S)`` or ``(NS)``. The level words are those of NATO's security policy (C-M(2002)49:
  UNCLASSIFIED, RESTRICTED, CONFIDENTIAL, SECRET, COSMIC TOP SECRET), which the NVG 1.4 and
  1.5 schemas recommend for their ``classification`` attribute and ATAK offers for CoT's
  ``access``. Each maps to the configured level of the same name; a deployment's own level
  names (``settings.levels``) are read as written. A classification with no configured
  level of its name is an error: Tessera never guesses a level.
* Caveats follow the banner convention (``SECRET//REL TO NATO, UKR``, as CAPCO and NATO
  banner lines write them). Releasability, ``REL TO`` or ``RELEASABLE TO`` and a list of
  communities, is the one caveat a Tessera label can carry; any other (NOFORN, ORCON,
  FOUO, ...) is an error, never dropped.

Releasability: a REL TO list limits the communities a label may be released to (several
lists: only what they share). A NATO or COSMIC marking is also releasable to NATO, and
beyond it only to what its REL TO adds: NATO information leaves NATO only where its
originator releases it. A marking with neither states no limit Tessera can enforce.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Final

import msgspec

from tessera.core.labels import ClassificationScheme
from tessera.core.model import COMMUNITY_PATTERN, Label

MAX_MARKING: Final = 512
MAX_COMMUNITIES: Final = 64
SHOWN: Final = 80
# Policy words that prefix a level, and the community they release to.
POLICIES: Final[Mapping[str, str]] = {"NATO": "NATO", "COSMIC": "NATO"}
# Written forms of the five levels: words and portion marks (NATO's NU, NR, NC, NS, CTS
# carry the policy in the mark itself).
ALIASES: Final[Mapping[str, tuple[str, str | None]]] = {
    **dict.fromkeys(
        ("UNCLASSIFIED", "UNCLAS", "U", "NOT CLASSIFIED", "NON CLASSIFIED"),
        ("UNCLASSIFIED", None),
    ),
    **dict.fromkeys(("RESTRICTED", "R"), ("RESTRICTED", None)),
    **dict.fromkeys(("CONFIDENTIAL", "C"), ("CONFIDENTIAL", None)),
    **dict.fromkeys(("SECRET", "S"), ("SECRET", None)),
    **dict.fromkeys(("TOP SECRET", "TS"), ("TOP SECRET", None)),
    "NU": ("UNCLASSIFIED", "NATO"),
    "NR": ("RESTRICTED", "NATO"),
    "NC": ("CONFIDENTIAL", "NATO"),
    "NS": ("SECRET", "NATO"),
    "CTS": ("TOP SECRET", "NATO"),
}
_RELEASE: Final = re.compile(r"(?:^|\s)(?:REL|RELEASABLE) TO(?:\s+|$)")
_COMMUNITY: Final = re.compile(COMMUNITY_PATTERN)
_SEPARATORS: Final = re.compile(r"[\s,]+")


class MarkingError(ValueError):
    """A marking Tessera cannot map, or one that refuses the import; the message names
    the marking and where it is."""


class Marking(msgspec.Struct, frozen=True):
    """One marking, read. ``level`` is a configured level (None: the marking only limits
    releasability); ``releasable_to`` the communities it may go to (None: no limit)."""

    text: str
    where: str
    level: str | None
    releasable_to: frozenset[str] | None = None

    def label(self, level: str) -> Label:
        """The label this marking gives at ``level``."""
        return Label(level, tuple(sorted(self.releasable_to or ())))


def read_marking(
    text: str, scheme: ClassificationScheme, *, where: str, banner: bool = False
) -> Marking | None:
    """The marking ``text`` states; None for blank text. ``banner``: text that is a marking
    only if it starts with a classification (a title or description line), else None."""
    written = " ".join(text[: MAX_MARKING + 1].split())
    if not written:
        return None
    shown = written[:SHOWN] + ("..." if len(written) > SHOWN else "")
    if len(text) > MAX_MARKING:
        raise MarkingError(f"{where}: marking {shown!r} is longer than {MAX_MARKING} characters")
    norm = written.upper()
    if norm.startswith("(") and norm.endswith(")"):
        norm = norm[1:-1].strip()  # a portion mark, e.g. (S//REL TO NATO)
    head, *caveats = (part.strip() for part in norm.split("//"))
    found = _RELEASE.search(head)
    if found is not None:  # "SECRET REL TO NATO": the caveat without its separator
        caveats.insert(0, head[found.start() :].strip())
        head = head[: found.start()].strip()
    levels = {level.upper(): level for level in scheme.levels}
    if banner and not _is_classification(head, levels):
        return None
    try:
        level, community = _level(head, levels) if head else (None, None)
        limit = _releasability(caveat for caveat in caveats if caveat)
    except ValueError as exc:
        raise MarkingError(f"{where}: marking {shown!r}: {exc}") from None
    if community is not None:
        limit = (limit or frozenset()) | {community}
    return Marking(text=shown, where=where, level=level, releasable_to=limit)


def compose(
    classification: str | None,
    *,
    policy: str | None = None,
    caveats: Iterable[str] = (),
    releasable_to: str | None = None,
) -> str:
    """One marking text from a format's separate fields (a policy, a classification,
    caveats and a releasability list), for ``read_marking``."""
    head = (classification or "").strip()
    word = (policy or "").strip().upper()
    if word in POLICIES and head and not head.upper().startswith(word):
        head = f"{word} {head}"
    rest = [caveat.strip() for caveat in caveats if caveat.strip()]
    if releasable_to is not None:  # even empty: a list that names nobody is an error
        rest.append(f"REL TO {releasable_to.strip()}".strip())
    if not head and rest and _RELEASE.match(rest[0].upper()):
        return "//".join(rest)  # releasability alone reads as a marking without a level
    return "//".join([head, *rest]) if head or rest else ""


def stricter(
    first: Marking | None, second: Marking | None, scheme: ClassificationScheme
) -> Marking | None:
    """Both markings at once: the higher level, and only the communities both release to."""
    if first is None or second is None:
        return first or second
    levels = [level for level in (first.level, second.level) if level is not None]
    level = max(levels, key=scheme.rank) if levels else None
    limits = [limit for limit in (first.releasable_to, second.releasable_to) if limit is not None]
    limit = frozenset.intersection(*limits) if limits else None
    top = second if level is not None and level == second.level else first
    return Marking(text=top.text, where=top.where, level=level, releasable_to=limit)


def _is_classification(head: str, levels: Mapping[str, str]) -> bool:
    policy, _, rest = head.partition(" ")
    words = rest if policy in POLICIES and rest else head
    return head in levels or words in levels or words in ALIASES


def _level(head: str, levels: Mapping[str, str]) -> tuple[str, str | None]:
    """The configured level a classification names, and the community its policy implies."""
    if head in levels:
        return levels[head], None
    policy, _, rest = head.partition(" ")
    community = POLICIES.get(policy) if rest else None
    words = rest if community else head
    if community is not None and words in levels:
        return levels[words], community
    if words not in ALIASES:
        raise ValueError(f"{head[:SHOWN]!r} is not a classification Tessera knows")
    name, implied = ALIASES[words]
    if name not in levels:
        known = ", ".join(levels.values())
        raise ValueError(f"{name} is not one of this server's levels ({known})")
    return levels[name], community or implied


def _releasability(caveats: Iterable[str]) -> frozenset[str] | None:
    limit: frozenset[str] | None = None
    for caveat in caveats:
        found = _RELEASE.match(caveat)
        if found is None:
            raise ValueError(
                f"caveat {caveat[:SHOWN]!r} is not one Tessera can enforce (only REL TO)"
            )
        communities = _communities(caveat[found.end() :])
        limit = communities if limit is None else limit & communities
    return limit


def _communities(listed: str) -> frozenset[str]:
    names = [name for name in _SEPARATORS.split(listed) if name]
    if not names:
        raise ValueError("REL TO names no community")
    if len(names) > MAX_COMMUNITIES:
        raise ValueError(f"REL TO names more than {MAX_COMMUNITIES} communities")
    for name in names:
        if not _COMMUNITY.match(name):
            raise ValueError(f"{name[:40]!r} is not a community name")
    return frozenset(names)
