"""Installs as users have them, in fresh virtual environments (tests/installs.py).

The core package alone, installed (not editable): the Gradescope image's environment, whose
setup.sh ran ``pip install .`` with no extras. Nothing of the repository's own environment is
visible to it, so an undeclared dependency fails here the way it fails for users. And the release
folder as students receive it, in an environment with only what the notebook imports.
"""

import base64
import csv
import json
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from tests import agreement, installs
from tests.installs import ROOT, image_env


def kit(bin_dir, *args, cwd, **env):
    return subprocess.run([str(bin_dir / "python"), "-m", "autograder", *args], cwd=cwd, capture_output=True,
                          text=True, timeout=900, env=image_env(bin_dir, **env))


def test_the_installed_kit_is_the_core_package_from_site_packages(gradescope_image, tmp_path):
    _, bin_dir = gradescope_image
    done = subprocess.run([str(bin_dir / "python"), "-c", "import autograder, importlib.metadata as m; "
                           "print(autograder.__file__); print(m.version('llm-course-kit'))"],
                          cwd=tmp_path, capture_output=True, text=True, timeout=120, env=image_env(bin_dir))
    location, version = done.stdout.split()
    assert "site-packages" in location and version
    missing = subprocess.run([str(bin_dir / "python"), "-c", "import matplotlib"], capture_output=True,
                             env=image_env(bin_dir))
    assert missing.returncode != 0  # no extras: the [report] extra's matplotlib is not there


def test_the_core_package_grades_the_examples_to_their_scores(gradescope_image, tmp_path):
    root, bin_dir = gradescope_image
    done = kit(bin_dir, "grade", str(ROOT / "examples" / "submissions"), "-o", str(tmp_path / "out"), "--jobs", "2",
               "--course", str(ROOT), cwd=tmp_path, AUTOGRADER_CACHE=str(root / "source" / "warm-store"))
    assert done.returncode == 0, done.stderr[-3000:]
    rows = {row["student"]: row for row in csv.DictReader((tmp_path / "out" / "grades.csv").open())}
    assert {s: float(r["score"]) for s, r in rows.items()} == {"ada": 10, "grace": 8, "linus": 0, "margaret": 0}
    assert "GRADER ERROR" not in done.stdout + done.stderr


def test_without_a_course_the_error_names_the_flag_not_site_packages(gradescope_image, tmp_path):
    _, bin_dir = gradescope_image
    notebook = tmp_path / "tokens_and_loss.ipynb"
    notebook.write_bytes((ROOT / "examples" / "submissions" / "ada.ipynb").read_bytes())
    done = kit(bin_dir, "check", str(notebook), cwd=tmp_path)
    assert done.returncode == 2
    assert "--course DIR" in done.stderr and "release/<assignment>/" in done.stderr
    assert "site-packages" not in done.stderr


def test_the_release_checker_agrees_with_the_kit_on_the_whole_corpus(student_venv, graded_corpus, tmp_path):
    """As students have it: a copy of the release folder and an environment with torch, tiktoken, numpy
    and IPython only. `python check.py` gives every function of every corpus notebook the verdict and
    the message of the kit's visible checks, on the terminal, and the points it reports to GitHub
    Classroom; unusable files get the grader's own words too."""
    folder = Path(shutil.copytree(ROOT / "release" / "tokens_and_loss", tmp_path / "tokens_and_loss"))
    python = str(student_venv / "python")
    assert subprocess.run([python, "-c", "import autograder"], cwd=folder, capture_output=True).returncode != 0
    notebooks = sorted(graded_corpus["_submissions"].glob("*.ipynb"))

    def checked(notebooks: list[Path]) -> tuple[dict[str, str], dict[str, dict]]:
        """One `python check.py --classroom A.ipynb B.ipynb ...`, as the GitHub Classroom workflow runs
        it (there with the one notebook): what it printed, and what it reported to Classroom, per notebook."""
        output = tmp_path / f"github_output_{notebooks[0].stem}"
        done = subprocess.run([python, "check.py", "--classroom", *map(str, notebooks)], cwd=folder,
                              capture_output=True, text=True, timeout=900,
                              env=installs.image_env(student_venv, OMP_NUM_THREADS="1", GITHUB_OUTPUT=str(output)))
        assert done.returncode == 0, f"{done.stdout}\n{done.stderr}"
        sections = re.split(r"^Checking (\S+) ", done.stdout, flags=re.MULTILINE)[1:]
        reported = [json.loads(base64.b64decode(line.removeprefix("result=")))
                    for line in output.read_text().splitlines()]
        return dict(zip(sections[::2], sections[1::2])), dict(zip((n.name for n in notebooks), reported))

    # Two checkers, each over half of the corpus, one torch thread each (two cores here).
    with ThreadPoolExecutor(max_workers=2) as pool:
        halves = list(pool.map(checked, [notebooks[::2], notebooks[1::2]]))
    printed = {name: text for half, _ in halves for name, text in half.items()}
    classroom = {name: result for _, half in halves for name, result in half.items()}
    ours = {notebook: agreement.said_in(printed.get(notebook.name, "")) for notebook in notebooks}
    # What a student reads for a mistake: expected and got, then the hint (wrapped to the page).
    words = " ".join(printed["sum_not_mean.ipynb"].split())
    assert re.search(r"compared with torch's cross_entropy: expected 10\.79\d*, got 64\.7\d*\.", words)
    assert "Hint: Average over all positions with `torch.mean`: a sum grows with the batch" in words
    assert "4 of 5 functions pass" in words
    disagreements = []
    for notebook, said in ours.items():
        result = graded_corpus[notebook.stem]
        kit = agreement.grader_said(result)  # each function's PASS or FAIL, and its message, word for word
        points = {f.name: f.points for f in result.functions}
        reported = {t["name"]: "PASS" if t["status"] == "pass" and t["score"] == points[t["name"]] else "FAIL"
                    for t in classroom[notebook.name]["tests"]}
        if said != kit or reported != {name: status for name, (status, _) in kit.items()}:
            disagreements.append((notebook.stem, said, reported, kit))
    assert len(ours) >= 35 and disagreements == []
