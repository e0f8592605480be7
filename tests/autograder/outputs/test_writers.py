"""Output formats, written from one SubmissionResult."""

import xml.etree.ElementTree as ET

import pytest

from autograder.outputs.results import CheckResult, build, unusable
from autograder.outputs.writers import grades_csv, gradescope, junit


def result(assignment, student="grace", failing=("target_probas",)):
    checks = [CheckResult(f"{f.name} check", f.name, True, "failed" if f.name in failing else "passed",
                          "wrong shape" if f.name in failing else "") for f in assignment.functions]
    return build(assignment, student, checks, notes=("cell 4 raised ValueError",))


def test_junit_has_a_case_per_check_and_the_failures(assignment):
    root = ET.fromstring(junit([result(assignment), unusable(assignment, "margaret", "not a notebook")]))
    grace, margaret = root.findall("testsuite")
    assert grace.get("name") == "grace" and grace.get("tests") == "5" and grace.get("failures") == "1"
    failed = [case for case in grace.findall("testcase") if case.find("failure") is not None]
    assert [case.get("classname") for case in failed] == ["tokens_and_loss.target_probas"]
    assert failed[0].find("failure").get("message") == "wrong shape"
    assert {p.get("name"): p.get("value") for p in grace.find("properties")} == {"score": "8", "max_score": "10"}
    assert margaret.get("failures") == "5" and "not a notebook" in margaret.find("system-out").text


def test_gradescope_and_csv_agree_with_the_result(assignment):
    graded = result(assignment)
    data = gradescope(graded)
    assert data["score"] == 8 and [t["score"] for t in data["tests"]] == [2, 2, 0, 3, 1]
    assert "cell 4 raised ValueError" in data["output"]
    rows = grades_csv([graded]).splitlines()
    assert rows[1].startswith("grace,8,10,2,2,0,3,1,")


def test_a_folder_where_a_results_file_belongs_is_named_not_a_traceback(tmp_path):
    """`grade NOTEBOOK -o DIR`: the message says what -o wants."""
    from autograder import GraderError
    from autograder.outputs.writers import write_atomic

    with pytest.raises(GraderError, match="is a folder; for one notebook, -o names the file to write"):
        write_atomic(tmp_path, "{}")
    assert list(tmp_path.iterdir()) == []
