"""The start of follow-up for every MEDCARE endpoint.

Protocol, "Primary endpoint" and "Statistical analysis": endpoints are calculated
"from the last day of treatment in case of SBRT/fractionated radiotherapy or from
the day of metastasectomy". When a patient had both (course 1), rtcheck takes the
later of the two days and says so in ``TreatmentStart.description``. Only course 1
(the protocol MDT) counts; re-treatment courses (2, 3, ...) never move the start.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from rtcheck.events.schema import Metastasectomy, PatientEvents, Radiotherapy


@dataclass(frozen=True)
class TreatmentStart:
    """Start of follow-up for one patient.

    Attributes
    ----------
    start_date
        Day 0 of every endpoint.
    basis
        ``"radiotherapy"``, ``"metastasectomy"`` or ``"radiotherapy+metastasectomy"``.
    description
        One sentence stating which day was used and why.
    rt_last_day, rt_modality, rt_fractions
        Last day, modality and number of fraction rows of course-1 radiotherapy (None/0 if none).
    metastasectomy_date
        Day of the (latest) course-1 metastasectomy, or None.
    """

    start_date: date
    basis: str
    description: str
    rt_last_day: date | None = None
    rt_modality: str | None = None
    rt_fractions: int = 0
    metastasectomy_date: date | None = None


def treatment_start(patient: PatientEvents) -> TreatmentStart | None:
    """Return the start of follow-up, or ``None`` when there is no course-1 treatment."""
    rt = [e for e in patient.of(Radiotherapy) if e.course == 1]
    surgery = [e for e in patient.of(Metastasectomy) if e.course == 1]
    rt_last = max((e.event_date for e in rt), default=None)
    surgery_day = max((e.event_date for e in surgery), default=None)
    fractions = sum(1 for e in rt if not e.is_last_day)
    modalities = sorted({e.modality.value for e in rt})
    modality = "+".join(modalities) if modalities else None
    if rt_last is None and surgery_day is None:
        return None
    if rt_last is not None and surgery_day is None:
        return TreatmentStart(rt_last, "radiotherapy",
                              f"last day of {modality} radiotherapy ({rt_last})",
                              rt_last, modality, fractions)
    if rt_last is None and surgery_day is not None:
        return TreatmentStart(surgery_day, "metastasectomy",
                              f"day of metastasectomy ({surgery_day})",
                              metastasectomy_date=surgery_day)
    assert rt_last is not None and surgery_day is not None
    later = max(rt_last, surgery_day)
    which = "radiotherapy" if rt_last >= surgery_day else "metastasectomy"
    return TreatmentStart(
        later, "radiotherapy+metastasectomy",
        f"both radiotherapy (last day {rt_last}) and metastasectomy ({surgery_day}); "
        f"the later day ({which}, {later}) is used",
        rt_last, modality, fractions, surgery_day)
