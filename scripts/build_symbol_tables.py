"""Writes the 2525C <-> APP-6(D) crosswalk tables, src/tessera/core/symbol_table_*.py.

The data is JMSML's published crosswalk (github.com/Esri/joint-military-symbology-xml,
samples/legacy_support/All_ID_Mapping_Latest.csv), as the npm package
@orbat-mapper/convert-symbology 1.0.2 (MIT) ships it: one row per 2525C symbol with its
2525D symbol set, entity and sector modifiers; rows JMSML marks retired or unmapped are
left out. This script fetches that package with npm (or reads an unpacked copy given with
--package), decides which line is the way forward and back where the crosswalk lists a
code twice, asks the pinned milsymbol (node_modules/milsymbol) which codes it draws as a
point symbol, and writes one module per family of symbols. Rows were spot-checked against
the CSV at JMSML commit 095a5658e821f6d52e5ff355253bddd8ed686a50.

    .venv/bin/python scripts/build_symbol_tables.py [--package DIR]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import textwrap
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CORE = ROOT / "src" / "tessera" / "core"
PACKAGE = "@orbat-mapper/convert-symbology@1.0.2"
INTEGRITY = (
    "sha512-FpnPXS16/C+ay7FVPLhTkRH2NmREKxhJ+pifqc"
    "W9NpsbORH94S14qU8Eyl2ofMP7upxQYNvw2qpTok5I3P4QKw=="
)
BUNDLE = "dist/convert-symbology.js"
ROW = re.compile(r"[SGWIOE]\*[A-Z-]\*[A-Z0-9-]{6}")
# Where several letter codes share a counterpart, the way back is the warfighting one
# first, then the most general (shortest function id), then the first alphabetically.
SCHEME_ORDER = "SIOEGW"

# module name -> (what it holds, which letter codes)
MODULES = {
    "symbol_table_air_space_sea": (
        "air, space, sea surface and subsurface",
        ("S*A", "S*P", "S*S", "S*U"),
    ),
    "symbol_table_land_units": ("land units and special operations forces", ("S*G*U", "S*F")),
    "symbol_table_land_equipment": ("land equipment and installations", ("S*G",)),
    "symbol_table_graphics": ("tactical graphics (control measures)", ("G",)),
    "symbol_table_metoc": ("meteorological and oceanographic (METOC)", ("W",)),
    "symbol_table_sigint_stability_emergency": (
        "SIGINT, stability operations and emergency management",
        ("I", "O", "E"),
    ),
}

DRAW_CHECK = """
import ms from %s;
let input = "";
process.stdin.on("data", (chunk) => (input += chunk));
process.stdin.on("end", () => {
  const drawn = JSON.parse(input).map((sidc) => new ms.Symbol(sidc).isValid());
  process.stdout.write(JSON.stringify(drawn));
});
"""


def fetch(destination: Path) -> Path:
    npm = shutil.which("npm")
    if npm is None:
        sys.exit("npm is needed to fetch " + PACKAGE)
    out = subprocess.run(  # noqa: S603 (a fixed command)
        [npm, "pack", PACKAGE, "--json", "--pack-destination", str(destination)],
        check=True,
        capture_output=True,
        text=True,
    )
    packed = json.loads(out.stdout)[0]
    if packed["integrity"] != INTEGRITY:
        sys.exit(f"{PACKAGE} is not the reviewed tarball: {packed['integrity']}")
    with tarfile.open(destination / packed["filename"]) as tar:
        tar.extractall(destination, filter="data")
    return destination / "package"


def read_rows(package: Path) -> list[tuple[str, str]]:
    """(letters, 12-digit symbol) pairs of the bundle's table."""
    source = (package / BUNDLE).read_text()
    start = source.index("U = [") + len("U = ")
    end = source.index("];\nfunction", start) + 1
    rows: list[tuple[str, str]] = []
    for letters, symbol_set, code in json.loads(source[start:end]):
        if not ROW.fullmatch(letters) or not re.fullmatch(r"\d\d", symbol_set):
            sys.exit(f"unexpected row {letters!r} {symbol_set!r}")
        if not re.fullmatch(r"\d{10}", code):
            sys.exit(f"unexpected code {code!r} for {letters}")
        rows.append((letters, symbol_set + code))
    return sorted(set(rows))


def drawn_by_milsymbol(symbols: list[str]) -> dict[str, bool]:
    node = shutil.which("node")
    milsymbol = ROOT / "node_modules" / "milsymbol" / "index.js"
    if node is None or not milsymbol.exists():
        sys.exit("node and node_modules/milsymbol are needed (npm ci)")
    sidcs = [sidc_of(symbol) for symbol in symbols]
    out = subprocess.run(  # noqa: S603 (a fixed command)
        [node, "--input-type=module", "-e", DRAW_CHECK % json.dumps(str(milsymbol))],
        input=json.dumps(sidcs),
        check=True,
        capture_output=True,
        text=True,
    )
    return dict(zip(symbols, json.loads(out.stdout), strict=True))


def sidc_of(symbol: str) -> str:
    """A friend, present SIDC of a 12-digit symbol."""
    return f"1003{symbol[:2]}0000{symbol[2:]}"


def choose(rows: list[tuple[str, str]]) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """The rows that are the way forward (one per letter code) and back (one per symbol)."""
    by_letters: dict[str, list[tuple[str, str]]] = defaultdict(list)
    by_symbol: dict[str, list[tuple[str, str]]] = defaultdict(list)
    for row in rows:
        by_letters[row[0]].append(row)
        by_symbol[row[1]].append(row)
    forward = {min(group, key=lambda row: row[1]) for group in by_letters.values()}
    back = {
        min(
            group,
            key=lambda row: (SCHEME_ORDER.index(row[0][0]), len(row[0][4:].rstrip("-")), row[0]),
        )
        for group in by_symbol.values()
    }
    return forward, back


def module_of(letters: str) -> str:
    for name, (_, prefixes) in MODULES.items():
        if letters.startswith(prefixes):
            return name
    raise AssertionError(letters)


def render(name: str, lines: list[str], counts: dict[str, int]) -> str:
    sets = ", ".join(f"{symbol_set}: {count}" for symbol_set, count in sorted(counts.items()))
    about = textwrap.fill(
        "Generated by scripts/build_symbol_tables.py; do not edit. Facts from the Joint"
        " Military Symbology XML crosswalk (github.com/Esri/joint-military-symbology-xml,"
        " samples/legacy_support/All_ID_Mapping_Latest.csv) as shipped in the npm package"
        f" {PACKAGE} (MIT, {INTEGRITY[:23]}...). Lines per 2525D symbol set: {sets}."
        " tessera.core.symbol_entry.Entry says what each field means. Pure data.",
        width=90,
        break_on_hyphens=False,
    )
    return f'''"""2525C <-> APP-6(D) crosswalk: {MODULES[name][0]}.

{about}
"""

from __future__ import annotations

from typing import Final

from tessera.core.symbol_entry import Entry

ENTRIES: Final = (
{"".join(lines)})
'''


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--package", type=Path, help="an unpacked " + PACKAGE)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as scratch:
        package = args.package or fetch(Path(scratch))
        rows = read_rows(package)
    forward, back = choose(rows)
    drawn = drawn_by_milsymbol(sorted({symbol for _, symbol in rows}))
    lines: dict[str, list[str]] = defaultdict(list)
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for row in rows:
        letters, symbol = row
        flags = [
            "forward=False" if row not in forward else "",
            "reverse=False" if row not in back else "",
            "drawn=False" if not drawn[symbol] else "",
        ]
        extra = "".join(f", {flag}" for flag in flags if flag)
        name = module_of(letters)
        lines[name].append(f'    Entry("{letters}", "{symbol}"{extra}),\n')
        counts[name][symbol[:2]] += 1
    for name in MODULES:
        path = CORE / f"{name}.py"
        path.write_text(render(name, lines[name], counts[name]))
        print(f"{path.relative_to(ROOT)}: {len(lines[name])} lines")
    ruff = ROOT / ".venv" / "bin" / "ruff"
    written = [str(CORE / f"{name}.py") for name in MODULES]
    subprocess.run([str(ruff), "format", *written], check=True)  # noqa: S603 (fixed command)


if __name__ == "__main__":
    main()
