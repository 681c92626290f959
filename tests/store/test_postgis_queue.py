"""The PostGIS store's write queue and rows, without a database: what a batch holds."""

from __future__ import annotations

import msgspec

from tessera.store import postgis_rows as rows
from tessera.store.postgis_pending import Batch, WriteQueue
from tests.store.builders import point, track

COP, PARTNER = "COP", "REL-UKR"


def upserts(batch: Batch, picture: str = COP) -> dict[str, int]:
    """Each item id and its seq; a removal as -seq."""
    found = {**batch.tracks.get(picture, {}), **batch.overlays.get(picture, {})}
    return {i: seq if item is not None else -seq for i, (item, seq) in found.items()}


def test_only_the_latest_state_of_an_item_waits() -> None:
    queue = WriteQueue([COP, PARTNER])
    queue.put_tracks(COP, 1, [track("a"), track("b")], [])
    queue.put_tracks(COP, 2, [track("a", 1.0, 1.0)], [])
    queue.put_overlays(COP, 3, [point("p", 0.0, 0.0)], [])
    queue.put_journal(17)
    assert queue.pending() == 3
    batch = queue.take()
    assert batch is not None
    assert upserts(batch) == {"a": 2, "b": 1, "p": 3}
    assert batch.tracks[COP]["a"][0] == track("a", 1.0, 1.0)
    assert (batch.seqs, batch.journal_seq, batch.version) == ({COP: 3}, 17, 4)
    assert queue.take() is None
    assert queue.pending() == 0


def test_a_removal_is_queued_only_for_what_the_database_may_hold() -> None:
    queue = WriteQueue([COP])
    queue.hydrated(COP, ["stored"], [])
    queue.put_tracks(COP, 1, [track("brief")], [])
    queue.put_tracks(COP, 2, [], ["brief", "stored", "unknown"])
    batch = queue.take()
    assert batch is not None
    assert upserts(batch) == {"stored": -2}


def test_a_failed_batch_goes_back_under_later_changes() -> None:
    queue = WriteQueue([COP])
    queue.put_tracks(COP, 1, [track("a"), track("b")], [])
    queue.put_journal(5)
    failed = queue.take()
    assert failed is not None
    # While it was being written: "a" may have been written, so its removal must be too.
    queue.put_tracks(COP, 2, [track("c")], ["a"])
    queue.failed(failed)
    retry = queue.take()
    assert retry is not None
    assert upserts(retry) == {"a": -2, "b": 1, "c": 2}
    assert (retry.seqs, retry.journal_seq, retry.version) == ({COP: 2}, 5, 3)


def test_a_written_removal_is_forgotten() -> None:
    queue = WriteQueue([COP])
    queue.put_tracks(COP, 1, [track("a")], [])
    written = queue.take()
    assert written is not None
    queue.committed(written)
    queue.put_tracks(COP, 2, [], ["a"])
    removed = queue.take()
    assert removed is not None
    queue.committed(removed)
    # Back, and gone again, without ever reaching the database.
    queue.put_tracks(COP, 3, [track("a")], [])
    queue.put_tracks(COP, 4, [], ["a"])
    assert queue.pending() == 0


def test_a_journal_mark_moves_every_picture() -> None:
    batch = Batch(seqs={COP: 4}, journal_seq=9)
    batch.tracks[COP] = {"a": (track("a"), 4), "gone": (None, 3)}
    statements = dict(rows.batch_statements(batch, [COP, PARTNER]))
    assert set(statements) == {rows.UPSERT_TRACK, rows.DELETE_TRACKS, rows.UPDATE_PICTURE}
    assert statements[rows.DELETE_TRACKS] == [(COP, ["gone"])]
    assert statements[rows.UPDATE_PICTURE] == [(4, 9, COP), (None, 9, PARTNER)]
    only_seq = dict(rows.batch_statements(Batch(seqs={PARTNER: 2}), [COP, PARTNER]))
    assert only_seq == {rows.UPDATE_PICTURE: [(2, None, PARTNER)]}


def test_a_nul_is_replaced_and_nothing_else() -> None:
    text = "a\x00b \\u0000 \\\x00"
    stored = rows.stored_json(msgspec.json.encode({"remarks": text}))
    assert msgspec.json.decode(stored) == {"remarks": "a\ufffdb \\u0000 \\\ufffd"}
    assert rows.stored_json(b'{"a":"\\\\u0000"}') == '{"a":"\\\\u0000"}'


def test_a_box_holding_nothing_asks_nothing() -> None:
    assert rows.tracks_in(COP, (0.0, 10.0, 1.0, 5.0)) is None
    assert rows.overlays_in(COP, (float("nan"), 0.0, 1.0, 1.0)) is None
    across = rows.tracks_in(COP, (170.0, -1.0, -170.0, 1.0))
    assert across == (
        rows.TRACKS_IN_TWO_BOXES,
        (COP, 170.0, -1.0, 180.0, 1.0, -180.0, -1.0, -170.0, 1.0),
    )
