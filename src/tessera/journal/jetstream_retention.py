"""Trimming the JetStream journal's log: purging its stream up to a commit, from age and
size, never past the commit holding the first entry a saved state does not cover, and
never the last commit (it carries the sequence and the clock on). Stream sequences stay
as they were, so every commit held keeps its place. Large commits' chunks, kept in the
index bucket, go with their commit.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Final

import msgspec
from nats.js import JetStreamContext
from nats.js.errors import APIError

from tessera.journal import jetstream_codec as codec
from tessera.journal.base import Retention
from tessera.journal.jetstream_log import StoredLog, in_windows, successes

# Commits dropped per trim: a long backlog goes over several checkpoints.
MAX_COMMITS: Final = 50_000
_PURGE_DENIED: Final = 10110
_US: Final = 1_000_000


class LogTrim(msgspec.Struct, frozen=True):
    """A trim's outcome: commits and entries dropped, the first commit and the first
    entry held."""

    commits: int
    entries: int
    first_position: int
    first_seq: int


class TrimDeniedError(RuntimeError):
    """The journal's stream refuses purges (made before retention existed)."""


async def trim_log(
    js: JetStreamContext,
    stored: StoredLog,
    stream: str,
    retention: Retention,
    *,
    covered: int,
    last_entry: int,
    now_us: int,
) -> LogTrim:
    state = (await js.stream_info(stream)).state
    first, last = state.first_seq, state.last_seq
    if not state.messages:
        return LogTrim(0, 0, first, last_entry + 1)
    keep = last
    if covered < last_entry:
        keep = min(keep, await stored.commit_holding(covered + 1, last))
    wanted = first
    if retention.max_age_s is not None:
        wanted = max(
            wanted, await _young_from(stored, first, last, now_us - int(retention.max_age_s * _US))
        )
    kv_stream = f"KV_{codec.index_bucket(stream)}"
    chunks = (await js.stream_info(kv_stream)).state
    if retention.max_bytes is not None:
        total = state.bytes + chunks.bytes
        if total > retention.max_bytes and state.messages:
            per_commit = total / state.messages
            wanted = max(wanted, first + math.ceil((total - retention.max_bytes) / per_commit))
    target = min(keep, wanted, first + MAX_COMMITS)
    held_from = (await stored.head(first)).first_seq
    if target <= first:
        return LogTrim(0, 0, first, held_from)
    # Which of the commits to go had chunks (none to look for when the bucket is empty).
    going = range(first, target) if chunks.messages else range(0)
    heads = successes(await in_windows([partial(stored.head, seq) for seq in going]))
    try:
        await js.purge_stream(stream, seq=target)
    except APIError as exc:
        if exc.err_code == _PURGE_DENIED:
            raise TrimDeniedError(
                f"stream {stream} was made denying purges (NATS cannot lift that): "
                "it cannot be trimmed; a new stream is needed for retention"
            ) from None
        raise
    stored.first_position = max(stored.first_position, target)
    chunked = [head for head in heads if head.chunks]
    purges = [
        partial(
            js.purge_stream,
            kv_stream,
            subject=f"$KV.{codec.index_bucket(stream)}.chunk.{head.txn}.>",
        )
        for head in chunked
    ]
    successes(await in_windows(purges))
    now_from = (await stored.head(target)).first_seq
    return LogTrim(target - first, now_from - held_from, target, now_from)


async def _young_from(stored: StoredLog, first: int, last: int, cutoff_us: int) -> int:
    """The first commit received at or after ``cutoff_us`` (received times increase
    along the log), or ``last`` when every commit is older."""
    low, high = first, last
    while low < high:
        middle = (low + high) // 2
        if (await stored.head(middle)).received_us >= cutoff_us:
            high = middle
        else:
            low = middle + 1
    return low
