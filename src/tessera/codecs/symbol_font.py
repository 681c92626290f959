"""The font KMZ icons draw symbols' letters with: DejaVu Sans (Debian's fonts-dejavu-core,
which the set-up installs).

milsymbol asks for Arial, which a server seldom has, and resvg draws text in a font it
cannot find as nothing at all: symbols that differ only by their letters (``SOF``, ``ENG``,
a modifier's ``MD``) would then share one icon. So the renderer is given this font's files,
and only them (the same icons on every machine), with a style sheet that sets it on every
text. Without the font an export fails, saying what to install, rather than drawing
symbols without their letters.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Final

FAMILY: Final = "DejaVu Sans"
# Bold first: milsymbol draws its letters bold.
FILES: Final = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf")
# Where Debian and Ubuntu (fonts-dejavu-core), Fedora and Arch put them.
FONT_DIRS: Final = (
    "/usr/share/fonts/truetype/dejavu",
    "/usr/share/fonts/dejavu-sans-fonts",
    "/usr/share/fonts/TTF",
    "/usr/share/fonts/dejavu",
)
INSTALL_HINT: Final = "install Debian's fonts-dejavu-core (make fonts)"
_FC_MATCH_TIMEOUT_S: Final = 10.0


class SymbolFontError(RuntimeError):
    """The font symbols' letters are drawn with is not installed."""


@dataclass(frozen=True)
class SymbolFont:
    """Font files to hand the renderer, and the family its style sheet sets on text."""

    family: str
    files: tuple[str, ...]

    @property
    def style_sheet(self) -> str:
        # A style sheet wins over milsymbol's font-family="Arial" attribute.
        return f"text {{ font-family: '{self.family}' }}"


def find_symbol_font(
    dirs: Iterable[str | Path] = FONT_DIRS, *, fontconfig: bool = True
) -> SymbolFont:
    """DejaVu Sans from the first of ``dirs`` holding its files, else where fontconfig
    (``fc-match``) says it is; raises SymbolFontError naming what to install."""
    searched = [Path(folder) for folder in dirs]
    for folder in searched:
        files = [folder / name for name in FILES]
        if all(path.is_file() for path in files):
            return SymbolFont(FAMILY, tuple(str(path) for path in files))
    found = _from_fontconfig() if fontconfig else None
    if found is not None:
        return found
    where = ", ".join(str(folder) for folder in searched) or "no folder"
    how = " nor through fontconfig" if fontconfig else ""
    raise SymbolFontError(
        f"no {FAMILY} font ({', '.join(FILES)}) in {where}{how}: symbols' letters cannot "
        f"be drawn; {INSTALL_HINT}"
    )


def _from_fontconfig() -> SymbolFont | None:
    """The files fontconfig has for DejaVu Sans (bold and regular), if it has that family
    itself: fc-match answers its nearest font for any name, so the family is checked."""
    command = shutil.which("fc-match")
    if command is None:
        return None
    files: list[str] = []
    for style in ("bold", "regular"):
        try:
            answer = subprocess.run(  # noqa: S603 (fc-match, found by which; fixed arguments)
                [command, "--format=%{family}\n%{file}", f"{FAMILY}:{style}"],
                capture_output=True,
                text=True,
                check=True,
                timeout=_FC_MATCH_TIMEOUT_S,
            ).stdout
        except (OSError, subprocess.SubprocessError):
            return None
        family, _, path = answer.partition("\n")
        if FAMILY not in family.split(",") or not Path(path).is_file():
            return None
        files.append(path)
    return SymbolFont(FAMILY, tuple(files))
