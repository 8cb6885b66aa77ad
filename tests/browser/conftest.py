"""Headless Chromium for the HTML report's browser tests (installed by scripts/setup-chromium)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from browser.cdp import Chromium, find_chromium


@pytest.fixture(scope="session")
def chromium(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Chromium]:
    binary = find_chromium()
    if binary is None:
        pytest.fail(
            "chromium is not installed: run scripts/setup-chromium (scripts/test does), "
            "or point SERVECAP_CHROMIUM at a Chromium binary",
            pytrace=False,
        )
    browser = Chromium(binary, tmp_path_factory.mktemp("chromium") / "profile")
    try:
        yield browser
    finally:
        browser.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)
