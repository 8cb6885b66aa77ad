"""A headless Chromium and a minimal Chrome DevTools Protocol client over aiohttp's websocket.

`Chromium` starts Debian's chromium with a throwaway profile and remote debugging on a free
port (read back from its DevToolsActivePort file); `open_page` loads a file in its tab and
reports console errors, uncaught exceptions, network requests, and the values of expressions.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

FLAGS = [
    "--headless",
    "--no-sandbox",  # root in containers and CI
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--no-default-browser-check",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--disable-dev-shm-usage",
    "--hide-scrollbars",
    "--remote-debugging-port=0",
]


def find_chromium() -> str | None:
    for name in (os.environ.get("SERVECAP_CHROMIUM"), "chromium", "chromium-browser"):
        if name and (path := shutil.which(name)):
            return path
    return None


class Chromium:
    """One headless browser process (its own process group, stopped by `close`)."""

    def __init__(self, binary: str, profile: Path) -> None:
        self.profile = profile
        self.log = profile.parent / "chromium.log"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [binary, *FLAGS, f"--user-data-dir={profile}", "about:blank"],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.port = self._wait_for_port()

    def _wait_for_port(self, timeout_s: float = 30.0) -> int:
        marker = self.profile / "DevToolsActivePort"
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"chromium exited at start: {self.log.read_text()[-2000:]}")
            if marker.exists() and (lines := marker.read_text().split()):
                return int(lines[0])
            time.sleep(0.05)
        raise RuntimeError(f"chromium opened no debugging port in {timeout_s:g} s")

    def close(self) -> None:
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)


@dataclass
class PageReport:
    """What happened while a page loaded, and what the expressions evaluated to."""

    errors: list[str] = field(default_factory=list)  # console errors, exceptions
    requests: list[str] = field(default_factory=list)  # every URL the page asked for
    values: dict[str, Any] = field(default_factory=dict)


class _Session:
    def __init__(self, ws: aiohttp.ClientWebSocketResponse) -> None:
        self.ws = ws
        self.next_id = 0
        self.pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self.events: list[dict[str, Any]] = []
        self.loaded = asyncio.Event()
        self.reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for message in self.ws:
            if message.type != aiohttp.WSMsgType.TEXT:
                continue
            data = json.loads(message.data)
            if "id" in data and data["id"] in self.pending:
                self.pending.pop(data["id"]).set_result(data)
            else:
                self.events.append(data)
                if data.get("method") == "Page.loadEventFired":
                    self.loaded.set()

    async def send(self, method: str, **params: Any) -> dict[str, Any]:
        self.next_id += 1
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self.pending[self.next_id] = future
        await self.ws.send_str(json.dumps({"id": self.next_id, "method": method, "params": params}))
        reply = await asyncio.wait_for(future, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        result: dict[str, Any] = reply.get("result", {})
        return result


def _errors(events: list[dict[str, Any]]) -> list[str]:
    errors = []
    for event in events:
        method, params = event.get("method"), event.get("params", {})
        if method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
            errors.append(
                " ".join(str(a.get("value", a.get("description"))) for a in params["args"])
            )
        elif method == "Runtime.exceptionThrown":
            details = params["exceptionDetails"]
            errors.append(str(details.get("exception", {}).get("description", details["text"])))
        elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
            errors.append(params["entry"]["text"])
    return errors


async def open_page(
    port: int,
    page: Path,
    expressions: dict[str, str],
    screenshot: Path | None = None,
    width: int = 1280,
    max_height: int = 20_000,
) -> PageReport:
    """Load `page` in the browser's tab; evaluate each expression after the load event."""
    async with aiohttp.ClientSession() as http:
        async with http.get(f"http://127.0.0.1:{port}/json/list") as response:
            targets = await response.json()
        url = next(t["webSocketDebuggerUrl"] for t in targets if t["type"] == "page")
        async with http.ws_connect(url, max_msg_size=0) as ws:
            session = _Session(ws)
            try:
                for domain in ("Page", "Runtime", "Log", "Network"):
                    await session.send(f"{domain}.enable")
                await session.send(
                    "Emulation.setDeviceMetricsOverride",
                    width=width,
                    height=900,
                    deviceScaleFactor=1,
                    mobile=False,
                )
                session.events.clear()
                session.loaded.clear()
                await session.send("Page.navigate", url=page.resolve().as_uri())
                await asyncio.wait_for(session.loaded.wait(), 30)
                await asyncio.sleep(0.3)  # late console messages and image errors
                report = PageReport()
                for name, expression in expressions.items():
                    result = await session.send(
                        "Runtime.evaluate", expression=expression, returnByValue=True
                    )
                    report.values[name] = result["result"].get("value")
                if screenshot is not None:
                    height = min(int(report.values.get("height") or 2400), max_height)
                    shot = await session.send(
                        "Page.captureScreenshot",
                        format="png",
                        captureBeyondViewport=True,
                        clip={"x": 0, "y": 0, "width": width, "height": height, "scale": 1},
                    )
                    screenshot.write_bytes(base64.b64decode(shot["data"]))
                report.errors = _errors(session.events)
                report.requests = [
                    e["params"]["request"]["url"]
                    for e in session.events
                    if e.get("method") == "Network.requestWillBeSent"
                ]
                return report
            finally:
                session.reader.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await session.reader
