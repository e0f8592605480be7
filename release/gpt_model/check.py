"""Check your answers before you submit them: the assignment's visible checks, on your machine.

    python check.py [NOTEBOOK ...]      the saved notebook, run as the grader runs it, with a time limit
                                        per cell and per call; exit status 0 when all pass
    python check.py --stop              end the checker waiting in the background
    python check.py --classroom         in GitHub Classroom's workflow: also report the points
    from check import check; check()    in the notebook: the functions of the running kernel

The checks and their engine are in the ``checker/`` folder beside this file, with ``checks.pt`` and
``checks.json``: the grader's own code and visible checks, without any answer. The first ``python
check.py`` leaves a warm process waiting in the background for about 5 minutes (about 1 GB), so the
next check starts in about a second; ``python check.py --stop`` ends it, and ``CHECK_PY_LINGER=0``
leaves nothing behind. This is a self-check: the grade comes from the grader, which also runs hidden
checks.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from checker.calling import check  # noqa: E402, F401  (the notebook's last cell imports this)

if __name__ == "__main__":
    from checker.cli import main

    sys.exit(main(sys.argv[1:]))
