"""The public API: `servecap.__all__` lists exactly what a notebook user imports, sorted."""

from __future__ import annotations

import inspect

import servecap


def _isort_key(name: str) -> tuple[int, str]:
    # ruff's __all__ order: CONSTANTS, then Classes, then functions
    return (0 if name.isupper() else 1 if name[0].isupper() else 2, name)


def test_all_is_sorted_and_unique():
    assert servecap.__all__ == sorted(set(servecap.__all__), key=_isort_key)


def test_every_exported_name_resolves_to_something_of_servecap():
    for name in servecap.__all__:
        member = getattr(servecap, name)
        module = inspect.getmodule(member)
        assert module is not None and module.__name__.startswith("servecap."), name


def test_all_names_every_export_and_nothing_else():
    listed = set(servecap.__all__)
    lazily = set(servecap._EXPORTS)
    assert listed == lazily
    public = {
        name
        for name in dir(servecap)
        if not name.startswith("_") and not inspect.ismodule(getattr(servecap, name))
    }
    assert public - listed <= {"annotations", "TYPE_CHECKING", "Any"}


def test_an_unknown_name_is_an_attribute_error():
    try:
        servecap.no_such_thing  # noqa: B018
    except AttributeError as exc:
        assert "no_such_thing" in str(exc)
    else:
        raise AssertionError("servecap.no_such_thing resolved")


def test_the_jobs_of_the_readme_are_reachable():
    for name in ("make_plan", "explain", "run_bench", "simulate", "calibrate", "advise"):
        assert callable(getattr(servecap, name)), name
    for name in ("Twin", "TwinServer", "render_html", "RunResult", "RunSummary", "MemoryPlan"):
        assert getattr(servecap, name), name
