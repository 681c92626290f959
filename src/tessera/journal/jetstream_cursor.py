"""How far the fusion of a set of pictures has got, kept in JetStream (DESIGN §5): a durable
consumer on the journal's log, which outlives the worker that advances it.

The consumer is named after the pictures it stands for, so the standby that takes their
lease finds the same one. It delivers commit headers only (the worker reads the commits
themselves through the journal) and is acknowledged with AckAll, one commit standing for
everything before it, and only up to a journal position that a saved fusion checkpoint
covers. So its acknowledged floor never runs ahead of a state that was written down:

- a worker taking over loads the checkpoint, which is at the floor or past it, and replays
  the journal after it; what lies between the floor and the checkpoint is in the
  checkpoint's state and is not applied again, and nothing after the floor was ever
  acknowledged, so nothing after it was given up;
- what the consumer holds unacknowledged is what a takeover would replay, for anyone to
  see with ``nats consumer info``.

The checkpoint itself (written with the picture rows' position, in PostgreSQL) stays the
authority on where the state is: one record, atomic with the state. The consumer follows
it and is checked against it at every takeover.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
from collections import deque
from typing import Final

import nats.errors
from nats.aio.client import Client
from nats.js import JetStreamContext
from nats.js.api import AckPolicy, ConsumerConfig, DeliverPolicy
from nats.js.errors import NotFoundError

from tessera.journal import jetstream_codec as codec

log = logging.getLogger(__name__)

FETCH_BATCH: Final = 1_024
FETCH_WAIT_S: Final = 0.2
# Upper bound on the fetches of one advance: it never loops for ever on a busy log.
MAX_FETCHES: Final = 10_000
MAX_NAME: Final = 64


def consumer_name(pictures: list[str]) -> str:
    """A consumer name for a set of pictures (order does not matter); a digest when the
    names are long."""
    joined = "_".join(codec.token(name) for name in sorted(set(pictures)))
    if len(joined) > MAX_NAME - len("fusion_"):
        joined = hashlib.sha256("\n".join(sorted(set(pictures))).encode()).hexdigest()[:32]
    return f"fusion_{joined}"


class JournalCursor:
    """The durable consumer ``name``: the acknowledged journal position of its pictures."""

    def __init__(
        self,
        nc: Client,
        js: JetStreamContext,
        *,
        stream: str,
        subject: str,
        name: str,
        ack_wait: float,
    ) -> None:
        self._nc = nc
        self._js = js
        self._stream = stream
        self._subject = subject
        self.name = name
        self._ack_wait = ack_wait
        self._subscription: JetStreamContext.PullSubscription | None = None
        # Delivered and not yet acknowledged, in order: (stream seq, last item seq, reply).
        self._fetched: deque[tuple[int, int, str]] = deque()
        self._delivered = 0
        # The last commit acknowledged, and the last journal entry it ends with.
        self.acked_commit = 0
        self.position = 0

    async def open(self) -> int:
        """Bind to the consumer, creating it the first time; the journal position it was
        acknowledged up to (0 for none)."""
        try:
            info = await self._js.consumer_info(self._stream, self.name)
        except NotFoundError:
            config = ConsumerConfig(
                durable_name=self.name,
                description="how far a Tessera fusion worker's saved state covers the journal",
                deliver_policy=DeliverPolicy.ALL,
                ack_policy=AckPolicy.ALL,
                headers_only=True,
                # Acknowledged only at checkpoints: no limit on what waits, and no
                # redelivery while a checkpoint is on its way.
                ack_wait=self._ack_wait,
                max_ack_pending=-1,
                filter_subject=self._subject,
            )
            info = await self._js.add_consumer(self._stream, config)
        self._subscription = await self._js.pull_subscribe_bind(
            durable=self.name, stream=self._stream
        )
        self.acked_commit = info.ack_floor.stream_seq if info.ack_floor else 0
        self._delivered = info.delivered.stream_seq if info.delivered else 0
        if self.acked_commit:
            msg = await self._js.get_msg(self._stream, seq=self.acked_commit)
            self.position = codec.head_of(self.acked_commit, msg.headers).next_seq - 1
        return self.position

    async def close(self) -> None:
        # Unsubscribing leaves the durable consumer, and what it acknowledged, in place.
        if self._subscription is not None:
            with contextlib.suppress(nats.errors.Error):
                await self._subscription.unsubscribe()
            self._subscription = None

    async def advance(self, position: int, last_commit: int) -> int:
        """Acknowledge every commit whose entries all lie at or before journal entry
        ``position`` (commits up to ``last_commit`` exist); the position acknowledged."""
        subscription = self._subscription
        if subscription is None:
            raise RuntimeError("the journal cursor is not open")
        for _ in range(MAX_FETCHES):
            reached = self._fetched[-1][1] if self._fetched else self.position
            if reached >= position or self._delivered >= last_commit:
                break
            try:
                messages = await subscription.fetch(FETCH_BATCH, timeout=FETCH_WAIT_S)
            except nats.errors.TimeoutError:
                break
            for msg in messages:
                stream_seq = msg.metadata.sequence.stream
                if stream_seq <= max(self._delivered, self.acked_commit):
                    continue  # delivered before (to a worker that died): acked by AckAll
                last_item = codec.head_of(stream_seq, msg.headers).next_seq - 1
                self._fetched.append((stream_seq, last_item, msg.reply))
                self._delivered = stream_seq
        last: tuple[int, int, str] | None = None
        while self._fetched and self._fetched[0][1] <= position:
            last = self._fetched.popleft()
        if last is not None:
            try:
                await self._nc.publish(last[2], b"+ACK")
                await self._nc.flush()
            except BaseException:
                self._fetched.appendleft(last)
                raise
            self.acked_commit, self.position = last[0], last[1]
        return self.position
