"""Authoring: what an instructor runs before a release, not while grading.

``course`` generates and compares the release with nbgrader's own ``generate_assignment``;
``release_checks`` writes the students' checker files from the grader's visible checks;
``validate`` proves a release sound (the solution full marks, the stubs zero, the files in sync)
and stores the warm-up for the first batch.
"""
