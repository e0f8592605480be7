"""How long the copy finder takes on classes of generated train_and_generate submissions.

    python -m bench.similarity [--sizes 100 300 1000]

Each class mixes what a real one holds (see ``make_class``): students who typed the book's code, some
with a slip, other styles, and copies of a few sources by a tenth of the class. The
notebooks are written to disk as students submit them, and the whole command's work is timed:
reading every notebook, fingerprinting, comparing, and writing the page and the CSV. Prints seconds
per class size, and the pairs found.
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from autograder.assignment import load_assignment
from autograder.outputs.results import SubmissionResult, to_dict
from autograder.outputs.writers import GRADING_RECORD
from autograder.similarity.report import write_similarity
from tests import corpus
from tests import similarity_class as sc
from tests import train_and_generate_corpus as tg


def make_class(directory: Path, size: int, seed: int = 0) -> list[SubmissionResult]:
    """``size`` submissions written under ``directory``, and the results a batch would have recorded:
    nine in ten typed the book's code (half of them with a slip of the corpus's), one in ten copied one
    of five sources (as is, renamed or recommented), and the corpus's other styles once each."""
    rng = random.Random(seed)
    sources = [sc.SOURCE_ONE, sc.SOURCE_TWO, *sc.OWN.values()]
    changes = [lambda code: code, sc._renamed, sc._recommented]
    results, styles = [], list(tg.STYLES.values())
    for index in range(size):
        if index < len(styles):
            answers = styles[index]
        elif rng.random() < 0.1:
            change = rng.choice(changes)
            answers = {name: change(code) for name, code in rng.choice(sources).items()}
        else:
            mistake = rng.choice(tg.MISTAKES) if rng.random() < 0.5 else None
            answers = {mistake.function: mistake.code} if mistake else {}
            answers = {name: sc._renamed(code) for name, code in {**tg.BOOK, **answers}.items()}
        student = f"student{index:04d}"
        path = corpus.write(tg.with_answers(**answers), directory / "submitted" / f"{student}.ipynb")
        results.append(SubmissionResult(student=student, assignment="train_and_generate", functions=(),
                                        source=str(path)))
    return results


def copydetect_seconds(results: list[SubmissionResult], folder: Path) -> float:
    """copydetect (``pip install copydetect``, not a dependency of the kit) on one function of the same
    class, ``generate``, each student's in a file: it compares every pair of files."""
    import copydetect

    from autograder.similarity.code import functions_in_notebook

    folder.mkdir()
    for result in results:
        found = functions_in_notebook(Path(result.source), ("generate",)).get("generate")
        if found:
            (folder / f"{result.student}.py").write_text(found.source)
    started = time.perf_counter()
    copydetect.CopyDetector(test_dirs=[str(folder)], extensions=["py"], silent=True, autoopen=False).run()
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="+", default=[100, 300, 1000])
    parser.add_argument("--copydetect", action="store_true",
                        help="also time copydetect on one of the five functions (needs it installed)")
    args = parser.parse_args()
    assignment = load_assignment("train_and_generate")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            results = make_class(root, size)
            book = root / "book.py"
            book.write_text("\n".join(tg.BOOK.values()))
            out = root / "out"
            for result in results:
                (out / result.student).mkdir(parents=True)
                (out / result.student / GRADING_RECORD).write_text(json.dumps({"result": to_dict(result)}))
            started = time.perf_counter()
            found = write_similarity(out, results, assignment, [book])
            seconds = time.perf_counter() - started
            print(f"{size:5d} submissions: {seconds:6.1f} s ({1000 * seconds / size:.1f} ms each); "
                  f"{len(found.pairs)} pairs, {len(found.groups)} groups reported")
            if args.copydetect:
                print(f"      copydetect, one function of five: {copydetect_seconds(results, root / 'cd'):6.1f} s")


if __name__ == "__main__":
    main()
