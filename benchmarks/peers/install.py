"""Installs the peer servers the benchmarks compare Tessera with, each into a virtual
environment of its own under ``build/peers/``, pinned; a stamp file per environment makes a
second run a no-op.

    python -m benchmarks.peers.install [fts] [ots] [pygeoapi]
"""

from __future__ import annotations

import argparse
import hashlib
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent.parent
PEERS = ROOT / "build" / "peers"


@dataclass(frozen=True)
class Peer:
    """A peer server: its name, the Python it needs and its pinned requirements."""

    name: str
    title: str
    version: str
    python: tuple[str, ...]
    requirements: tuple[str, ...]
    pyenv: str = ""

    @property
    def folder(self) -> Path:
        return PEERS / self.name

    @property
    def python_bin(self) -> Path:
        return self.folder / "bin" / "python"

    @property
    def stamp(self) -> Path:
        # The requirements are in the stamp's name: changing a pin reinstalls.
        digest = hashlib.sha256("\n".join(self.requirements).encode()).hexdigest()[:12]
        return self.folder / f".stamp-{digest}"


FREETAKSERVER = Peer(
    "fts",
    "FreeTAKServer",
    "2.2.1",
    ("python3.11",),
    # Drift since its 2024 release: DigitalPy imports pkg_resources, and its tracer breaks
    # on newer OpenTelemetry.
    (
        "freetakserver==2.2.1",
        "setuptools<81",
        "opentelemetry-sdk==1.24.0",
        "opentelemetry-api==1.24.0",
    ),
)
OPENTAKSERVER = Peer(
    "ots",
    "OpenTAKServer",
    "1.7.14",
    # Its code needs Python 3.12 (PEP 701 f-strings); pyenv provides one on this image.
    (str(Path.home() / ".pyenv" / "versions" / "3.12.1" / "bin" / "python3.12"), "python3.12"),
    ("opentakserver==1.7.14",),
    pyenv="3.12.1",
)
PYGEOAPI = Peer(
    "pygeoapi",
    "pygeoapi",
    "0.21.0",
    ("python3.11",),
    (
        "pygeoapi==0.21.0",
        "psycopg2-binary==2.9.10",
        "SQLAlchemy==2.0.36",
        "GeoAlchemy2==0.16.0",
        "pygeofilter==0.3.1",
        "gunicorn==23.0.0",
    ),
)
ALL = {peer.name: peer for peer in (FREETAKSERVER, OPENTAKSERVER, PYGEOAPI)}


def find_python(candidates: tuple[str, ...]) -> str:
    for candidate in candidates:
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        # A pyenv shim is found even when its version is not selected: ask it.
        if found and subprocess.run([found, "-V"], capture_output=True).returncode == 0:
            return found
    raise RuntimeError(f"none of {', '.join(candidates)} found")


def install(peer: Peer) -> Path:
    """The peer's environment, created and filled unless its stamp says it already is."""
    if peer.stamp.exists():
        return peer.folder
    if peer.folder.exists():
        shutil.rmtree(peer.folder)
    peer.folder.parent.mkdir(parents=True, exist_ok=True)
    if peer.pyenv and not any(Path(c).is_file() for c in peer.python) and shutil.which("pyenv"):
        # A fresh machine with pyenv but without this Python: build it once.
        subprocess.run(["pyenv", "install", "--skip-existing", peer.pyenv], check=True)
    python = find_python(peer.python)
    subprocess.run([python, "-m", "venv", str(peer.folder)], check=True)
    pip = [str(peer.python_bin), "-m", "pip", "install", "--quiet"]
    subprocess.run([*pip, "--upgrade", "pip"], check=True)
    subprocess.run([*pip, *peer.requirements], check=True)
    peer.stamp.touch()
    return peer.folder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("peers", nargs="*", help="any of: " + ", ".join(ALL))
    args = parser.parse_args()
    for name in args.peers or list(ALL):
        print(f"peer {name}: {install(ALL[name])}", file=sys.stderr, flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
