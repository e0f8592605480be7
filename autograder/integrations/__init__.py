"""Integrations that grade as well as write: Gradescope's ``run_autograder`` and GitHub Classroom.

They stand above the checks: each takes a platform's submission layout in, grades through
``checks.grading``, and writes the platform's own format through ``outputs``.
"""
