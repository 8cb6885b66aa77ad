"""Real vLLM (the CPU build) as a test fixture.

`vllm_server(config)` returns a running server for a tiny random-weight model of the given
shape. Servers start on a free loopback port, are shared across tests of a session, and at
most three run at once (each start costs about a minute on two cores); every one is stopped,
whole process group included, when it is evicted or the session ends, pass or fail.
"""

from __future__ import annotations

import os
import subprocess
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from servecap.tinymodel import write_tiny_model
from servecap.vllm.launcher import LaunchSpec, VllmInstall, VllmServer, find_vllm
from vllm_servers import DTYPE_ARGS, ServerConfig

REPO = Path(__file__).resolve().parents[2]


@dataclass
class RunningServer:
    config: ServerConfig
    server: VllmServer
    model_dir: Path

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def log_path(self) -> Path:
        return self.server.log_path

    @property
    def model(self) -> str:
        return str(self.model_dir)


@pytest.fixture(scope="session")
def vllm_install() -> VllmInstall:
    """The vLLM CPU build: SERVECAP_VLLM_PYTHON, else set up by scripts/setup-vllm."""
    install = find_vllm(os.environ.get("SERVECAP_VLLM_PYTHON"))
    if install is None:
        out = subprocess.run(
            [str(REPO / "scripts" / "setup-vllm")], capture_output=True, text=True, check=True
        )
        install = find_vllm(out.stdout.strip().splitlines()[-1])
    assert install is not None, "real vLLM is required: run scripts/setup-vllm"
    return install


class ServerPool:
    """Keeps the most recently used servers alive; starts one per distinct config."""

    def __init__(self, install: VllmInstall, root: Path, capacity: int = 3) -> None:
        self.install = install
        self.root = root
        self.capacity = capacity
        self.running: OrderedDict[ServerConfig, RunningServer] = OrderedDict()

    def get(self, config: ServerConfig) -> RunningServer:
        if config in self.running:
            self.running.move_to_end(config)
            found = self.running[config]
            if found.server.alive():
                return found
            found.server.stop()
            del self.running[config]
        while len(self.running) >= self.capacity:
            _, oldest = self.running.popitem(last=False)
            oldest.server.stop()
        model_dir = write_tiny_model(self.root / config.name / "model", config.shape)
        spec = LaunchSpec(
            model=str(model_dir),
            args=["--max-model-len", str(config.max_model_len), *DTYPE_ARGS, *config.args],
            kv_cache_space_gib=config.kv_cache_space_gib,
            log_path=self.root / config.name / "vllm.log",
        )
        server = VllmServer(spec, self.install).start()
        try:
            server.wait_ready(timeout=600)
        except BaseException:
            server.stop()
            raise
        running = RunningServer(config, server, model_dir)
        self.running[config] = running
        return running

    def close(self) -> None:
        while self.running:
            _, item = self.running.popitem()
            item.server.stop()


@pytest.fixture(scope="session")
def vllm_pool(
    vllm_install: VllmInstall, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[ServerPool]:
    pool = ServerPool(vllm_install, tmp_path_factory.mktemp("vllm"))
    try:
        yield pool
    finally:
        pool.close()


@pytest.fixture
def vllm_server(vllm_pool: ServerPool) -> Callable[[ServerConfig], RunningServer]:
    return vllm_pool.get


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "integration" in str(item.fspath):
            item.add_marker(pytest.mark.vllm)
