"""An incremental decoder for Server-Sent Events (the `text/event-stream` of OpenAI APIs)."""

from __future__ import annotations


class SSEDecoder:
    """Feed raw bytes as they arrive; get complete events' data payloads back.

    Follows the WHATWG event-stream rules that matter for OpenAI-style streams: events end at a
    blank line, `data:` lines of one event join with newlines, comment lines start with `:`,
    and CR, LF or CRLF all end a line. Work is linear in the bytes fed: one network read can
    hold thousands of events when the client falls behind a fast server.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        buffer = self._buffer + chunk if self._buffer else chunk
        events: list[str] = []
        pos = 0
        cr = buffer.find(b"\r")  # most streams have none: then it is never searched again
        while True:
            if cr != -1 and cr < pos:
                cr = buffer.find(b"\r", pos)
            cut = _line_end(buffer, pos, cr)
            if cut is None:
                break
            end, width = cut
            line = buffer[pos:end]
            pos = end + width
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
                continue
            if line.startswith(b":"):
                continue
            field, _, value = line.partition(b":")
            if field == b"data":
                text = value.decode("utf-8", errors="replace")
                self._data.append(text[1:] if text.startswith(" ") else text)
        self._buffer = buffer[pos:]
        return events

    def flush(self) -> list[str]:
        """Whatever complete event remains when the stream closes without a final blank line."""
        return self.feed(b"\n\n") if self._buffer or self._data else []


def _line_end(buffer: bytes, start: int, cr: int) -> tuple[int, int] | None:
    """Where the line from `start` ends and how wide its terminator is (None: incomplete).

    `cr` is the first carriage return at or after `start`, or -1.
    """
    lf = buffer.find(b"\n", start)
    if cr == -1 or (lf != -1 and lf < cr):
        return (lf, 1) if lf != -1 else None
    if cr + 1 == len(buffer):
        return None  # a CR at the end may be the first half of CRLF
    return (cr, 2) if buffer[cr + 1 : cr + 2] == b"\n" else (cr, 1)
