"""Setting up what a JetStream journal keeps in NATS (idempotent, at every open):

- the log's stream, one message per commit. Never a single message deleted (a commit's
  stream sequence is its place in the log), but purged from the front when retention
  trims it (stream sequences stay as they were);
- the index bucket (``<stream>_INDEX``): the chunks of commits larger than a message,
  which must live as long as their commit (deleted when it is trimmed);
- the claims bucket (``<stream>_CLAIMS``): a claim per stored report and overlay revision
  and where each transaction landed. Needed for the de-duplication window only, so the
  bucket's max age is that window (NATS 2.9 has no per-message TTL: separate buckets are
  how the two lifetimes are kept apart). A retry older than it is answered from the
  long-term record (``StoredKeys``, the PostGIS report archive).

Each takes its replicas from the settings (``journal_replicas``).

A stream made before retention denies purges (NATS cannot lift that) and keeps its claims
in the index bucket: such a journal goes on in that layout, keeping everything, so ids
stored before are still recognised; retention needs a new stream.
"""

from __future__ import annotations

import logging

import msgspec
from nats.js import JetStreamContext
from nats.js.api import KeyValueConfig, StorageType, StreamConfig
from nats.js.errors import BucketNotFoundError, NotFoundError
from nats.js.kv import KeyValue

from tessera.journal import jetstream_codec as codec

log = logging.getLogger(__name__)


class Storage(msgspec.Struct, frozen=True, kw_only=True):
    """The buckets of a journal, and what its stream allows."""

    index: KeyValue
    claims: KeyValue
    direct: bool
    purgeable: bool


async def ensure_storage(
    js: JetStreamContext,
    stream: str,
    subject: str,
    *,
    replicas: int,
    duplicate_window: float,
    claims_age: float | None,
) -> Storage:
    """Create the log's stream and both buckets where missing; the claims bucket's max
    age follows ``claims_age`` (None: claims are kept for ever)."""
    try:
        config = (await js.stream_info(stream)).config
    except NotFoundError:
        wanted = StreamConfig(
            name=stream,
            subjects=[subject],
            storage=StorageType.FILE,
            num_replicas=replicas,
            duplicate_window=duplicate_window,
            allow_direct=True,
            # A commit's stream sequence is its place in the log: never remove one out
            # of order. Purging from the front (retention) keeps every other in place.
            deny_delete=True,
            deny_purge=False,
        )
        config = (await js.add_stream(wanted)).config
    if config.subjects != [subject]:
        raise ValueError(f"stream {stream} must hold {subject} and nothing else")
    index = await _bucket(js, codec.index_bucket(stream), replicas, None)
    if config.deny_purge:
        if claims_age is not None:
            log.warning(
                "journal stream %s was made before retention: it keeps every commit and "
                "claim (a new stream is needed for retention)",
                stream,
            )
        claims = index
    else:
        claims = await _bucket(js, codec.claims_bucket(stream), replicas, claims_age)
    return Storage(
        index=index,
        claims=claims,
        direct=bool(config.allow_direct),
        purgeable=not config.deny_purge,
    )


async def _bucket(
    js: JetStreamContext, bucket: str, replicas: int, max_age: float | None
) -> KeyValue:
    try:
        kv = await js.key_value(bucket)
    except BucketNotFoundError:
        return await js.create_key_value(
            KeyValueConfig(
                bucket=bucket,
                history=1,
                storage=StorageType.FILE,
                replicas=replicas,
                direct=True,
                ttl=max_age,
            )
        )
    # The window may have changed since the bucket was made: its age follows the settings.
    stream = f"KV_{bucket}"
    config = (await js.stream_info(stream)).config
    wanted = max_age or 0.0
    if abs((config.max_age or 0.0) - wanted) > 1e-3:
        config.max_age = wanted
        await js.update_stream(config)
        log.info(
            "journal bucket %s now keeps entries %s",
            bucket,
            f"{wanted:g} s" if wanted else "for ever",
        )
    return kv
