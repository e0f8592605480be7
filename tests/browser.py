"""Headless Chromium for the tests that check HTML in a real browser.

Chromium is a Debian package (.ci/run installs it). Without it, the browser tests skip on a
developer's machine and fail in CI, where a skipped browser test would hide a broken page.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
         "--disable-dev-shm-usage", "--no-first-run", "--hide-scrollbars", "--mute-audio")


def chromium() -> str:
    """The browser's path, or skip (fail in CI) when it is not installed."""
    for name in ("chromium", "chromium-browser", "google-chrome"):
        found = shutil.which(name)
        if found:
            return found
    message = "headless Chromium is not installed (apt-get install -y chromium)"
    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def _run(page: Path, *flags: str, profile: Path) -> subprocess.CompletedProcess:
    return subprocess.run([chromium(), *FLAGS, f"--user-data-dir={profile}", *flags, page.resolve().as_uri()],
                          capture_output=True, text=True, timeout=120, check=True)


def dump_dom(page: Path, profile: Path) -> str:
    """The page's DOM after Chromium loaded and laid it out, as HTML."""
    return _run(page, "--dump-dom", profile=profile).stdout


def screenshot(page: Path, png: Path, profile: Path, size: tuple[int, int] = (1200, 2000)) -> Path:
    _run(page, f"--screenshot={png}", f"--window-size={size[0]},{size[1]}", profile=profile)
    return png
