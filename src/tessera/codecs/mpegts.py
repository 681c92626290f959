"""The KLV data stream out of an MPEG-2 transport stream (ISO/IEC 13818-1), as STANAG 4609
carries it: 188-byte packets, each PID's packetised elementary stream (PES) gathered
until its next start, the PES header skipped. Video and audio streams (PES stream ids
0xC0-0xEF) are passed over; what else a PES holds is handed on whole, and the KLV reader
finds its packets by their key (asynchronous and synchronous metadata alike)."""

from __future__ import annotations

from typing import Final

TS_PACKET: Final = 188
SYNC: Final = 0x47
MAX_PES: Final = 256 * 1024
MAX_PIDS: Final = 64


class TransportStream:
    def __init__(self) -> None:
        self._pending = b""
        self._pes: dict[int, bytearray] = {}

    def payloads(self, data: bytes, problems: list[str]) -> list[bytes]:
        """The elementary-stream payloads ``data`` completes."""
        buffer = self._pending + data
        done: list[bytes] = []
        at = 0
        while len(buffer) - at >= TS_PACKET:
            if buffer[at] != SYNC:
                problems.append("lost MPEG-TS sync")
                next_sync = buffer.find(bytes([SYNC]), at + 1)
                if next_sync < 0:
                    at = len(buffer)
                    break
                at = next_sync
                continue
            self._packet(buffer[at : at + TS_PACKET], done, problems)
            at += TS_PACKET
        self._pending = buffer[at:]
        return done

    def _packet(self, packet: bytes, done: list[bytes], problems: list[str]) -> None:
        start = bool(packet[1] & 0x40)
        pid = ((packet[1] & 0x1F) << 8) | packet[2]
        control = (packet[3] >> 4) & 0x3
        if pid == 0x1FFF or not control & 0x1:
            return  # null packet, or no payload
        at = 4
        if control & 0x2:
            at += 1 + packet[4]
            if at > TS_PACKET:
                problems.append("bad MPEG-TS adaptation field")
                return
        payload = packet[at:]
        if start:
            finished = self._pes.pop(pid, None)
            if finished is not None:
                self._finish(finished, done, problems)
            if len(self._pes) >= MAX_PIDS:
                problems.append("too many MPEG-TS streams")
                return
            self._pes[pid] = bytearray(payload)
        elif pid in self._pes:
            pes = self._pes[pid]
            pes.extend(payload)
            if len(pes) > MAX_PES:
                problems.append("an MPEG-TS PES too long")
                del self._pes[pid]

    @staticmethod
    def _finish(pes: bytearray, done: list[bytes], problems: list[str]) -> None:
        if pes[:3] != b"\x00\x00\x01" or len(pes) < 9:
            return  # a section (PAT, PMT), not a PES
        stream_id = pes[3]
        if 0xC0 <= stream_id <= 0xEF:
            return  # audio, video
        header = 9 + pes[8]
        if header > len(pes):
            problems.append("bad PES header")
            return
        done.append(bytes(pes[header:]))

    def flush(self, problems: list[str]) -> list[bytes]:
        """What the streams hold at the end of a recording."""
        done: list[bytes] = []
        for pes in self._pes.values():
            self._finish(pes, done, problems)
        self._pes.clear()
        return done


def packetise(pid: int, pes_payload: bytes, *, stream_id: int = 0xBD, counter: int = 0) -> bytes:
    """One PES (private stream 1, no PTS) in transport packets on ``pid``: for tests, the
    exercise and benchmarks."""
    pes = b"\x00\x00\x01" + bytes([stream_id])
    body = b"\x80\x00\x00" + pes_payload
    pes += len(body).to_bytes(2, "big") + body
    out = b""
    first = True
    while pes:
        chunk, pes = pes[:184], pes[184:]
        header = bytes([SYNC, (0x40 if first else 0) | (pid >> 8), pid & 0xFF])
        if len(chunk) < 184:
            # Stuff with an adaptation field so the packet stays 188 bytes.
            stuffing = 184 - len(chunk) - 1
            adaptation = bytes([stuffing]) + (
                b"\x00" + b"\xff" * (stuffing - 1) if stuffing else b""
            )
            out += header + bytes([0x30 | (counter & 0xF)]) + adaptation + chunk
        else:
            out += header + bytes([0x10 | (counter & 0xF)]) + chunk
        counter += 1
        first = False
    return out
