"""The stream's replay: a subscription with ``at`` (and a ``speed``, 1 = real time) gets
the picture as it was then, and then its changes played forward on the journal's clock at
that speed, until the replay reaches the journal's end (``replay_end``).

Changes go through the subscription's filter as live ones do (a track leaving the box is
removed); those made between two messages are coalesced, latest per track. The picture is
one the caller may read (checked by the stream before it gets here)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Hashable
from datetime import datetime, timedelta
from typing import Any, Final

from starlette.websockets import WebSocket, WebSocketDisconnect

from tessera.bus.base import Change, overlay_key
from tessera.codecs.geojson import track_feature
from tessera.codecs.geojson_export import overlay_feature
from tessera.codecs.json import encode
from tessera.history.replay import PastPicture
from tessera.history.seek import NotRetainedError
from tessera.security.gate import Caller
from tessera.store.base import TrackQuery
from tessera.transports.web.context import Served
from tessera.transports.web.history_api import iso, parse_at
from tessera.transports.web.params import ParameterError

MAX_SPEED: Final = 100_000.0
# How often a replay tells the time while nothing changes (wall seconds).
CLOCK_EVERY_S: Final = 0.5
POLICY_VIOLATION: Final = 1008


class ReplayRefusedError(ValueError):
    pass


def replay_start(tessera: Served, at: str, speed: float | None) -> tuple[datetime, float]:
    """The time and speed a subscription asked for, checked."""
    try:
        moment = parse_at("at", at, tessera.clock())
    except ParameterError as exc:
        raise ReplayRefusedError(str(exc)) from None
    chosen = 1.0 if speed is None else speed
    if not 0 < chosen <= MAX_SPEED:
        raise ReplayRefusedError(f"speed: must be above 0 and at most {MAX_SPEED:g}")
    if tessera.history is None:
        raise ReplayRefusedError("this server keeps no history")
    return moment, chosen


async def replay(
    tessera: Served,
    websocket: WebSocket,
    who: Caller,
    picture_name: str,
    query: TrackQuery,
    at: datetime,
    speed: float,
) -> None:
    history = tessera.history
    assert history is not None
    try:
        past = await history.history.seek(tessera.pictures[picture_name], at)
    except NotRetainedError as exc:
        await _refuse(websocket, str(exc))
        return
    tracks, overlays = past.tracks(query), past.overlays(query)
    visible: set[Hashable] = {track.id for track in tracks}
    visible |= {overlay_key(overlay.id) for overlay in overlays}
    past.take_changes()
    snapshot = {
        "type": "snapshot",
        "picture": picture_name,
        "seq": None,
        "at": iso(at),
        "speed": speed,
        "features": [track_feature(track) for track in tracks],
        "overlays": [overlay_feature(overlay) for overlay in overlays],
    }
    await websocket.send_text(encode(snapshot).decode())
    try:
        async with asyncio.TaskGroup() as group:
            closed = group.create_task(until_closed(websocket))
            play = group.create_task(
                _play(tessera, websocket, who, past, query, visible, at, speed)
            )
            await asyncio.wait({closed, play}, return_when=asyncio.FIRST_COMPLETED)
            closed.cancel()
            play.cancel()
    except* (WebSocketDisconnect, RuntimeError, OSError):
        pass


async def _refuse(websocket: WebSocket, reason: str) -> None:
    with contextlib.suppress(Exception):
        await websocket.send_text(encode({"type": "error", "reason": reason}).decode())
        await websocket.close(POLICY_VIOLATION)


async def until_closed(websocket: WebSocket) -> None:
    # One subscription per connection: a later message is answered, never ignored.
    while True:
        message = await websocket.receive()
        if message["type"] == "websocket.disconnect":
            return
        reason = "one subscription per connection: reconnect to change it"
        await websocket.send_text(encode({"type": "error", "reason": reason}).decode())


async def _play(
    tessera: Served,
    websocket: WebSocket,
    who: Caller,
    past: PastPicture,
    query: TrackQuery,
    visible: set[Hashable],
    start: datetime,
    speed: float,
) -> None:
    history = tessera.history
    assert history is not None
    loop = asyncio.get_running_loop()
    began = loop.time()
    checked = began
    heartbeat = tessera.settings.heartbeat_s
    while True:
        now = loop.time()
        if now - checked >= heartbeat:
            checked = now
            if not await tessera.gate.still_valid(who):
                await _refuse(websocket, "your token is no longer valid: sign in again")
                return
        following = await past.peek()
        if following is None:
            end = {"type": "replay_end", "picture": past.picture.name, "at": iso(past.at or start)}
            await websocket.send_text(encode(end).decode())
            await websocket.close()
            return
        reached = start + timedelta(seconds=(now - began) * speed)
        if following > reached:
            wait = (following - reached).total_seconds() / speed
            await asyncio.sleep(min(wait, CLOCK_EVERY_S))
            clock = {
                "type": "clock",
                "at": iso(start + timedelta(seconds=(loop.time() - began) * speed)),
            }
            await websocket.send_text(encode(clock).decode())
            continue
        await history.history.advance(past, reached)
        message = _changes(past.picture.name, reached, past.take_changes(), query, visible)
        await websocket.send_text(encode(message).decode())


def _changes(
    picture: str,
    at: datetime,
    changes: list[Change],
    query: TrackQuery,
    visible: set[Hashable],
) -> dict[str, Any]:
    latest: dict[Hashable, Change] = {}
    for change in changes:
        latest.pop(change.key, None)
        latest[change.key] = change
    upserts: list[Any] = []
    removes: list[str] = []
    shown_overlays: list[Any] = []
    overlay_removes: list[str] = []
    for key, change in latest.items():
        if change.matches(query):
            visible.add(key)
            (upserts if change.kind == "track" else shown_overlays).append(change.feature)
        elif key in visible:
            visible.discard(key)
            (removes if change.kind == "track" else overlay_removes).append(change.item_id)
    return {
        "type": "changes",
        "picture": picture,
        "seq": None,
        "at": iso(at),
        "upserts": upserts,
        "removes": removes,
        "overlays": shown_overlays,
        "overlay_removes": overlay_removes,
    }
