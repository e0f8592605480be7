"""The batch: a directory of submissions, graded by local worker processes or on a Dask cluster.

In: a folder of submissions. Out: one result per student, saved as it comes, then grades.csv, the
gradebook and feedback pages (through ``outputs``). ``submissions`` finds them and grades one (the
unit of work of every worker); ``local`` runs the workers; ``cluster`` runs them on Dask. Both
runners import ``submissions`` and ``warmup.prepare``, never each other's internals, so there is no
import cycle. Nothing below the batch imports it.
"""
