"""The core package alone, installed (not editable) in a fresh virtual environment, as a user has it.

The environment is the Gradescope image's (tests/installs.py): its setup.sh ran ``pip install .``
with no extras. Nothing of the repository's own environment is visible to it, so an undeclared
dependency fails here the way it fails for users.
"""

import csv
import subprocess

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
