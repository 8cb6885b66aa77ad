"""An incremental decoder for Server-Sent Events (the `text/event-stream` of OpenAI APIs)."""

from __future__ import annotations


class SSEDecoder:
    """Feed raw bytes as they arrive; get complete events' data payloads back.

    Follows the WHATWG event-stream rules that matter for OpenAI-style streams: events end at a
    blank line, `data:` lines of one event join with newlines, comment lines start with `:`,
    and CR, LF or CRLF all end a line.
    """

    def __init__(self) -> None:
        self._buffer = b""
        self._data: list[str] = []

    def feed(self, chunk: bytes) -> list[str]:
        self._buffer += chunk
        events: list[str] = []
        while True:
            cut = _line_end(self._buffer)
            if cut is None:
                return events
            end, width = cut
            line = self._buffer[:end].decode("utf-8", errors="replace")
            self._buffer = self._buffer[end + width :]
            if not line:
                if self._data:
                    events.append("\n".join(self._data))
                    self._data = []
                continue
            if line.startswith(":"):
                continue
            field, _, value = line.partition(":")
            if field == "data":
                self._data.append(value[1:] if value.startswith(" ") else value)

    def flush(self) -> list[str]:
        """Whatever complete event remains when the stream closes without a final blank line."""
        events = self.feed(b"\n\n") if self._buffer or self._data else []
        return events


def _line_end(buffer: bytes) -> tuple[int, int] | None:
    """Where the first line ends and how wide its terminator is (None: no full line yet)."""
    lf = buffer.find(b"\n")
    cr = buffer.find(b"\r")
    if cr == -1 or (lf != -1 and lf < cr):
        return (lf, 1) if lf != -1 else None
    if cr + 1 == len(buffer):
        return None  # a CR at the end may be the first half of CRLF
    return (cr, 2) if buffer[cr + 1 : cr + 2] == b"\n" else (cr, 1)
