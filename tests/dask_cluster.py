"""Dask's distributed, for the tests of grading with --scheduler: skipped without it on a
developer's machine, a failure in CI (the [dev] install brings the [dask] extra)."""

import os

import pytest


def distributed():
    """The distributed module, or skip (fail in CI) when the [dask] extra is not installed."""
    try:
        import distributed as module
    except ImportError:
        message = "the [dask] extra is not installed (pip install -e '.[dask]')"
        if os.environ.get("CI"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message, allow_module_level=True)
    return module
