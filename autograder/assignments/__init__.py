"""One package per assignment: its contract and points in ``__init__``, its checks in ``test_*.py``."""
