"""The scale-out settings checked (``role``, DESIGN §5): the fields themselves are in
``tessera.settings``."""

from __future__ import annotations


def check_role(
    role: str, *, journal_backend: str, bus_backend: str, postgis_dsn: str | None
) -> None:
    """Raise ValueError naming what a gateway or fusion worker lacks: they need the
    JetStream journal, the NATS bus and PostGIS."""
    if role == "all":
        return
    missing = [
        need
        for need, ok in (
            ("journal_backend = 'jetstream'", journal_backend == "jetstream"),
            ("bus_backend = 'nats'", bus_backend == "nats"),
            ("postgis_dsn", postgis_dsn is not None),
        )
        if not ok
    ]
    if missing:
        raise ValueError(f"role {role!r} needs " + ", ".join(missing))
