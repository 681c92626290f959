"""Where a follower of the change stream starts: the stream seq of the first message with a
change after a given seq, found by a binary search over the stream.

Each picture's messages carry rising change seqs (its one active publisher sends them in
seq order), so "the subject's next message from stream seq N has a change after S" is
false, then true, as N grows: about log2(messages) look-ups of one message each (a direct
get of the subject's next message), decoding only the seqs in it. A search by time would
need the publisher's clock to agree with the change seqs; this needs nothing but the
messages themselves, whoever sent them and whenever.
"""

from __future__ import annotations

from typing import Final

import msgspec
from nats.js import JetStreamContext
from nats.js.api import ConsumerConfig, DeliverPolicy, RawStreamMsg
from nats.js.errors import NotFoundError

from tessera.bus.nats_epochs import SEQ_HEADER

# A message's highest change seq, where its publisher states it (an epoch marker, which
# holds no change, states the highest before it); else it is read from the changes.


class _Seq(msgspec.Struct):
    seq: int


_seq_decoder: Final = msgspec.json.Decoder(list[_Seq])


def last_change_seq(data: bytes) -> int:
    """The seq of the last change in a message (its changes are in seq order)."""
    sent = _seq_decoder.decode(data)
    return sent[-1].seq if sent else 0


async def first_message_after(js: JetStreamContext, stream: str, subject: str, seq: int) -> int:
    """The stream seq to read ``subject`` from to get every change after ``seq`` (one past
    the stream's end if it has none): a binary search over the stream, as each subject's
    messages carry rising change seqs. About log2(messages) look-ups, each decoding the
    seqs of one message."""
    info = await js.stream_info(stream)
    low, high = info.state.first_seq, info.state.last_seq + 1
    start = high
    # Invariant: from `high` on, the subject's first message is `start` (one past the end
    # if none) and has a change after `seq`; the subject's messages below `low` do not.
    while low < high:
        middle = (low + high) // 2
        try:
            message = await js.get_msg(stream, middle, subject=subject, next=True)
        except NotFoundError:
            high = middle  # nothing of the subject from here to the end
            continue
        found = message.seq or middle
        if _message_seq(message) > seq:
            high, start = middle, found
        else:
            low = found + 1
    return start


def _message_seq(message: RawStreamMsg) -> int:
    stated = (message.headers or {}).get(SEQ_HEADER)
    if stated is not None and stated.isdigit():
        return int(stated)
    # An undecodable message counts as old: the follower would only skip it.
    try:
        return last_change_seq(message.data or b"[]")
    except (msgspec.DecodeError, ValueError):
        return -1


def follow_from(start: int) -> ConsumerConfig:
    """A follower's consumer, delivering from stream seq ``start`` on."""
    if start <= 1:
        return ConsumerConfig(deliver_policy=DeliverPolicy.ALL)
    return ConsumerConfig(deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start)
