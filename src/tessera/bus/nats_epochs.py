"""Fencing of the change feed (DESIGN §10): every message a fusion worker publishes carries
its lease epoch, and every follower drops a message of an epoch older than one it has
seen for the picture.

A worker taking a picture over first publishes a *marker* carrying its epoch, chained with
``Nats-Expected-Last-Subject-Sequence`` to the subject's last message, and from then on
chains each of its messages to its previous one the same way. So once the marker is in,
nothing of an older epoch can land after it on the subject (a deposed worker's publish is
refused), and the subject's last message always carries the highest change seq ever
published on the picture: the new worker's seqs go on above it, never backwards.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from typing import Final, NamedTuple

from nats.aio.msg import Msg
from nats.js import JetStreamContext
from nats.js.api import Header
from nats.js.errors import APIError, NotFoundError

from tessera.cluster.fence import FencedError

log = logging.getLogger(__name__)

EPOCH_HEADER: Final = "Tessera-Epoch"
# The highest change seq a message carries (a marker: the highest published before it).
SEQ_HEADER: Final = "Tessera-Seq"
MARKER_HEADER: Final = "Tessera-Marker"
# The highest change seq in a message's payload (the bus's decoder knows).
HighestSeq = Callable[[bytes], int]
# JetStream's "wrong last sequence" error codes.
_WRONG_LAST_SEQUENCE: Final = (10071, 10164)
# A marker retried this often at most while another publisher keeps slipping in.
MARKER_ATTEMPTS: Final = 100
CHAIN_ATTEMPTS: Final = 3


class SubjectHead(NamedTuple):
    """The last message on a picture's subject: its epoch, the highest change seq it
    carries and its stream sequence (all 0 for an empty subject)."""

    epoch: int
    seq: int
    stream_seq: int


def header_int(headers: Mapping[str, str] | None, name: str) -> int | None:
    """An integer header; None when absent or not an integer."""
    if not headers or name not in headers:
        return None
    try:
        return int(headers[name])
    except ValueError:
        return None


async def subject_head(
    js: JetStreamContext, stream: str, subject: str, highest_seq: HighestSeq
) -> SubjectHead:
    try:
        msg = await js.get_last_msg(stream, subject)
    except NotFoundError:
        return SubjectHead(0, 0, 0)
    headers = msg.headers
    epoch = header_int(headers, EPOCH_HEADER) or 0
    seq = header_int(headers, SEQ_HEADER)
    if seq is None:  # published without the header (by an unfenced publisher)
        seq = highest_seq(msg.data or b"")
    return SubjectHead(epoch, seq, msg.seq or 0)


def wrong_last_sequence(exc: APIError) -> bool:
    return exc.err_code in _WRONG_LAST_SEQUENCE


async def publish_marker(
    js: JetStreamContext,
    stream: str,
    subject: str,
    epoch: int,
    highest_seq: HighestSeq,
) -> tuple[int, int]:
    """Put the marker of ``epoch`` on ``subject`` right after its last message; the
    highest change seq published before it and the marker's stream sequence. FencedError
    if the subject already carries a newer epoch."""
    for _ in range(MARKER_ATTEMPTS):
        head = await subject_head(js, stream, subject, highest_seq)
        if head.epoch > epoch:
            raise FencedError(f"{subject} carries epoch {head.epoch}, newer than {epoch}")
        headers = {
            EPOCH_HEADER: str(epoch),
            SEQ_HEADER: str(head.seq),
            MARKER_HEADER: "1",
            Header.EXPECTED_LAST_SUBJECT_SEQUENCE: str(head.stream_seq),
        }
        try:
            ack = await js.publish(subject, b"[]", headers=headers)
        except APIError as exc:
            if not wrong_last_sequence(exc):
                raise
            continue  # something slipped in after the head was read: read it again
        return head.seq, ack.seq
    raise FencedError(f"{subject}: another publisher kept writing; no marker for {epoch}")


async def publish_chained(
    js: JetStreamContext,
    stream: str,
    subject: str,
    payload: bytes,
    *,
    epoch: int,
    seq: int,
    after: int,
    highest_seq: HighestSeq,
) -> int:
    """Publish a message of ``epoch`` (its highest change seq ``seq``) right after stream
    sequence ``after``; its own stream sequence. FencedError when a newer epoch holds the
    subject. When the subject's last message is of this epoch (a publish whose answer
    was lost had landed) or an older one, the chain goes on from it."""
    for _ in range(CHAIN_ATTEMPTS):
        headers = {
            EPOCH_HEADER: str(epoch),
            SEQ_HEADER: str(seq),
            Header.EXPECTED_LAST_SUBJECT_SEQUENCE: str(after),
        }
        try:
            return (await js.publish(subject, payload, headers=headers)).seq
        except APIError as exc:
            if not wrong_last_sequence(exc):
                raise
        head = await subject_head(js, stream, subject, highest_seq)
        if head.epoch > epoch:
            raise FencedError(f"{subject} carries epoch {head.epoch}, newer than {epoch}")
        # Ours (or an older one's, which followers drop): the chain goes on after it.
        after = head.stream_seq
    raise FencedError(f"{subject}: the chain of epoch {epoch} keeps breaking")


class EpochFilter:
    """A follower's side: the highest epoch seen per picture; older messages dropped."""

    def __init__(self) -> None:
        self._highest: dict[str, int] = {}
        # Pictures whose older messages are being dropped: logged once per burst.
        self._dropping: set[str] = set()

    def admits(self, picture: str, msg: Msg) -> bool:
        epoch = header_int(msg.headers, EPOCH_HEADER) or 0
        highest = self._highest.get(picture, 0)
        if epoch < highest:
            if picture not in self._dropping:
                self._dropping.add(picture)
                log.warning(
                    "change bus: dropping changes of %s from epoch %d (a replaced fusion "
                    "worker's); epoch %d publishes now",
                    picture,
                    epoch,
                    highest,
                )
            return False
        self._dropping.discard(picture)
        self._highest[picture] = epoch
        return True
