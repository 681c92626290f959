"""APP-6(D) symbols as PNG icons, for KMZ exports.

Each SIDC is drawn with milsymbol (a Python port of milsymbol.js, the library the map
draws with, so an export looks like the map) and rasterised by resvg. A SIDC milsymbol
cannot draw is not an error: the generic symbol of its identity and symbol set (else of
its identity, else an unknown land unit) is drawn instead and the icon says so, so one
odd code never fails a whole export. Letters are drawn in the font `symbol_font` finds
(and no other, so every machine draws the same icons), or not at all: without it
`SymbolIcons` refuses to start. It keeps the icons it drew in a bounded cache; the
application holds one. Pure: no asyncio, sockets or SQL (milsymbol reads its own symbol
tables, and resvg the font, on first use).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Final

import milsymbol
import resvg_py

from tessera.codecs.symbol_font import SymbolFont, find_symbol_font
from tessera.core.model import Identity
from tessera.core.symbols import DIGIT_IDENTITY, SIDC_LENGTH, generic_sidc

# milsymbol's size: the height in pixels of a friendly land unit's frame (its octagon's
# width, 1.5 times that for the rectangle). About the 32 px a KML viewer shows an icon at.
DEFAULT_SIZE: Final = 30
DEFAULT_CAPACITY: Final = 1024
# Drawn when even milsymbol's generic frame fails: a plain yellow (unknown) square.
_FRAME_SVG: Final = (
    '<svg xmlns="http://www.w3.org/2000/svg" width="{s}" height="{s}" viewBox="0 0 100 100">'
    '<rect x="4" y="4" width="92" height="92" fill="rgb(255,255,128)" stroke="black"'
    ' stroke-width="6"/></svg>'
)


@dataclass(frozen=True, slots=True)
class Icon:
    """``hot_spot``: the point of the image that sits on the position, as KML's hotSpot
    fractions (x from the left, y from the bottom). ``fallback``: milsymbol could not draw
    the SIDC, so this is a generic symbol standing in for it."""

    png: bytes
    hot_spot: tuple[float, float]
    fallback: bool


class SymbolIcons:
    """Icons by SIDC, drawn once and kept (up to ``capacity``, least recently used out).

    Safe to share between threads: exports render off the event loop. Without ``font``
    it finds the one symbols' letters are drawn with, raising SymbolFontError if it is not
    installed."""

    def __init__(
        self,
        *,
        size: int = DEFAULT_SIZE,
        capacity: int = DEFAULT_CAPACITY,
        font: SymbolFont | None = None,
    ) -> None:
        if size < 1 or capacity < 1:
            raise ValueError("size and capacity must be positive")
        self._font = font or find_symbol_font()
        self._size = size
        self._capacity = capacity
        self._icons: dict[str, Icon] = {}
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._icons)

    def icon(self, sidc: str) -> Icon:
        with self._lock:
            found = self._icons.pop(sidc, None)
            if found is not None:
                self._icons[sidc] = found  # back to the young end
                return found
        # Drawn outside the lock: two threads may draw the same SIDC once each, which is
        # cheaper than making every other SIDC wait.
        drawn = draw_icon(sidc, size=self._size, font=self._font)
        with self._lock:
            self._icons[sidc] = drawn
            while len(self._icons) > self._capacity:
                del self._icons[next(iter(self._icons))]
        return drawn

    def icons(self, sidcs: Iterable[str]) -> dict[str, Icon]:
        return {sidc: self.icon(sidc) for sidc in sidcs}


def draw_icon(sidc: str, *, size: int = DEFAULT_SIZE, font: SymbolFont | None = None) -> Icon:
    """``sidc`` drawn, or the first of its stand-ins that can be (``fallback`` set), its
    letters in ``font`` (else the one `find_symbol_font` finds)."""
    font = font or find_symbol_font()
    # Only 20-digit codes go to milsymbol: Tessera converts letter codes (2525B/C) at its
    # edges, and milsymbol's letter tables are slow to load and search.
    own = [sidc] if _well_formed(sidc) else []
    for candidate in [*own, *_stand_ins(sidc)]:
        icon = _draw(candidate, size, font)
        if icon is not None:
            return Icon(icon.png, icon.hot_spot, fallback=candidate != sidc)
    png = _render(_FRAME_SVG.format(s=size), font)
    return Icon(png, (0.5, 0.5), fallback=True)


def _stand_ins(sidc: str) -> list[str]:
    """Generic symbols for a SIDC milsymbol does not know, most specific first."""
    well_formed = _well_formed(sidc)
    identity = DIGIT_IDENTITY.get(sidc[3], Identity.UNKNOWN) if well_formed else Identity.UNKNOWN
    candidates = [generic_sidc(identity, "10"), generic_sidc(Identity.UNKNOWN, "10")]
    if well_formed:
        candidates.insert(0, generic_sidc(identity, sidc[4:6]))
    return [c for n, c in enumerate(candidates) if c != sidc and c not in candidates[:n]]


def _well_formed(sidc: str) -> bool:
    return len(sidc) == SIDC_LENGTH and sidc.isascii() and sidc.isdigit()


def _render(svg: str, font: SymbolFont) -> bytes:
    return resvg_py.svg_to_bytes(
        svg_string=svg,
        skip_system_fonts=True,
        font_files=list(font.files),
        style_sheet=font.style_sheet,
    )


def _draw(sidc: str, size: int, font: SymbolFont) -> Icon | None:
    """``sidc`` as milsymbol draws it, or None if it has nothing to draw for it."""
    symbol = milsymbol.Symbol(sidc, size=size)
    if not symbol.is_valid():
        return None
    svg = str(symbol.as_svg())
    dimensions = symbol.get_size()
    width, height = float(dimensions["width"]), float(dimensions["height"])
    # Some codes are known but drawn as nothing (a bare control-measure frame): an empty
    # icon would hide the placemark, so it counts as not drawable.
    if not _has_drawing(svg) or width < 1 or height < 1:
        return None
    try:
        png = _render(svg, font)
    except ValueError:
        return None
    anchor = symbol.get_anchor()
    # milsymbol measures the anchor from the top left in pixels; KML from the bottom left.
    x = _fraction(float(anchor["x"]) / width)
    y = _fraction(1.0 - float(anchor["y"]) / height)
    return Icon(png, (x, y), fallback=False)


def _has_drawing(svg: str) -> bool:
    inside = svg[svg.find(">") + 1 : svg.rfind("</svg>")]
    return "<" in inside


def _fraction(value: float) -> float:
    return round(min(max(value, 0.0), 1.0), 4)
