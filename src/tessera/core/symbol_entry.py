"""One line of the 2525C <-> APP-6(D) crosswalk (``tessera.core.symbol_table_*``). Pure."""

from __future__ import annotations

from typing import NamedTuple


class Entry(NamedTuple):
    """A 2525C letter code and its APP-6(D) / 2525D counterpart.

    ``letters``: the ten characters that name a 2525C symbol, with affiliation and status
    (positions 2 and 4) as ``*``: scheme, ``*``, battle dimension or category, ``*``,
    function id padded with ``-`` (``S*G*UCI---``).
    ``symbol``: the twelve digits that name a 2525D symbol: symbol set (SIDC positions 5-6),
    entity (11-16), sector modifiers 1 (17-18) and 2 (19-20).
    ``forward``: False where the crosswalk gives one letter code two counterparts and
    another line is the one it converts to.
    ``reverse``: False where several letter codes share one counterpart and another line
    is the way back.
    ``drawn``: False for the line and area graphics and METOC symbols that milsymbol, the
    web map's renderer, does not draw as a point symbol.
    """

    letters: str
    symbol: str
    forward: bool = True
    reverse: bool = True
    drawn: bool = True
