"""Plan-side types of the data model: beams, prescription, plan and treatment records.

Doses are in Gy and metersets in MU, converted once by the loader
(:mod:`rtcheck.dicom.read_plan`, :mod:`rtcheck.dicom.read_record`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np


@dataclass(frozen=True)
class Beam:
    """One (ion) beam of a plan, with its fraction-group meterset."""

    number: int
    name: str
    beam_type: str
    radiation_type: str
    treatment_delivery_type: str
    machine: str
    energy: str
    meterset_mu: float | None
    beam_dose_gy: float | None
    control_points: int


@dataclass(frozen=True)
class Prescription:
    """The target prescription of a plan.

    ``total_dose_gy`` comes from DoseReferenceSequence TargetPrescriptionDose
    (PS3.3 C.8.8.10); ``fractions`` from FractionGroupSequence
    NumberOfFractionsPlanned (C.8.8.13).
    """

    total_dose_gy: float
    fractions: int
    site: str = ""

    def __post_init__(self) -> None:
        if not (self.total_dose_gy > 0 and np.isfinite(self.total_dose_gy)):
            raise ValueError(f"prescription dose must be positive, got {self.total_dose_gy}")
        if self.fractions < 1:
            raise ValueError(f"number of fractions must be >= 1, got {self.fractions}")

    @property
    def dose_per_fraction_gy(self) -> float:
        return self.total_dose_gy / self.fractions


@dataclass(frozen=True)
class Plan:
    """An RT (Ion) Plan."""

    sop_instance_uid: str
    label: str
    name: str
    approval_status: str
    is_ion: bool
    frame_of_reference_uid: str
    referenced_structure_set_uid: str
    prescription: Prescription | None
    fractions_planned: int | None
    beams: tuple[Beam, ...]
    fraction_pattern: str = ""
    patient_id: str = ""
    source_path: str = ""


@dataclass(frozen=True)
class DeliveredBeam:
    """A beam session of a treatment record; ``number`` and ``delivered_meterset_mu`` are
    ``None`` when the record does not state them (never a guessed 0)."""

    number: int | None
    name: str
    delivered_meterset_mu: float | None
    termination_status: str


@dataclass(frozen=True)
class TreatmentRecord:
    """One RT (Ion) Beams Treatment Record: a delivered fraction session.

    ``delivery_datetime`` is timezone-aware when the record carries a
    TimezoneOffsetFromUTC (0008,0201), naive otherwise.
    """

    sop_instance_uid: str
    referenced_plan_uid: str
    fraction_number: int | None
    delivery_datetime: datetime | None
    beams: tuple[DeliveredBeam, ...]
    source_path: str = ""
    patient_id: str = ""
