"""The federation wire format: any frames round-trip through one compressed stream in
any pieces, and bytes that are no frame are a FrameError, never a crash."""

from __future__ import annotations

import contextlib
import struct

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

from tessera.codecs.federation import (
    LENGTH,
    MAX_FRAME,
    Ack,
    Batch,
    FrameError,
    FrameReader,
    FrameWriter,
    Hello,
    ReportItem,
    Welcome,
)
from tests.codecs.test_json_codec import reports

nodes = st.from_regex(r"[a-z][a-z0-9-]{0,8}", fullmatch=True)
items = st.builds(
    lambda report, origin, path: ReportItem(report.id, origin, tuple(path), report),
    reports(),
    nodes,
    st.lists(nodes, max_size=4),
)
frames = st.one_of(
    st.builds(Hello, nodes),
    st.builds(Welcome, nodes, st.integers(0, 2**40)),
    st.builds(
        Batch, st.integers(1, 2**31), st.lists(items, max_size=5).map(tuple), st.integers(0, 2**40)
    ),
    st.builds(Ack, st.integers(0, 2**31), st.integers(0, 100)),
)


@settings(max_examples=60, deadline=None)
@given(st.lists(frames, min_size=1, max_size=6), st.integers(1, 97))
def test_frames_round_trip_through_one_stream_in_any_pieces(sent: list[object], piece: int) -> None:
    writer, reader = FrameWriter(), FrameReader()
    data = b"".join(writer.frame(frame) for frame in sent)  # type: ignore[arg-type]
    got = [
        frame
        for start in range(0, len(data), piece)
        for frame in reader.feed(data[start : start + piece])
    ]
    assert got == sent


@given(st.binary(min_size=1, max_size=200))
def test_bytes_that_are_no_frame_are_a_frame_error(body: bytes) -> None:
    with contextlib.suppress(FrameError):
        FrameReader().feed(LENGTH.pack(len(body)) + body)


def test_a_frame_that_would_decompress_past_the_limit_is_refused() -> None:
    bomb = zstandard.ZstdCompressor().compress(b"\0" * (MAX_FRAME + 1))
    with pytest.raises(FrameError, match="decompresses to more than"):
        FrameReader().feed(LENGTH.pack(len(bomb)) + bomb)
    with pytest.raises(FrameError, match="over the limit"):
        FrameReader().feed(struct.pack(">I", MAX_FRAME + 1))
