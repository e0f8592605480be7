"""Warm grading: submissions forked from one zygote leave nothing behind for the next one."""

import pytest

from autograder.sandbox import warm_sandbox as warm
from autograder.sandbox.bwrap import bwrap_status
from autograder.sandbox.notebook import load
from autograder.sandbox.student_process import StudentProcess
from autograder.settings import Settings
from tests import corpus

LEAVE_TRACES = """
import os, subprocess
with open("left_behind.txt", "w") as f:
    f.write("secret")
with open(os.path.join(os.environ.get("TMPDIR", "/tmp"), "..", "also_left.txt"), "w") as f:
    f.write("secret")
subprocess.Popen(["sleep", "4322"], start_new_session=True)

def look():
    import glob
    found = glob.glob("**/left_behind.txt", recursive=True) + glob.glob("/tmp/**/*left*", recursive=True)
    sleepers = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if open(f"/proc/{pid}/cmdline", "rb").read() == b"sleep\\x004322\\x00":
                sleepers.append(pid)
        except OSError:
            pass
    return [found, sleepers]
"""


@pytest.fixture(scope="module")
def warm_settings(tmp_path_factory, assignment):
    if bwrap_status() is not None:
        pytest.fail(f"this test needs the sandbox: {bwrap_status()}")
    cache = warm.prepare(assignment, Settings(), tmp_path_factory.mktemp("warm"))
    settings = Settings(warm_cache=str(cache))
    yield settings
    warm.shared_sandbox(assignment, settings).close()


def test_nothing_carries_over_between_submissions(tmp_path, assignment, warm_settings):
    notebook = corpus.write(corpus.build(corpus.SEED, {3: LEAVE_TRACES}), tmp_path / "traces.ipynb")
    cells = load(notebook, corpus.RELEASE).cells
    sandbox = warm.shared_sandbox(assignment, warm_settings)
    seen = []
    for _ in range(2):
        with StudentProcess(assignment.release_dir, warm=sandbox) as process:
            run = process.run_notebook(cells, ("look",), timeout=120)
            assert run.stopped is None and process.sandboxed
            seen.append(process.call("look", [], timeout=30).value)
    (first_files, first_sleepers), (second_files, second_sleepers) = seen
    assert first_files and len(first_sleepers) == 1  # the first submission sees its own traces...
    assert len(second_files) == len(first_files) and len(second_sleepers) == 1  # ...the second only its own


def test_warm_and_cold_grading_agree(tmp_path, assignment, warm_settings, monkeypatch):
    from autograder.checks.grading import grade_notebook

    # A notebook with a mistake: its messages and hints differ between the paths if anything does (the
    # seed's full marks from the warm path are in every batch test).
    for name, notebook in [("grace", corpus.with_answers(target_probas=corpus.MISTAKES[7].code))]:
        path = corpus.write(notebook, tmp_path / f"{name}.ipynb")
        with monkeypatch.context() as cold_start:
            cold_start.setenv("AUTOGRADER_CACHE", str(tmp_path / "no-store"))  # no stored warm-up to start from
            cold = grade_notebook(path, assignment, Settings())
        hot = grade_notebook(path, assignment, warm_settings)
        assert [(f.name, f.score, [c.message for c in f.checks]) for f in hot.functions] == \
               [(f.name, f.score, [c.message for c in f.checks]) for f in cold.functions]


FIDELITY = """
import copy

def fidelity():
    plain = copy.deepcopy(model)  # a copy is no replay: every one of its calls computes
    with torch.no_grad():
        same_logits = torch.equal(model(inputs), plain(inputs))
    ids = text_to_token_ids("Let me see if I can make it", tokenizer)
    same_generation = torch.equal(generate_text_simple(model, ids, 10, GPT_CONFIG["context_length"]),
                                  generate_text_simple(plain, ids, 10, GPT_CONFIG["context_length"]))
    return [same_logits, same_generation]
"""


def test_the_notebook_cannot_tell_recorded_answers_from_computed_ones(tmp_path, assignment, warm_settings):
    """The batch's recordings answer this notebook's calls; a copy of the model computes them: they agree."""
    notebook = corpus.write(corpus.build(corpus.SEED, {15: FIDELITY}), tmp_path / "fidelity.ipynb")
    cells = load(notebook, corpus.RELEASE).cells
    with StudentProcess(assignment.release_dir, warm=warm.shared_sandbox(assignment, warm_settings)) as process:
        run = process.run_notebook(cells, ("fidelity",), timeout=120)
        assert run.stopped is None and not [c.error for c in run.cells if c.error]
        assert process.call("fidelity", [], timeout=60).value == [True, True]


def test_the_warm_up_never_runs_a_cell_tagged_skip_when_grading():
    """The recording runs the instructor's setup and solution cells, but not the training loop."""
    from autograder.assignment import Assignment

    second = Assignment(name="train_and_generate", functions=())
    setup = warm.trusted_setup_cells(second)
    assert any("train_loader = torch.utils.data.DataLoader" in cell for cell in setup)
    assert not any("for epoch in range" in cell for cell in setup)
    recorded = warm.recording_cells(second)
    assert any("### BEGIN SOLUTION" in cell["source"] for cell in recorded)  # the solution notebook's cells
    assert not any("for epoch in range" in cell["source"] for cell in recorded)
