"""The journal's retention settings checked (``journal_max_age_s``,
``journal_max_bytes``, ``dedup_window_s``): the fields themselves are in
``tessera.settings``; the trimming they bound is ``tessera.trimming``'s."""

from __future__ import annotations

import math

# Retention bounds below these are mistakes (a journal trimmed as it is written).
MIN_RETENTION_S = 60.0
MIN_JOURNAL_BYTES = 1024 * 1024


def check_retention(
    *,
    max_age_s: float | None,
    max_bytes: int | None,
    dedup_window_s: float | None,
    journal_backend: str,
    postgis_dsn: str | None,
) -> None:
    """Raise ValueError naming what is wrong with the retention settings."""
    for name, value in (("journal_max_age_s", max_age_s), ("dedup_window_s", dedup_window_s)):
        if value is not None and not (math.isfinite(value) and value >= MIN_RETENTION_S):
            raise ValueError(
                f"{name} must be at least {MIN_RETENTION_S:g} seconds (or null to keep all)"
            )
    if max_bytes is not None and max_bytes < MIN_JOURNAL_BYTES:
        raise ValueError(
            f"journal_max_bytes must be at least {MIN_JOURNAL_BYTES} (or null to keep all)"
        )
    retains_all = max_age_s is None and max_bytes is None
    dedup_window = dedup_window_s if dedup_window_s is not None else max_age_s
    bounded = not retains_all or dedup_window is not None
    if bounded and journal_backend == "jetstream" and postgis_dsn is None:
        # Trimming needs the saved states' position, and a retry older than the
        # claims is answered from the report archive: both are in PostGIS.
        raise ValueError(
            "journal_max_age_s, journal_max_bytes and dedup_window_s need postgis_dsn "
            "with journal_backend = 'jetstream'"
        )
