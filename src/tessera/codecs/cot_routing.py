"""Where a CoT event is meant to go, as TAK clients say it: ``<marti>`` destinations and
``t-x-d-d`` deletes. Pure: no I/O.

An event with a ``<marti>`` element in its detail is *addressed*: meant only for the
clients its ``<dest>`` children name, by ``callsign`` (the one a client gives in its own
position's ``<contact>``), by ``uid`` (the client's own uid), by ``group`` (the team a
client gives in its own position's ``<__group name>``) or by ``mission`` (a TAK Server
data-sync mission). Without ``<marti>`` an event is for everyone who may read it. A
``<marti>`` that names nobody readable is still addressed, to no one: an event its sender
meant to be private is never broadcast because its addressing could not be read.

A delete (``t-x-d-d``) names what it removes with a ``<link uid=…>``; ATAK adds
``<__forcedelete/>`` when the user removes an item someone else placed.
"""

from __future__ import annotations

from typing import Final, NamedTuple

from lxml import etree

from tessera.codecs.cot_detail import REREAD_MAX_DEPTH
from tessera.codecs.cot_model import CotError, CotEvent
from tessera.codecs.cot_safe_xml import parse_fragment

DELETE_TYPE: Final = "t-x-d-d"
# A name longer than this, or more destinations than this, is not something a TAK client
# sends: the rest is ignored.
MAX_NAME_CHARS: Final = 1024
MAX_DESTINATIONS: Final = 256
_KINDS: Final = ("callsign", "uid", "group", "mission")


class Destinations(NamedTuple):
    """The clients an addressed event is meant for, by each way of naming them."""

    callsigns: frozenset[str] = frozenset()
    uids: frozenset[str] = frozenset()
    groups: frozenset[str] = frozenset()
    missions: frozenset[str] = frozenset()

    def names(self, *, uid: str | None, callsign: str | None, group: str | None) -> bool:
        """Whether a client with this own uid, callsign and team is one of them."""
        return (
            (uid is not None and uid in self.uids)
            or (callsign is not None and callsign in self.callsigns)
            or (group is not None and group in self.groups)
        )


def destinations(event: CotEvent) -> Destinations | None:
    """The destinations of an addressed event; None for an event meant for everyone.
    ``CotError`` if its detail cannot be read (which the parsers never let through)."""
    if "marti" not in event.detail_xml:
        return None
    elements = _detail(event)
    martis = [element for element in elements if element.tag == "marti"]
    if not martis:
        return None
    found: dict[str, set[str]] = {kind: set() for kind in _KINDS}
    count = 0
    for marti in martis:
        for dest in marti.findall("dest"):
            for kind in _KINDS:
                value = (dest.get(kind) or "").strip()
                if value and len(value) <= MAX_NAME_CHARS and count < MAX_DESTINATIONS:
                    found[kind].add(value)
                    count += 1
    return Destinations(
        callsigns=frozenset(found["callsign"]),
        uids=frozenset(found["uid"]),
        groups=frozenset(found["group"]),
        missions=frozenset(found["mission"]),
    )


def is_delete(event: CotEvent) -> bool:
    return event.type == DELETE_TYPE


def deleted_uid(event: CotEvent) -> str | None:
    """The uid a ``t-x-d-d`` removes (its first ``<link>`` with a uid); None if it names
    none, or the event is not a delete."""
    if not is_delete(event):
        return None
    if event.link_uid:
        return event.link_uid
    if "link" not in event.detail_xml:
        return None
    for element in _detail(event):
        if element.tag == "link":
            uid = (element.get("uid") or "").strip()
            if uid and len(uid) <= MAX_NAME_CHARS:
                return uid
    return None


def _detail(event: CotEvent) -> list[etree._Element]:
    # detail_xml was written by Tessera's own parsers: read back with their limits.
    return parse_fragment(
        event.detail_xml,
        max_bytes=4 * len(event.detail_xml),
        max_depth=REREAD_MAX_DEPTH,
        where="detail",
    )


__all__ = [
    "DELETE_TYPE",
    "CotError",
    "Destinations",
    "deleted_uid",
    "destinations",
    "is_delete",
]
