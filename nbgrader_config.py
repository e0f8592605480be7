"""nbgrader settings for this course directory (source/ -> release/, submitted/ -> autograded/)."""

import os

c = get_config()  # noqa: F821 (provided by nbgrader when it loads this file)

c.CourseDirectory.course_id = "llm-from-scratch"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# Students' release includes gpt2.py and the offline tokenizer files next to the notebook.
c.CourseDirectory.ignore = [".ipynb_checkpoints", "*.pyc", "__pycache__"]
# Building the model and generating ten tokens takes a few seconds per notebook.
c.ExecutePreprocessor.timeout = 300
