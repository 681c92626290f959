"""The shared interoperability samples (../shared/data), found where they lie.

Tried in order: ``<repo>/../shared/data``, then ``/work/shared/data``. Without them the
tests that need them skip, except in CI (``CI=true``), where they fail.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

import pytest

REPO: Final = Path(__file__).resolve().parents[2]
CANDIDATES: Final = (REPO.parent / "shared" / "data", Path("/work/shared/data"))
MISSING: Final = "(samples missing)"


def find_data_dir() -> Path | None:
    for candidate in CANDIDATES:
        if (candidate / "cot-samples").is_dir():
            return candidate
    return None


def require_data_dir() -> Path:
    found = find_data_dir()
    if found is not None:
        return found
    message = "shared sample data not found in " + ", ".join(map(str, CANDIDATES))
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def _names(folder: str) -> list[str]:
    found = find_data_dir()
    if found is None:
        # One placeholder, so a parametrised test still runs, and skips or fails.
        return [MISSING]
    return sorted(path.name for path in (found / folder).iterdir() if path.is_file())


def cot_sample_names() -> list[str]:
    return _names("cot-samples")


def takproto_sample_names() -> list[str]:
    return _names("takproto-samples")


def cot_sample(name: str) -> bytes:
    return (require_data_dir() / "cot-samples" / name).read_bytes()


def takproto_sample(name: str) -> bytes:
    return (require_data_dir() / "takproto-samples" / name).read_bytes()
