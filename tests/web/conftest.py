"""Browser fixtures: Debian's Chromium driven headless by Playwright (nothing downloads a browser).

The browser is found on the PATH at run time. Without one the browser tests skip with the reason,
except under ``CI=true``, where a missing browser is a failure (CI installs Chromium).
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

BROWSER_NAMES = ("chromium", "chromium-browser", "google-chrome", "chrome")


def find_chromium() -> str | None:
    """Path of a Chromium-family browser on the PATH (``$MEGAPOD_CHROMIUM`` first), or ``None``."""
    explicit = os.environ.get("MEGAPOD_CHROMIUM")
    if explicit:
        return shutil.which(explicit) or (explicit if Path(explicit).is_file() else None)
    for name in BROWSER_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _missing(reason: str) -> None:
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(f"{reason} (CI=true: the browser tests must run)")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """A headless Chromium for the whole test session."""
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _missing("the Python package playwright is not installed")
    path = find_chromium()
    if path is None:
        _missing("no Chromium on the PATH (install Debian's chromium package or set MEGAPOD_CHROMIUM)")
    with sync_playwright() as pw:
        b = pw.chromium.launch(
            executable_path=path,
            headless=True,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--enable-precise-memory-info",
                "--js-flags=--expose-gc",
            ],
        )
        yield b
        b.close()


class PageWatch:
    """A browser page that records console errors, page errors and requests to the network."""

    def __init__(self, page: Any) -> None:
        self.page = page
        self.errors: list[str] = []
        self.external: list[str] = []
        page.on("console", lambda m: self.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: self.errors.append(str(e)))

    def block_network(self, allowed_prefix: str = "") -> None:
        """Refuse and record every request outside ``allowed_prefix`` (file:// and data: pass)."""

        def handle(route: Any) -> None:
            url = route.request.url
            if url.startswith(("file:", "data:", "blob:")) or (
                allowed_prefix and url.startswith(allowed_prefix)
            ):
                route.continue_()
            else:
                self.external.append(url)
                route.abort()

        self.page.route("**/*", handle)


@pytest.fixture
def watched_page(browser: Any) -> Iterator[PageWatch]:
    """A fresh page (own context) with console and network watching."""
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield PageWatch(page)
    context.close()
