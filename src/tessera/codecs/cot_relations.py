"""Order-of-battle relations a CoT event states: the formation a unit belongs to."""

from __future__ import annotations

import re
from typing import Final

from tessera.codecs.cot_model import CotEvent

# A ground unit of any affiliation: a-f-G-U, a-h-G-U-C-I, ...
_GROUND_UNIT: Final = re.compile(r"^a-[a-z]-G-U(-|$)")


def parent_uid(event: CotEvent) -> str | None:
    """The uid of the formation a ground unit's event names as its parent (its ``link
    relation="p-p"``), or None: for a point that is not a unit, that link names whoever
    produced it, not a formation."""
    uid = event.link_uid
    if uid is None or uid == event.uid or _GROUND_UNIT.match(event.type) is None:
        return None
    return uid
