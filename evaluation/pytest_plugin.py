"""Fixtures and skip rules for tests that need the corpora, the Kafka broker, Prism or Chromium.

Registered by tests/conftest.py (``pytest_plugins``). A missing service or corpus skips its
tests on a developer's machine and fails them under ``CI=true``, so CI never passes by skipping.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any, NoReturn

import pytest
from kafka import KafkaAdminClient
from kafka.errors import KafkaError

from evaluation.broker import BOOTSTRAP
from evaluation.browser import CHROMIUM, CHROMIUM_FLAGS
from evaluation.corpora import ANT


def missing(message: str) -> NoReturn:
    """Skip the test, or fail it under CI=true, because something it needs is absent."""
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def corpus_path() -> Path:
    """The ANT corpus (../shared/corpora); skips when it is not beside the checkout."""
    if not ANT.exists():
        pytest.skip(f"corpus not present at {ANT}")
    return ANT


def require_broker() -> str:
    """The broker's address; skips (fails under CI=true) when no broker answers."""
    try:
        KafkaAdminClient(bootstrap_servers=BOOTSTRAP, request_timeout_ms=5000).close()
    except (KafkaError, OSError) as error:
        missing(f"no Kafka broker at {BOOTSTRAP} (start one with docker/kafka/broker.sh start): {error}")
    return BOOTSTRAP


def require_prism() -> None:
    """Skips (fails under CI=true) when the Prism runner has not been built (``make prism``)."""
    from pipelines.runners.prism import prism_path

    if not prism_path().exists():
        missing(f"Prism runner not built at {prism_path()} (make prism)")


@contextlib.contextmanager
def chromium_page(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A page in a fresh browser (Playwright gives each launch a new, empty profile directory).

    Fails the test on any script error of the page.
    """
    if not CHROMIUM.exists():
        missing(f"no Chromium at {CHROMIUM} (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing("playwright is not installed (make setup installs requirements/lock.txt)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": width, "height": height})
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert not errors, f"the page raised: {errors}"
        finally:
            browser.close()
