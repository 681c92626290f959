"""What a track is called where people read it (a TAK map's callsign). Pure.

A unit is called what it calls itself: the callsign its own reports carry, else the name
its reports gave it (an imported NVG label), else its subject id (``BLUE-1-2``). Any
other track gets a short name from its identity, its kind and the end of its id, e.g.
``H TANK 3F2A`` for a hostile tank: readable at a glance, the same for as long as the
track lives (its id never changes), and told apart from the others by that suffix, which
also matches the id the web map and the API show.
"""

from __future__ import annotations

import hashlib
import re
from typing import Final

from tessera.core.model import Identity, Track
from tessera.core.text import without_control_characters

MAX_CALLSIGN_CHARS: Final = 64
SUFFIX_CHARS: Final = 4

IDENTITY_LETTERS: Final = {
    Identity.PENDING: "P",
    Identity.UNKNOWN: "U",
    Identity.ASSUMED_FRIEND: "A",
    Identity.FRIEND: "F",
    Identity.NEUTRAL: "N",
    Identity.SUSPECT: "S",
    Identity.HOSTILE: "H",
}

# Common entities by symbol set and entity digits (SIDC positions 5-6 and 11-14), named
# as the 2525C crosswalk lines for them say (S*G*UCA--- armour, S*G*EVAT-- tank, ...).
ENTITY_NAMES: Final = {
    ("10", "1204"): "AT",
    ("10", "1205"): "ARMR",
    ("10", "1206"): "AVN",
    ("10", "1211"): "INF",
    ("10", "1213"): "RECON",
    ("10", "1301"): "AD",
    ("10", "1303"): "ARTY",
    ("10", "1308"): "MORT",
    ("10", "1407"): "ENGR",
    ("10", "1417"): "SEC",
    ("10", "1613"): "MED",
    ("15", "1110"): "MSL",
    ("15", "1201"): "AFV",
    ("15", "1202"): "TANK",
    ("15", "1401"): "VEH",
}
# Else the symbol set says what kind of thing it is.
SYMBOL_SET_NAMES: Final = {
    "01": "AIR",
    "02": "AMSL",
    "05": "SPACE",
    "06": "SMSL",
    "10": "UNIT",
    "11": "CIV",
    "15": "EQPT",
    "20": "INST",
    "25": "CM",
    "27": "PERS",
    "30": "SEA",
    "35": "SUB",
    "36": "MINE",
    "40": "ACT",
    "50": "SIG",
    "51": "SIG",
    "52": "SIG",
    "53": "SIG",
    "54": "SIG",
    "60": "CYBER",
}
UNKNOWN_KIND: Final = "TRK"

_SIDC: Final = re.compile(r"[0-9]{20}")
_HEX_SUFFIX: Final = re.compile(rf"[0-9A-Fa-f]{{{SUFFIX_CHARS}}}$")


def track_name(track: Track, own_callsign: str | None = None) -> str:
    """What to call ``track``: ``own_callsign`` (the callsign its unit's own reports
    carry, for a unit's own track), else its name, else its subject, else its short name."""
    if own_callsign is not None:
        cleaned = without_control_characters(own_callsign).strip()[:MAX_CALLSIGN_CHARS]
        if cleaned:
            return cleaned
    return track.name or track.subject or short_track_name(track)


def short_track_name(track: Track) -> str:
    """Identity letter, kind and the id's last characters: ``H TANK 3F2A``."""
    return f"{IDENTITY_LETTERS[track.identity]} {track_kind(track.sidc)} {id_suffix(track.id)}"


def track_kind(sidc: str) -> str:
    """A short word for what a SIDC shows (``INF``, ``TANK``, else ``UNIT``, ``AIR``...)."""
    if not _SIDC.fullmatch(sidc):
        return UNKNOWN_KIND
    symbol_set = sidc[4:6]
    named = ENTITY_NAMES.get((symbol_set, sidc[10:14]))
    return named or SYMBOL_SET_NAMES.get(symbol_set, UNKNOWN_KIND)


def id_suffix(track_id: str) -> str:
    """The id's last hex digits (track ids end in a random hex key), else a digest's."""
    if _HEX_SUFFIX.search(track_id):
        return track_id[-SUFFIX_CHARS:].upper()
    digest = hashlib.sha256(track_id.encode("utf-8", "surrogatepass")).hexdigest()
    return digest[:SUFFIX_CHARS].upper()
