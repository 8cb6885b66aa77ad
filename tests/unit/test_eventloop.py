import asyncio
import importlib.util

from servecap.loadtest.eventloop import run_loop


async def _loop_module() -> str:
    await asyncio.sleep(0)
    return type(asyncio.get_running_loop()).__module__


def test_run_loop_returns_the_result_on_uvloop_when_installed() -> None:
    module = run_loop(_loop_module())
    expected = "uvloop" if importlib.util.find_spec("uvloop") else "asyncio"
    assert module.split(".")[0] == expected
