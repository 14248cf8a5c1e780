"""The evaluation layer: one case + one request → a slim, complete-or-flagged result.

Everything that decides whether a number may be reported as a result lives here,
below the reports and above the dose engine: prescription and fraction resolution
(:mod:`.prescription`), the dose policy (a FRACTION dose kept as stored), blocking
ERROR findings, and completeness (:mod:`.structure`, :mod:`.bounds`). ``dvh``,
``check`` and ``audit`` all call :func:`evaluate_case`; its result holds no dose
arrays or sample clouds, so it can be shipped between processes.
"""

from rtcheck.evaluate.case import CaseEvaluation, DoseSummary, evaluate_case
from rtcheck.evaluate.prescription import PrescriptionResolution, resolve_prescription
from rtcheck.evaluate.request import EvaluationRequest
from rtcheck.evaluate.structure import StructureEvaluation, StructureState

__all__ = [
    "CaseEvaluation",
    "DoseSummary",
    "EvaluationRequest",
    "PrescriptionResolution",
    "StructureEvaluation",
    "StructureState",
    "evaluate_case",
    "resolve_prescription",
]
