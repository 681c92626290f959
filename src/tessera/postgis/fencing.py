"""Fence rows in PostGIS (migration 0006): raised by a fusion worker taking over, checked
in every one of its write transactions (DESIGN §10).

A check reads the rows ``FOR SHARE``: a raise (an UPDATE) waits for the write transactions
under way to end, and every write transaction after it sees the new epoch. A stopped
worker's open transaction cannot hold a raise up for long: a worker's sessions end any
statement, and any transaction left idle, after half a lease (``worker_dsn``). A session
the server cannot end that way (blocked sending to, or reading a COPY from, a stopped
client) is terminated by the raise once its transaction is older than a lease.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Final

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

from tessera.cluster.fence import Fence, FencedError
from tessera.postgis.connection import check_dsn, session_conninfo

CHECK: Final = "SELECT name, epoch FROM fusion_fences WHERE name = ANY(%s) FOR SHARE"
RAISE: Final = """
INSERT INTO fusion_fences (name, epoch) SELECT * FROM unnest(%s::text[], %s::bigint[])
ON CONFLICT ON CONSTRAINT fusion_fences_pkey
    DO UPDATE SET epoch = EXCLUDED.epoch, raised_at = now()
    WHERE fusion_fences.epoch <= EXCLUDED.epoch
RETURNING name
"""
_SET_TIMEOUTS: Final = (
    "SELECT set_config('lock_timeout', %s, true), set_config('statement_timeout', %s, true)"
)
# Fusion workers' sessions holding fence rows (a write transaction) for longer than a
# lease: a stopped predecessor's, which neither timeout could end.
_END_STALE_HOLDERS: Final = """
SELECT pg_terminate_backend(activity.pid) FROM pg_stat_activity AS activity
JOIN pg_locks AS held ON held.pid = activity.pid
WHERE held.relation = 'fusion_fences'::regclass AND held.granted
    AND activity.application_name = %s AND activity.pid <> pg_backend_pid()
    AND activity.xact_start < now() - make_interval(secs => %s)
"""
WORKER_APPLICATION: Final = "tessera-fusion"
# Raising waits for a stopped predecessor's transaction this many times at most (each
# wait bounded by the lock timeout, past which the server has ended that transaction).
RAISE_ATTEMPTS: Final = 3


def worker_dsn(dsn: str, lease_ttl_s: float) -> str:
    """``dsn`` for a fusion worker's sessions: no statement, and no transaction left idle
    (by a worker stopped in the middle of one), outlasts half a lease."""
    limit = f"{max(1, round(lease_ttl_s * 500))}ms"
    params: dict[str, Any] = conninfo_to_dict(check_dsn(dsn))
    params.setdefault("application_name", WORKER_APPLICATION)
    options = f"-c statement_timeout={limit} -c idle_in_transaction_session_timeout={limit}"
    params["options"] = f"{params.get('options', '')} {options}".strip()
    return make_conninfo("", **params)


async def check_fence(cursor: psycopg.AsyncCursor[Any], fence: Fence | None) -> None:
    """Inside a write transaction: FencedError (the caller rolls back) unless every row
    of ``fence`` still holds its epoch. Nothing to check without a fence."""
    if fence is None:
        return
    await cursor.execute(CHECK, (list(fence.epochs),))
    stored = {str(name): int(epoch) for name, epoch in await cursor.fetchall()}
    for name, epoch in fence.epochs.items():
        if stored.get(name) != epoch:
            raise FencedError(
                f"fence {name} is at epoch {stored.get(name)}, not this worker's {epoch}: "
                "another worker has taken over"
            )


async def raise_fence(dsn: str, fence: Fence, lock_timeout_s: float) -> None:
    """Raise each row of ``fence`` to its epoch in one short transaction; FencedError if
    any holds a newer one (then nothing is raised). Waits ``lock_timeout_s`` at most per
    attempt for a predecessor's transaction still holding a row, then ends the fusion
    worker sessions that held one for longer than ``lock_timeout_s``."""
    names: Sequence[str] = list(fence.epochs)
    epochs = [fence.epochs[name] for name in names]
    lock_timeout = f"{max(1, round(lock_timeout_s * 1000))}ms"
    statement_timeout = f"{max(1, round(lock_timeout_s * 2000))}ms"
    for attempt in range(1, RAISE_ATTEMPTS + 1):
        async with await psycopg.AsyncConnection.connect(session_conninfo(dsn)) as conn:
            try:
                async with conn.transaction(), conn.cursor() as cursor:
                    await cursor.execute(_SET_TIMEOUTS, (lock_timeout, statement_timeout))
                    await cursor.execute(RAISE, (names, epochs))
                    raised = {str(name) for (name,) in await cursor.fetchall()}
                    if raised != set(names):
                        newer = ", ".join(sorted(set(names) - raised))
                        # Raised inside the transaction: nothing of it commits.
                        raise FencedError(f"a newer epoch holds fence {newer}")
                return
            except psycopg.errors.LockNotAvailable:
                if attempt == RAISE_ATTEMPTS:
                    raise
                await conn.execute(_END_STALE_HOLDERS, (WORKER_APPLICATION, lock_timeout_s))
