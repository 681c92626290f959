"""Symbol icons: a SIDC drawn as a PNG anchored where the symbol's position is; a code
milsymbol cannot draw stands in as a generic symbol, flagged; the cache stays bounded;
a KMZ of drawn icons reads in GDAL."""

from __future__ import annotations

import io
import shutil
import struct
import zipfile
from pathlib import Path

import msgspec
import pytest
from lxml import etree

from tessera.codecs import symbol_icons
from tessera.codecs.kml_write import KML_NS, used_sidcs, write_kmz
from tessera.codecs.symbol_font import FILES, SymbolFont, SymbolFontError, find_symbol_font
from tessera.codecs.symbol_icons import Icon, SymbolIcons, draw_icon
from tessera.core.model import Identity
from tessera.core.symbols import generic_sidc
from tests.codecs.test_kml import (
    need_ogrinfo,
    ogrinfo_feature_count,
    picture_overlays,
    picture_tracks,
)
from tests.kml_schema import valid_kml

K = "{" + KML_NS + "}"

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
FRIEND_INFANTRY = "10031000001211000000"
FRIEND_HQ = "10031002001211000000"
HOSTILE_ARMOUR = "10061000001205000000"
# Hostile special operations forces (SOF written in the frame) that differ only by the
# letters of their modifier: one, two, three and none.
LETTERED = [
    "10061000001208006354",
    "10061000001208006355",
    "10061000001208006356",
    "10061000001208006300",
]


def png_size(icon: Icon) -> tuple[int, int]:
    assert icon.png.startswith(PNG_SIGNATURE)
    assert icon.png[12:16] == b"IHDR"  # the first chunk, always
    width, height = struct.unpack(">II", icon.png[16:24])
    return width, height


def test_a_known_sidc_is_drawn_as_a_png_anchored_at_its_centre() -> None:
    icon = draw_icon(FRIEND_INFANTRY, size=40)
    assert not icon.fallback
    width, height = png_size(icon)
    # A friendly land unit: a frame `size` high and 1.5 times as wide, and its outline.
    assert 60 <= width <= 66 and 40 <= height <= 46
    assert icon.hot_spot == (0.5, 0.5)
    assert draw_icon(HOSTILE_ARMOUR).png != icon.png


def test_a_headquarters_is_anchored_at_the_foot_of_its_staff() -> None:
    icon = draw_icon(FRIEND_HQ)
    assert not icon.fallback
    x, y = icon.hot_spot  # KML's hotSpot: from the left, from the bottom
    assert x < 0.1 and y < 0.1


def test_the_size_scales_the_icon() -> None:
    small, large = (
        png_size(draw_icon(FRIEND_INFANTRY, size=20)),
        png_size(draw_icon(FRIEND_INFANTRY, size=80)),
    )
    assert large[0] >= 3 * small[0]


@pytest.mark.parametrize(
    ("sidc", "stand_in"),
    [
        # Well formed, but no such entity: the generic symbol of its identity and set.
        ("10061000009999990000", generic_sidc(Identity.HOSTILE, "10")),
        # Known, but milsymbol draws nothing for it: the identity's land unit frame.
        ("10062500000000000000", generic_sidc(Identity.HOSTILE, "10")),
        # No such symbol set.
        ("10049900000000000000", generic_sidc(Identity.NEUTRAL, "10")),
        # Not a SIDC at all.
        ("not a sidc", generic_sidc(Identity.UNKNOWN, "10")),
        ("", generic_sidc(Identity.UNKNOWN, "10")),
    ],
)
def test_a_sidc_milsymbol_cannot_draw_stands_in_as_a_generic_symbol_and_says_so(
    sidc: str, stand_in: str
) -> None:
    icon = draw_icon(sidc)
    assert icon.fallback
    assert icon.png == draw_icon(stand_in).png
    assert not draw_icon(stand_in).fallback


def test_when_nothing_can_be_drawn_a_plain_frame_still_is(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(symbol_icons, "_draw", lambda sidc, size, font: None)
    icon = draw_icon(FRIEND_INFANTRY, size=32)
    assert icon.fallback and icon.hot_spot == (0.5, 0.5)
    assert png_size(icon) == (32, 32)


def test_the_cache_keeps_the_most_recently_used_icons_up_to_its_capacity() -> None:
    icons = SymbolIcons(capacity=2)
    first = icons.icon(FRIEND_INFANTRY)
    hq = icons.icon(FRIEND_HQ)
    assert icons.icon(FRIEND_INFANTRY) is first  # drawn once, then kept
    icons.icon(HOSTILE_ARMOUR)  # the least recently used (the HQ) makes room
    assert len(icons) == 2
    assert icons.icon(FRIEND_INFANTRY) is first
    assert icons.icon(FRIEND_HQ) is not hq  # drawn again
    assert icons.icon(FRIEND_HQ) == hq  # the same drawing
    drawn = icons.icons([FRIEND_INFANTRY, "not a sidc"])
    assert [icon.fallback for icon in drawn.values()] == [False, True]
    assert len(icons) == 2


def test_a_cache_without_room_is_refused() -> None:
    with pytest.raises(ValueError, match="positive"):
        SymbolIcons(capacity=0)


def test_a_kmz_of_drawn_symbols_reads_in_gdal(tmp_path: Path) -> None:
    need_ogrinfo()
    tracks, overlays = picture_tracks(), picture_overlays()
    drawn = SymbolIcons().icons(used_sidcs(tracks, overlays))
    kmz = tmp_path / "picture.kmz"
    data = write_kmz(
        tracks,
        overlays,
        picture="NATO-SECRET",
        classification="SECRET",
        icons={sidc: icon.png for sidc, icon in drawn.items()},
        hot_spots={sidc: icon.hot_spot for sidc, icon in drawn.items()},
    )
    valid_kml(data)
    kmz.write_bytes(data)
    assert ogrinfo_feature_count(kmz) == 8  # GDAL's LIBKML driver opens a KMZ itself
    # (A string: Path would fold the "//" of /vsizip//tmp/... into one.)
    assert ogrinfo_feature_count(f"/vsizip/{kmz}/doc.kml") == 8


def test_symbols_that_differ_only_by_their_letters_get_distinct_icons() -> None:
    drawn = [draw_icon(sidc) for sidc in LETTERED]
    assert not any(icon.fallback for icon in drawn)
    assert len({icon.png for icon in drawn}) == len(LETTERED)
    # Drawn without the font, the letters are lost and all four look the same: what the
    # font is there for.
    without = SymbolFont("DejaVu Sans", ())
    assert len({draw_icon(sidc, font=without).png for sidc in LETTERED}) == 1


def test_a_kmz_has_one_icon_per_distinct_symbol() -> None:
    base = picture_tracks()[0]
    tracks = [
        msgspec.structs.replace(base, id=f"t-{n}", sidc=sidc)
        for n, sidc in enumerate([*LETTERED, LETTERED[0], LETTERED[1]])
    ]
    drawn = SymbolIcons().icons(used_sidcs(tracks, []))
    kmz = write_kmz(
        tracks, [], picture="P", classification="SECRET",
        icons={sidc: icon.png for sidc, icon in drawn.items()},
    )  # fmt: skip
    valid_kml(kmz)
    with zipfile.ZipFile(io.BytesIO(kmz)) as archive:
        pngs = [archive.read(name) for name in archive.namelist() if name.endswith(".png")]
        hrefs = [h.text for h in etree.fromstring(archive.read("doc.kml")).iter(f"{K}href")]
    # Six tracks, four symbols: four files, each its own drawing, shared by its tracks.
    assert len(pngs) == len(set(pngs)) == len(hrefs) == 4


def test_the_font_is_found_by_path_and_through_fontconfig() -> None:
    font = find_symbol_font()
    assert [Path(path).name for path in font.files] == list(FILES)
    assert all(Path(path).is_file() for path in font.files)
    if shutil.which("fc-match") is not None:
        by_fontconfig = find_symbol_font([], fontconfig=True)
        assert by_fontconfig.family == "DejaVu Sans"
        assert all(Path(path).is_file() for path in by_fontconfig.files)


def test_without_the_font_drawing_fails_loudly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(SymbolFontError, match="install Debian's fonts-dejavu-core") as raised:
        find_symbol_font([tmp_path], fontconfig=False)
    assert str(tmp_path) in str(raised.value)

    def missing() -> SymbolFont:
        raise SymbolFontError("no DejaVu Sans font")

    monkeypatch.setattr(symbol_icons, "find_symbol_font", missing)
    with pytest.raises(SymbolFontError):
        SymbolIcons()
    with pytest.raises(SymbolFontError):
        draw_icon(FRIEND_INFANTRY)
