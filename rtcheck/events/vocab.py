"""Enumerated values of the MEDCARE patient-event file (``fixtures/cohort/README.md``).

Matched case-insensitively by the reader; re-exported by :mod:`rtcheck.events.schema`.
"""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    """The ``event_type`` column (see fixtures/cohort/README.md)."""

    REGISTRATION = "registration"
    RT_FRACTION = "rt_fraction"
    RT_END = "rt_end"
    METASTASECTOMY = "metastasectomy"
    NEST = "nest"
    PROGRESSION = "progression"
    DEATH = "death"
    LAST_FOLLOWUP = "last_followup"
    PSA = "psa"
    TESTOSTERONE = "testosterone"
    TOXICITY = "toxicity"
    COVARIATE = "covariate"
    IMAGING = "imaging"
    WITHDRAWAL = "withdrawal"
    LOST_TO_FOLLOWUP = "lost_to_followup"


class Modality(StrEnum):
    """Radiotherapy modality (protocol "Radiotherapy": SBRT; fractionated RT (local recurrence))."""

    SBRT = "SBRT"
    FRACTIONATED = "fractionated"
    RECORDS = "records"  #: a fraction read from an RT Beams Treatment Record (modality not stated)


class ProgressionSite(StrEnum):
    """Site of a clinical progression on conventional imaging (protocol "cPFS"; RECIST 1.1)."""

    LOCAL = "local"
    NODAL = "nodal"
    METASTATIC = "metastatic"


class DeathCause(StrEnum):
    """Cause of death: prostate cancer (CSS event), other (censors CSS) or unknown.

    ``unknown`` counts for CSS per the ``unknown_death_cause`` setting (default: an event,
    the conservative reading; see :class:`rtcheck.events.cohort.AnalysisConfig`).
    """

    PROSTATE_CANCER = "prostate_cancer"
    OTHER = "other"
    UNKNOWN = "unknown"


class NestReason(StrEnum):
    """Reason given with the tumour-board decision to start NEST (protocol "Primary endpoint")."""

    POLYPROGRESSION = "polyprogression"
    TREATED_LESION_PROGRESSION = "treated_lesion_progression"
    SYMPTOMATIC = "symptomatic"
    OTHER = "other"


class GradeSystem(StrEnum):
    """Toxicity grading: CTCAE v4.0 for radiotherapy, Clavien-Dindo (2004) for surgery."""

    CTCAE = "CTCAE_v4"
    CLAVIEN_DINDO = "Clavien-Dindo"




class ImagingModality(StrEnum):
    """Imaging of a response assessment.

    Protocol "Secondary endpoints" b.: progression is assessed on conventional imaging (CT and
    bone scan, RECIST 1.1) at months 6, 12, 18 and 24; 18F-PSMA PET-CT is investigational and
    blinded until progression, so it never censors or decides cPFS.
    """

    CONVENTIONAL = "conventional"
    PSMA = "PSMA"


class ImagingResult(StrEnum):
    """Result of an imaging assessment."""

    NO_PROGRESSION = "no_progression"
    PROGRESSION = "progression"


class SurgeryKind(StrEnum):
    """Kind of surgery of a ``metastasectomy`` row (protocol "Surgery")."""

    METASTASECTOMY = "metastasectomy"
    LYMPH_NODE_DISSECTION = "lymph_node_dissection"
