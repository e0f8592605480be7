"""What a caller may also return while the kit stands in for callees that failed their own checks.

A class or function that calls (or builds) others of the contract is checked with the assignment's
stand-ins in place of those that failed; the engine then accepts the value a correct caller gives
with any set of them in place (``close``'s and ``dropout``'s ``stand_in``), since a caller need not
use every callee. Each assignment computes those values; this module enumerates the sets and words
the note a student reads.
"""

from __future__ import annotations

import itertools
from typing import Any, Callable


def note(callees: tuple[str, ...]) -> str:
    """What a message adds when the expected value is the one computed with these stand-ins."""
    names = " and ".join(callees)
    its, them, plural = ("their", "them", "s") if len(callees) > 1 else ("its", "it", "")
    return (f"; your {names} failed {its} own checks, so while this runs, the kit's stand-in{plural} for {them} "
            f"take{'' if plural else 's'} {its} place{plural}, so that the mistake there costs only {its} own points")


def alternatives(callees: tuple[str, ...], compute: Callable[[tuple[str, ...]], Any]) -> list[dict]:
    """``{"callees", "close", "note"}`` for every non-empty set of ``callees``, the largest first:
    ``compute(chosen)`` is what a correct caller gives with the stand-ins for ``chosen`` in place."""
    return [{"callees": list(chosen), "close": compute(chosen), "note": note(chosen)}
            for size in range(len(callees), 0, -1) for chosen in itertools.combinations(callees, size)]
