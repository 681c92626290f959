"""The shared NVG samples (../shared/data/nvg-samples), found as ``cot_samples`` finds them."""

from __future__ import annotations

from tests.codecs.cot_samples import _names, require_data_dir


def nvg_sample_names() -> list[str]:
    return _names("nvg-samples")


def nvg_sample(name: str) -> bytes:
    return (require_data_dir() / "nvg-samples" / name).read_bytes()
