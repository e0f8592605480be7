"""The grader's settings: one frozen value, built from CLI flags (or pytest options)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

from autograder.sandbox import Limits


@dataclass(frozen=True)
class Settings:
    """How to grade.

    The defaults fit ``tokens_and_loss``: its notebook builds a 124M-parameter model and generates
    ten tokens (a few seconds), and each graded call takes milliseconds when it is correct.
    """

    notebook_timeout: float = 300.0  # seconds for all of a notebook's cells
    call_timeout: float = 30.0  # seconds for one call of a student function
    sandbox: str = "auto"  # "auto": bwrap if it works here, else a warning; "bwrap": required; "none"
    limits: Limits = field(default_factory=Limits)
    jobs: int = field(default_factory=lambda: os.cpu_count() or 1)
    warm_cache: str | None = None  # a batch's prepared model cache: fork notebooks from a warm zygote
