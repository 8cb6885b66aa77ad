"""The shape of the code: imports flow one way, modules and commands stay small."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "servecap"

# Each module's layer; a module may import only from its own layer or below. Packages are
# listed by prefix; a module named exactly wins over its package.
LAYERS: dict[str, int] = {
    "errors": 0,
    "units": 0,
    "outputs": 0,
    "hardware": 1,
    "models": 1,
    "tinymodel": 1,
    "vllm": 2,
    "memory": 3,
    "api": 4,
    "explanation": 4,
    "serve": 4,
    "loadtest": 5,
    "sim": 6,
    "sizing": 7,
    "demo": 7,
    "demo_answers": 7,
    "report": 8,
    "cli": 9,
    "__init__": 10,
    "__main__": 10,
}
MAX_MODULE_LINES = 400
MAX_COMMAND_LINES = 60


def _modules() -> dict[str, Path]:
    found = {}
    for path in SRC.rglob("*.py"):
        parts = path.relative_to(SRC).with_suffix("").parts
        if parts[-1] == "__init__" and len(parts) > 1:
            parts = parts[:-1]
        found[".".join(parts)] = path
    return found


def _layer(module: str) -> int:
    parts = module.split(".")
    for end in range(len(parts), 0, -1):
        key = ".".join(parts[:end])
        if key in LAYERS:
            return LAYERS[key]
    raise AssertionError(f"no layer for servecap.{module}: add it to LAYERS")


def _imports(module: str, path: Path) -> set[str]:
    """The servecap modules `module` imports (relative to servecap), at any depth."""
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = package[: len(package) - (node.level - 1)]
                target = ".".join([*base, *([node.module] if node.module else [])])
            elif (node.module or "").startswith("servecap"):
                target = (node.module or "").removeprefix("servecap").lstrip(".")
            else:
                continue
            names = [f"{target}.{a.name}".lstrip(".") for a in node.names]
            modules = _modules()
            found |= {n if n in modules else target for n in names}
        elif isinstance(node, ast.Import):
            found |= {
                a.name.removeprefix("servecap.")
                for a in node.names
                if a.name.startswith("servecap.")
            }
    return {m for m in found if m}


def _graph() -> dict[str, set[str]]:
    return {m: _imports(m, p) - {m} for m, p in _modules().items()}


def test_no_module_imports_from_a_layer_above_it():
    upward = [
        f"servecap.{m} ({_layer(m)}) imports servecap.{t} ({_layer(t)})"
        for m, targets in _graph().items()
        for t in targets
        if _layer(t) > _layer(m)
    ]
    assert upward == []


def test_the_imports_form_no_circle():
    graph = _graph()
    seen: set[str] = set()
    path: list[str] = []

    def visit(module: str) -> None:
        if module in path:
            cycle = [*path[path.index(module) :], module]
            raise AssertionError("import circle: " + " -> ".join(cycle))
        if module in seen:
            return
        path.append(module)
        for target in sorted(graph.get(module, ())):
            visit(target)
        path.pop()
        seen.add(module)

    for module in sorted(graph):
        visit(module)


def test_a_bad_layer_table_is_noticed():
    with pytest.raises(AssertionError, match="no layer"):
        _layer("nowhere")


def test_modules_stay_small():
    long = {
        m: n
        for m, p in _modules().items()
        if (n := len(p.read_text().splitlines())) > MAX_MODULE_LINES
    }
    assert long == {}


def test_command_functions_stay_short():
    long = {}
    for path in (SRC / "cli").glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.FunctionDef) and node.end_lineno is not None:
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_COMMAND_LINES:
                    long[f"{path.name}:{node.name}"] = lines
    assert long == {}


def test_the_simulator_and_the_load_shapes_need_no_http_client():
    code = (
        "import sys; import servecap.sim.engine, servecap.sim.simulate, servecap.loadtest.load; "
        "print('aiohttp' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
