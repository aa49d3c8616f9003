"""The ``data`` of each event in a worker's SSE byte stream, split without decoding text.

Workers write each event as ``data: <json>\\n\\n`` (``encode_event``). Such frames are cut
out of the raw bytes directly, the payload left as bytes for ``orjson``. The first frame
of any other shape (several lines, ``event:``/``id:`` fields, comments, CR line ends, a
byte-order mark) hands the stream, from that frame on, to the full spec decoder
(``mesh_contracts.SSEDecoder``), which then reads it to the end: the switch happens at a
frame boundary, where a fresh decoder is in the same state the old one would be.
"""

from __future__ import annotations

from mesh_contracts import SSEDecoder


class DataFrames:
    """Feed raw chunks, get the payloads of the events they complete (bytes or str)."""

    __slots__ = ("_buf", "_decoder")

    def __init__(self) -> None:
        self._buf = b""
        self._decoder: SSEDecoder | None = None

    def feed(self, chunk: bytes) -> list[bytes | str]:
        if self._decoder is not None:
            return [m.data for m in self._decoder.feed(chunk)]
        data = self._buf + chunk if self._buf else chunk
        if b"\r" in data:
            return self._hand_over(data)
        frames = data.split(b"\n\n")
        self._buf = frames.pop()
        out: list[bytes | str] = []
        for i, frame in enumerate(frames):
            if frame.startswith(b"data:") and b"\n" not in frame:
                out.append(frame[6:] if frame.startswith(b"data: ") else frame[5:])
            else:
                rest = b"\n\n".join(frames[i:]) + b"\n\n" + self._buf
                self._buf = b""
                out.extend(self._hand_over(rest))
                break
        return out

    def _hand_over(self, data: bytes) -> list[bytes | str]:
        self._decoder = SSEDecoder()
        return [m.data for m in self._decoder.feed(data)]
