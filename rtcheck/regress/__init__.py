"""Baseline comparison of plan-check results (regression tests of plans and of rtcheck).

:mod:`~rtcheck.regress.compare` compares two results (:func:`compare_reports`);
:mod:`~rtcheck.regress.tolerances` says how far each kind of value may move;
:mod:`~rtcheck.regress.baseline` reads stored results; :mod:`~rtcheck.regress.folder`
checks a folder of plans and compares it with an audit's stored results;
:mod:`~rtcheck.regress.render_text` and :mod:`~rtcheck.regress.render_junit` render the
:class:`~rtcheck.regress.model.Comparison`. Used by ``rtcheck check --baseline`` and
``rtcheck regress``.
"""
