"""QA audits across sites: ``rtcheck audit`` (discover, check in parallel, resume, summarise).

Modules: :mod:`~rtcheck.audit.discover` (case folders and sites), :mod:`~.sites`
(pre-flight of the alias files), :mod:`~.task` (picklable tasks, input/config hashes),
:mod:`~.worker` (one case, never raises), :mod:`~.backends` (serial, process pool,
dask.distributed), :mod:`~.anonymize` (keyed hashes), :mod:`~.result_file` (the result
envelope, atomic writes, orphaned results), :mod:`~.manifest` (``audit.json``, what
``--resume`` checks), :mod:`~.lock` (one audit per output folder), :mod:`~.progress`,
:mod:`~.run` (the driver), :mod:`~.summary` (cross-site summary from the result files,
with :mod:`~.summary_metrics`, :mod:`~.summary_cases`, :mod:`~.summary_csv` and
:mod:`~.summary_html`), :mod:`~.geometry` (the DVH geometry model in ``audit.json``,
``audit.log`` and the summary).
"""
