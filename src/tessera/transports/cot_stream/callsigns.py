"""The callsigns TAK units give themselves, to call their fused tracks by on TAK maps.

A unit's own position event carries its callsign (``<contact callsign=...>``); fused
tracks know only the unit's uid. Each callsign is kept with the label of the event that
carried it, and a track is called by it only in a picture that admits that label, so a
reader of the picture could read where the name came from. Kept for the units heard most
recently, and not across a restart: until a unit reports again its track is called by
its uid (``tessera.core.track_names``).
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Final

from tessera.core.labels import ClassificationScheme, Picture, admits
from tessera.core.model import Label
from tessera.core.text import without_control_characters
from tessera.core.track_names import MAX_CALLSIGN_CHARS

MAX_UNITS: Final = 100_000


class UnitCallsigns:
    def __init__(self, scheme: ClassificationScheme, *, max_units: int = MAX_UNITS) -> None:
        self._scheme = scheme
        self._max_units = max_units
        self._heard: OrderedDict[str, tuple[str, Label]] = OrderedDict()

    def heard(self, uid: str, callsign: str | None, label: Label) -> None:
        """Unit ``uid`` reported itself as ``callsign``, under ``label``."""
        cleaned = without_control_characters(callsign or "").strip()[:MAX_CALLSIGN_CHARS]
        if not cleaned:
            return
        self._heard.pop(uid, None)
        self._heard[uid] = (cleaned, label)
        while len(self._heard) > self._max_units:
            self._heard.popitem(last=False)

    def of(self, uid: str, picture: Picture) -> str | None:
        """The callsign unit ``uid`` gave itself, if ``picture`` admits where it came from."""
        heard = self._heard.get(uid)
        if heard is None or not admits(picture, heard[1], self._scheme):
            return None
        return heard[0]
