"""Event types of the MEDCARE patient-event file, as frozen dataclasses.

Every event is valid from birth: ``__post_init__`` rejects values that a reader
would otherwise have to re-check. The reader (:mod:`rtcheck.events.reader`)
turns file rows into these objects and turns every ``ValueError`` into a
per-patient, per-row, per-field problem.

Constants
---------
``DAYS_PER_MONTH`` = 365.25 / 12 = 30.4375 days: durations in months are
``duration_days / DAYS_PER_MONTH`` everywhere in rtcheck.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date
from typing import ClassVar, TypeVar

from rtcheck.events.vocab import (
    DeathCause,
    EventType,
    GradeSystem,
    ImagingModality,
    ImagingResult,
    Modality,
    NestReason,
    ProgressionSite,
    SurgeryKind,
)

__all__ = [
    "DeathCause", "EventType", "GradeSystem", "ImagingModality", "ImagingResult", "Modality",
    "NestReason", "ProgressionSite", "SurgeryKind",
]

DAYS_PER_MONTH = 365.25 / 12  #: 30.4375 days, the mean Gregorian month

#: PSA units accepted as ng/mL (1 µg/L = 1 ng/mL).
PSA_UNITS = {u.casefold(): 1.0 for u in ("ng/mL", "ug/L", "µg/L", "μg/L")}  # µ: micro sign, μ: mu

#: Testosterone units: factor to ng/dL (1 nmol/L = 28.84 ng/dL).
TESTOSTERONE_TO_NG_DL = {"ng/dl": 1.0, "nmol/l": 28.84}


#: CTCAE v4.0 grades 1-5; Clavien-Dindo 2004 grades in order of severity.
CTCAE_GRADES = ("1", "2", "3", "4", "5")
CLAVIEN_DINDO_GRADES = ("I", "II", "IIIa", "IIIb", "IVa", "IVb", "V")


def grade_rank(system: GradeSystem, grade: str) -> int:
    """Return the ordinal rank (1 = mildest) of ``grade`` on ``system``."""
    grades = CTCAE_GRADES if system is GradeSystem.CTCAE else CLAVIEN_DINDO_GRADES
    if grade not in grades:
        raise ValueError(f"grade {grade!r} is not one of {', '.join(grades)} ({system.value})")
    return grades.index(grade) + 1


def _check_id(patient_id: str) -> None:
    if not isinstance(patient_id, str) or not patient_id.strip():
        raise ValueError("patient_id must be a non-empty string")


def _check_nonneg(value: float, name: str) -> None:
    if not (isinstance(value, int | float) and math.isfinite(value) and value >= 0):
        raise ValueError(f"{name} must be a finite number >= 0, got {value!r}")


@dataclass(frozen=True, kw_only=True)
class Event:
    """Base of every dated event.

    Attributes
    ----------
    patient_id
        The trial patient id (in ``--records`` mode, the DICOM PatientID).
    event_date
        Calendar date of the event.
    row
        Line number in the CSV file (entry number in YAML; 0 when not from a file).
    source
        ``"events"`` (the event file) or ``"records"`` (RT Beams Treatment Records).
    """

    kind: ClassVar[EventType]
    patient_id: str
    event_date: date
    row: int = 0
    source: str = "events"

    def __post_init__(self) -> None:
        _check_id(self.patient_id)
        if not isinstance(self.event_date, date):
            raise ValueError(f"event_date must be a date, got {self.event_date!r}")

    @property
    def label(self) -> str:
        """The ``event_type`` as written in the file."""
        return self.kind.value


@dataclass(frozen=True, kw_only=True)
class Registration(Event):
    """Registration / written informed consent (protocol "Inclusion criteria")."""

    kind: ClassVar[EventType] = EventType.REGISTRATION


@dataclass(frozen=True, kw_only=True)
class Radiotherapy(Event):
    """A radiotherapy fraction (``rt_fraction``) or the last day of radiotherapy (``rt_end``).

    ``course`` 1 is the protocol MDT; courses >= 2 are later re-treatments (allowed without
    NEST when <= 3 lesions progress, protocol "Primary endpoint") and never move the start.
    """

    kind: ClassVar[EventType] = EventType.RT_FRACTION
    modality: Modality
    is_last_day: bool = False
    course: int = 1

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "modality", Modality(self.modality))
        if self.course < 1:
            raise ValueError(f"course must be >= 1, got {self.course}")

    @property
    def label(self) -> str:
        return EventType.RT_END.value if self.is_last_day else EventType.RT_FRACTION.value


@dataclass(frozen=True, kw_only=True)
class Metastasectomy(Event):
    """Day of metastasectomy / lymph-node dissection (protocol "Surgery")."""

    kind: ClassVar[EventType] = EventType.METASTASECTOMY
    course: int = 1
    surgery: SurgeryKind | None = None  #: metastasectomy or lymph-node dissection (optional)

    def __post_init__(self) -> None:
        super().__post_init__()
        if self.course < 1:
            raise ValueError(f"course must be >= 1, got {self.course}")


@dataclass(frozen=True, kw_only=True)
class NestStart(Event):
    """First day of next-line systemic treatment, with the tumour-board reason.

    ``event_date`` is the first day of treatment (the NEST-FS event, protocol "Primary
    endpoint"); ``decision_date`` the tumour-board decision, reported only; ``drug`` the
    treatment as written in the CRF (denosumab alone is not NEST, protocol "Inclusion
    criteria": the reader reports and drops such rows).
    """

    kind: ClassVar[EventType] = EventType.NEST
    reason: NestReason
    drug: str = ""
    decision_date: date | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "reason", NestReason(self.reason))
        if self.decision_date is not None and self.decision_date > self.event_date:
            raise ValueError(f"decision_date {self.decision_date} is after the NEST start "
                             f"{self.event_date}")


@dataclass(frozen=True, kw_only=True)
class ClinicalProgression(Event):
    """Recurrence on conventional imaging (RECIST 1.1), date of the imaging."""

    kind: ClassVar[EventType] = EventType.PROGRESSION
    site: ProgressionSite

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "site", ProgressionSite(self.site))


@dataclass(frozen=True, kw_only=True)
class Death(Event):
    """Death, with its cause (prostate cancer or other)."""

    kind: ClassVar[EventType] = EventType.DEATH
    cause: DeathCause

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "cause", DeathCause(self.cause))


@dataclass(frozen=True, kw_only=True)
class LastFollowUp(Event):
    """Last date the patient was known alive (last visit or contact)."""

    kind: ClassVar[EventType] = EventType.LAST_FOLLOWUP


@dataclass(frozen=True, kw_only=True)
class OffStudy(Event):
    """The patient left the study: consent withdrawn (``withdrawal``) or lost to follow-up
    (``lost_to_followup``, dated on the last contact). Follow-up ends on this day; later rows
    are not used. Before the start of follow-up the patient is not analysed."""

    kind: ClassVar[EventType] = EventType.WITHDRAWAL
    lost: bool = False

    @property
    def label(self) -> str:
        return EventType.LOST_TO_FOLLOWUP.value if self.lost else EventType.WITHDRAWAL.value


@dataclass(frozen=True, kw_only=True)
class Imaging(Event):
    """An imaging assessment (protocol: conventional imaging at months 6, 12, 18, 24)."""

    kind: ClassVar[EventType] = EventType.IMAGING
    modality: ImagingModality
    result: ImagingResult

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "modality", ImagingModality(self.modality))
        object.__setattr__(self, "result", ImagingResult(self.result))


@dataclass(frozen=True, kw_only=True)
class PsaValue(Event):
    """A serum PSA value in ng/mL (µg/L accepted by the reader and stored as ng/mL).

    ``below_lod``: the laboratory reported the value as below a limit of detection
    (``<0.1``); ``psa_ng_ml`` then holds that limit and the true value is <= it
    (a left-censored value; how it enters the PSA endpoints: :mod:`rtcheck.events.psa`).
    """

    kind: ClassVar[EventType] = EventType.PSA
    psa_ng_ml: float
    below_lod: bool = False

    @property
    def shown(self) -> str:
        """The value as a laboratory writes it: ``4.2`` or ``<0.1``."""
        return f"{'<' if self.below_lod else ''}{self.psa_ng_ml:g}"

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonneg(self.psa_ng_ml, "psa_ng_ml")


@dataclass(frozen=True, kw_only=True)
class TestosteroneValue(Event):
    """A serum testosterone value, kept in its reported unit (ng/dL or nmol/L)."""

    kind: ClassVar[EventType] = EventType.TESTOSTERONE
    value: float
    unit: str

    def __post_init__(self) -> None:
        super().__post_init__()
        _check_nonneg(self.value, "testosterone value")
        if self.unit.casefold() not in TESTOSTERONE_TO_NG_DL:
            raise ValueError(f"testosterone unit must be ng/dL or nmol/L, got {self.unit!r}")

    @property
    def testosterone_ng_dl(self) -> float:
        """The value converted to ng/dL (1 nmol/L = 28.84 ng/dL)."""
        return self.value * TESTOSTERONE_TO_NG_DL[self.unit.casefold()]


@dataclass(frozen=True, kw_only=True)
class Toxicity(Event):
    """An adverse event: ``event_date`` is the onset, ``resolution_date`` the end (None: ongoing).

    Graded with CTCAE v4.0 (radiotherapy) or Clavien-Dindo 2004 (surgery).
    """

    kind: ClassVar[EventType] = EventType.TOXICITY
    term: str
    grade: str
    grade_system: GradeSystem
    resolution_date: date | None = None

    def __post_init__(self) -> None:
        super().__post_init__()
        object.__setattr__(self, "grade_system", GradeSystem(self.grade_system))
        if not self.term.strip():
            raise ValueError("toxicity term must not be empty")
        grade_rank(self.grade_system, self.grade)
        if self.resolution_date is not None and self.resolution_date < self.event_date:
            raise ValueError(
                f"resolution_date {self.resolution_date} is before the onset {self.event_date}"
            )

    @property
    def rank(self) -> int:
        """Ordinal grade (1 = mildest) on this event's grading system."""
        return grade_rank(self.grade_system, self.grade)


@dataclass(frozen=True)
class Covariate:
    """A per-patient baseline covariate for regression and eligibility (not dated)."""

    patient_id: str
    name: str
    value: float
    row: int = 0

    def __post_init__(self) -> None:
        _check_id(self.patient_id)
        if not self.name or not self.name.replace("_", "").isalnum():
            raise ValueError(f"covariate name must be letters, digits and _, got {self.name!r}")
        if not math.isfinite(self.value):
            raise ValueError(f"covariate value must be finite, got {self.value!r}")


E = TypeVar("E", bound=Event)


@dataclass(frozen=True)
class PatientEvents:
    """Everything known about one patient, events sorted by date then row."""

    patient_id: str
    events: tuple[Event, ...]
    covariates: tuple[Covariate, ...] = ()

    def __post_init__(self) -> None:
        _check_id(self.patient_id)
        ordered = tuple(sorted(self.events, key=lambda e: (e.event_date, e.row)))
        object.__setattr__(self, "events", ordered)

    def of(self, cls: type[E]) -> list[E]:
        """Events of one class, in date order."""
        return [e for e in self.events if isinstance(e, cls)]

    def covariate(self, name: str) -> float | None:
        """The value of covariate ``name``, or ``None`` when absent."""
        for c in self.covariates:
            if c.name == name:
                return c.value
        return None
