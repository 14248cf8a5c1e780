"""QA audits across sites: ``rtcheck audit`` (discover, check in parallel, resume, summarise).

Modules: :mod:`~rtcheck.audit.discover` (case folders and sites), :mod:`~.task`
(picklable tasks, input/config hashes), :mod:`~.worker` (one case, never raises),
:mod:`~.backends` (serial, process pool, dask.distributed), :mod:`~.anonymize` (keyed
hashes), :mod:`~.result_file` (the result envelope, atomic writes), :mod:`~.progress`,
:mod:`~.run` (the driver), :mod:`~.summary` (cross-site summary from the result files).
"""
