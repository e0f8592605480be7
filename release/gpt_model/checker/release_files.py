"""The files the checks ship as, beside the notebook: ``checks.json`` (readable without torch: the
assignment, its functions, their parameters and points, the time limits) and ``checks.pt`` (the
visible checks' calls: tensors and plain data, loaded with ``weights_only``)."""

from __future__ import annotations

import json
from pathlib import Path

FOLDER = Path(__file__).resolve().parents[1]  # the release folder, where this package ships
DATA, SUMMARY = "checks.pt", "checks.json"
OUTSIDE = "COURSE_KIT_CHECKING"  # set where a checker or the grader runs the whole notebook


def summary_data() -> dict:
    """``checks.json``: the assignment, its functions and time limits, readable without torch."""
    return json.loads((FOLDER / SUMMARY).read_text())


def load_checks() -> dict:
    """The visible checks: ``checks.json``, with the calls from ``checks.pt``."""
    import torch

    return {**summary_data(), "calls": torch.load(FOLDER / DATA, weights_only=True)}


def trusted_notebook() -> dict:
    """The release notebook as shipped: the trusted copy whose locked cells every run restores."""
    return json.loads((FOLDER / f"{summary_data()['assignment']}.ipynb").read_text(encoding="utf-8-sig"))
