"""The registry of finding codes: every code, its allowed severities and its meaning.

Every :class:`~rtcheck.findings.Finding` carries one of the codes of :class:`Code`;
:class:`~rtcheck.findings.Finding` refuses a code that is not registered here and a
severity that its code does not allow. To add a code, add a member to :class:`Code`
and an entry to :data:`CODE_INFO`, then regenerate the README table
(``python -m rtcheck.code_table`` prints it; ``tests/test_codes.py`` checks that the README
and this module agree).

:class:`Severity`, :class:`CodeInfo` and the domains are defined in
:mod:`rtcheck.code_model` and re-exported here (and :class:`Severity` by
:mod:`rtcheck.findings`); ``findings`` imports ``codes``, never the reverse.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum
from types import MappingProxyType

from rtcheck.code_model import DOMAINS, CodeInfo, Domain, Severity, severity_text

__all__ = [
    "CODE_INFO",
    "DOMAINS",
    "Code",
    "CodeInfo",
    "Domain",
    "Severity",
    "severity_text",
]


class Code(StrEnum):
    """Every finding code of rtcheck (member name == value)."""

    # --- loader (rtcheck.dicom) ---
    NO_FILE_META = "NO_FILE_META"
    DUPLICATE_SOP_INSTANCE = "DUPLICATE_SOP_INSTANCE"
    DUPLICATE_FILE = "DUPLICATE_FILE"
    LINK_STRUCTURE_SET_MISSING = "LINK_STRUCTURE_SET_MISSING"
    LINK_BY_FRAME_OF_REFERENCE = "LINK_BY_FRAME_OF_REFERENCE"
    LINK_PLAN_MISSING = "LINK_PLAN_MISSING"
    LINK_RECORD_PLAN_MISSING = "LINK_RECORD_PLAN_MISSING"
    RECORD_BEAM_INCOMPLETE = "RECORD_BEAM_INCOMPLETE"
    RECORD_BEAMS_MISSING = "RECORD_BEAMS_MISSING"
    LINK_AMBIGUOUS = "LINK_AMBIGUOUS"
    FOR_MISMATCH = "FOR_MISMATCH"
    PATIENT_ID_MISMATCH = "PATIENT_ID_MISMATCH"
    DOSE_MISSING = "DOSE_MISSING"
    DOSE_AMBIGUOUS = "DOSE_AMBIGUOUS"
    DOSE_BEAMS_SUMMED = "DOSE_BEAMS_SUMMED"
    DOSE_BEAM_MISSING = "DOSE_BEAM_MISSING"
    DOSE_BEAM_CROSSCHECK = "DOSE_BEAM_CROSSCHECK"
    DOSE_BEAM_GRIDS_DIFFER = "DOSE_BEAM_GRIDS_DIFFER"
    DOSE_FRACTION_SCALED = "DOSE_FRACTION_SCALED"
    DOSE_FRACTION_NOT_SCALED = "DOSE_FRACTION_NOT_SCALED"
    DOSE_MULTI_PLAN = "DOSE_MULTI_PLAN"
    DOSE_SUMMATION_UNSUPPORTED = "DOSE_SUMMATION_UNSUPPORTED"
    PRESCRIPTION_MISSING = "PRESCRIPTION_MISSING"
    FRACTIONS_MISSING = "FRACTIONS_MISSING"
    PRESCRIPTION_MULTIPLE = "PRESCRIPTION_MULTIPLE"
    BEAM_WITHOUT_METERSET = "BEAM_WITHOUT_METERSET"
    ROI_WITHOUT_CONTOURS = "ROI_WITHOUT_CONTOURS"
    STRUCTURE_NAME_DUPLICATE = "STRUCTURE_NAME_DUPLICATE"
    CONTOUR_IGNORED = "CONTOUR_IGNORED"
    EMBEDDED_DVH_SKIPPED = "EMBEDDED_DVH_SKIPPED"

    # --- dose (rtcheck.dose, rtcheck dvh) ---
    STRUCTURE_EMPTY = "STRUCTURE_EMPTY"
    STRUCTURE_IS_POINT = "STRUCTURE_IS_POINT"
    STRUCTURE_ZERO_VOLUME = "STRUCTURE_ZERO_VOLUME"
    STRUCTURE_OUTSIDE_DOSE_GRID = "STRUCTURE_OUTSIDE_DOSE_GRID"
    STRUCTURE_CONTOUR_GAP = "STRUCTURE_CONTOUR_GAP"
    STRUCTURE_SINGLE_PLANE = "STRUCTURE_SINGLE_PLANE"
    STRUCTURE_CONTOURS_CROSS = "STRUCTURE_CONTOURS_CROSS"
    STRUCTURE_GEOMETRY_FALLBACK = "STRUCTURE_GEOMETRY_FALLBACK"
    STRUCTURE_NOT_FOUND = "STRUCTURE_NOT_FOUND"
    DVH_NOT_COMPUTED = "DVH_NOT_COMPUTED"
    DVH_FRACTION_DOSE_AS_STORED = "DVH_FRACTION_DOSE_AS_STORED"
    DVH_RX_NOT_APPLICABLE = "DVH_RX_NOT_APPLICABLE"
    INDICES_NOT_EVALUATED = "INDICES_NOT_EVALUATED"
    INDICES_NO_PRESCRIPTION = "INDICES_NO_PRESCRIPTION"
    INDEX_TARGET_OUTSIDE_GRID = "INDEX_TARGET_OUTSIDE_GRID"
    INDEX_ISODOSE_OUTSIDE_GRID = "INDEX_ISODOSE_OUTSIDE_GRID"
    INDEX_TARGET_VOLUME_MISMATCH = "INDEX_TARGET_VOLUME_MISMATCH"
    INDEX_BODY_EMPTY = "INDEX_BODY_EMPTY"
    DOSE_GRID_COARSE = "DOSE_GRID_COARSE"
    DOSE_GRID_ABOVE_2MM = "DOSE_GRID_ABOVE_2MM"
    TPS_DVH_DIFFERENCE = "TPS_DVH_DIFFERENCE"
    TPS_DVH_DECLARED_INCONSISTENT = "TPS_DVH_DECLARED_INCONSISTENT"
    TPS_DVH_EMPTY = "TPS_DVH_EMPTY"
    TPS_DVH_NOT_COMPARED = "TPS_DVH_NOT_COMPARED"

    # --- events (rtcheck endpoints) ---
    UNKNOWN_COLUMN = "UNKNOWN_COLUMN"
    DUPLICATE_ROW = "DUPLICATE_ROW"
    PROGRESSION_BEFORE_START = "PROGRESSION_BEFORE_START"
    NO_LAST_FOLLOWUP = "NO_LAST_FOLLOWUP"
    EVENTS_AFTER_CUTOFF = "EVENTS_AFTER_CUTOFF"
    RECORDS_NO_DATE = "RECORDS_NO_DATE"
    RECORDS_UNKNOWN_PATIENT = "RECORDS_UNKNOWN_PATIENT"
    RT_END_MISMATCH = "RT_END_MISMATCH"
    PSA_NOTE = "PSA_NOTE"
    START_BOTH_TREATMENTS = "START_BOTH_TREATMENTS"
    ENDPOINT_NOT_EVALUABLE = "ENDPOINT_NOT_EVALUABLE"
    COX_NOT_ESTIMABLE = "COX_NOT_ESTIMABLE"
    COX_NOT_CONVERGED = "COX_NOT_CONVERGED"
    COX_MISSING_COVARIATE = "COX_MISSING_COVARIATE"
    PSA_BELOW_LOD = "PSA_BELOW_LOD"
    PATIENT_EXCLUDED = "PATIENT_EXCLUDED"
    PATIENT_NOT_EVALUABLE = "PATIENT_NOT_EVALUABLE"
    NO_REGISTRATION = "NO_REGISTRATION"
    EVENTS_AFTER_OFF_STUDY = "EVENTS_AFTER_OFF_STUDY"
    CPFS_NO_IMAGING = "CPFS_NO_IMAGING"
    IMAGING_PROGRESSION_NOT_RECORDED = "IMAGING_PROGRESSION_NOT_RECORDED"
    NEST_WITHOUT_PROGRESSION = "NEST_WITHOUT_PROGRESSION"
    NEST_NOT_SYSTEMIC = "NEST_NOT_SYSTEMIC"
    DEATH_CAUSE_UNKNOWN = "DEATH_CAUSE_UNKNOWN"
    DATE_IMPUTED = "DATE_IMPUTED"

    # --- check (protocol plan check; DOSE_IMPLAUSIBLE is also raised by the loader) ---
    DOSE_IMPLAUSIBLE = "DOSE_IMPLAUSIBLE"
    GRID_BOUNDARY_ASSUMED = "GRID_BOUNDARY_ASSUMED"
    RX_FROM_COMMAND_LINE = "RX_FROM_COMMAND_LINE"
    SPACING_PENDING = "SPACING_PENDING"
    SPACING_TIMEZONE_UNKNOWN = "SPACING_TIMEZONE_UNKNOWN"
    FRACTION_NOT_COMPLETED = "FRACTION_NOT_COMPLETED"
    CHECK_BLOCKED = "CHECK_BLOCKED"
    COVERAGE_OAR_PRIORITY = "COVERAGE_OAR_PRIORITY"


_I, _W, _E = Severity.INFO, Severity.WARNING, Severity.ERROR


def _info(severities: tuple[Severity, ...], domain: Domain, meaning: str) -> CodeInfo:
    return CodeInfo(severities, domain, meaning)


_LOADER: dict[Code, CodeInfo] = {
    Code.NO_FILE_META: _info(
        (_W,), "loader", "file without DICOM File Meta Information; read with force"),
    Code.DUPLICATE_SOP_INSTANCE: _info(
        (_E,), "loader",
        "one SOPInstanceUID in files with different content (only the first is used)"),
    Code.DUPLICATE_FILE: _info((_I,), "loader", "identical copies of a file, ignored"),
    Code.LINK_STRUCTURE_SET_MISSING: _info(
        (_E,), "loader", "the plan's structure set is not in the input"),
    Code.LINK_BY_FRAME_OF_REFERENCE: _info(
        (_W,), "loader", "plan paired with a structure set by frame of reference only"),
    Code.LINK_PLAN_MISSING: _info(
        (_W,), "loader", "a dose references a plan that is not in the input"),
    Code.LINK_RECORD_PLAN_MISSING: _info(
        (_W,), "loader", "a treatment record references a plan that is not in the input"),
    Code.RECORD_BEAM_INCOMPLETE: _info(
        (_W,), "loader",
        "a treatment-record beam session without ReferencedBeamNumber or without the last "
        "control point's DeliveredMeterset: that value is unknown, never guessed"),
    Code.RECORD_BEAMS_MISSING: _info(
        (_W,), "loader",
        "a treatment record delivers fewer of the plan's treatment beams than the plan has "
        "(a partial fraction or an incomplete export)"),
    Code.LINK_AMBIGUOUS: _info(
        (_E,), "loader", "several structure sets could pair with a plan-less dose"),
    Code.FOR_MISMATCH: _info(
        (_E,), "loader",
        "plan, dose and structures (or BEAM doses) are in different frames of reference; "
        "a dose that cannot be overlaid on the structures is not used"),
    Code.PATIENT_ID_MISMATCH: _info(
        (_W,), "loader", "linked objects carry different PatientIDs"),
    Code.DOSE_MISSING: _info((_W,), "loader", "a plan without any RTDOSE"),
    Code.DOSE_AMBIGUOUS: _info(
        (_E,), "loader",
        "several plan-level (or fraction) doses for one plan, several BEAM doses for one "
        "beam, or a BEAM dose for a beam the plan does not have; none is used"),
    Code.DOSE_BEAMS_SUMMED: _info((_I,), "loader", "plan dose built from BEAM doses"),
    Code.DOSE_BEAM_MISSING: _info(
        (_E,), "loader", "a treatment beam has no dose (the incomplete sum is not used)"),
    Code.DOSE_BEAM_CROSSCHECK: _info(
        (_I, _W), "loader",
        "max difference between the PLAN dose and the sum of BEAM doses "
        "(WARNING above 1 % of the maximum)"),
    Code.DOSE_BEAM_GRIDS_DIFFER: _info(
        (_W,), "loader", "beam doses resampled onto a common grid"),
    Code.DOSE_FRACTION_SCALED: _info(
        (_I,), "loader", "FRACTION dose × the planned number of fractions"),
    Code.DOSE_FRACTION_NOT_SCALED: _info(
        (_W,), "loader",
        "FRACTION dose kept per fraction, as stored (no plan gives the number of fractions)"),
    Code.DOSE_MULTI_PLAN: _info(
        (_W,), "loader", "a MULTI_PLAN summation dose, checked as-is as the plan dose"),
    Code.DOSE_SUMMATION_UNSUPPORTED: _info(
        (_W,), "loader", "an RTDOSE of a DoseSummationType rtcheck does not use; not used"),
    Code.PRESCRIPTION_MISSING: _info((_W,), "loader", "no target prescription"),
    Code.FRACTIONS_MISSING: _info((_W,), "loader", "no number of fractions"),
    Code.PRESCRIPTION_MULTIPLE: _info(
        (_I,), "loader", "several target prescriptions; the highest is used"),
    Code.BEAM_WITHOUT_METERSET: _info(
        (_I,), "loader", "a treatment beam without MU (e.g. an imaging field)"),
    Code.ROI_WITHOUT_CONTOURS: _info((_I,), "loader", "an ROI declared without contours"),
    Code.STRUCTURE_NAME_DUPLICATE: _info((_W,), "loader", "two ROIs share a name"),
    Code.CONTOUR_IGNORED: _info(
        (_W, _E), "loader",
        "open or fewer-than-3-point contours skipped (WARNING); a non-axial contour, or a "
        "ROI in another frame of reference, makes the whole ROI unused (ERROR). A "
        "ContourData that is not (x, y, z) triplets of finite numbers is a corrupt file: "
        "exit 3"),
    Code.EMBEDDED_DVH_SKIPPED: _info(
        (_I,), "loader",
        "a TPS DVH rtcheck cannot compare (units other than GY/CM3, unsupported DVHType, "
        "unreadable data); not used"),
}

_DOSE: dict[Code, CodeInfo] = {
    Code.STRUCTURE_EMPTY: _info((_E,), "dose", "the ROI has no contours: no DVH"),
    Code.STRUCTURE_IS_POINT: _info(
        (_E,), "dose", "a POINT ROI (marker) has no volume: no DVH"),
    Code.STRUCTURE_ZERO_VOLUME: _info(
        (_E,), "dose", "the contours enclose no volume: no DVH"),
    Code.STRUCTURE_OUTSIDE_DOSE_GRID: _info(
        (_E,), "dose",
        "part of the structure lies more than half a voxel outside the dose grid: every "
        "metric of it is NOT EVALUATED"),
    Code.STRUCTURE_CONTOUR_GAP: _info(
        (_W,), "dose",
        "a plane spacing above 1.5 × the median is a gap: both parts get their own end caps"),
    Code.STRUCTURE_SINGLE_PLANE: _info(
        (_W,), "dose", "a structure contoured on one plane: a slab thickness is assumed"),
    Code.STRUCTURE_CONTOURS_CROSS: _info(
        (_W,), "dose",
        "contours cross themselves or each other: the even-odd area is used; check them"),
    Code.STRUCTURE_GEOMETRY_FALLBACK: _info(
        (_I,), "dose",
        "--geometry smooth: part of the structure is modelled as the staircase (contours "
        "that are not star-shaped about their centroid, or linked to no contour on a "
        "neighbouring plane)"),
    Code.STRUCTURE_NOT_FOUND: _info(
        (_E,), "dose", "no structure of the requested name (--structure or --target)"),
    Code.DVH_NOT_COMPUTED: _info(
        (_E,), "dose", "a case without an RTDOSE or an RTSTRUCT: no DVH"),
    Code.DVH_FRACTION_DOSE_AS_STORED: _info(
        (_W,), "dose",
        "a FRACTION dose without a number of fractions: DVHs are of the dose as stored"),
    Code.DVH_RX_NOT_APPLICABLE: _info(
        (_W,), "dose",
        "the plan's total prescription is not applied to a single-FRACTION dose: % of Rx is "
        "NOT EVALUATED"),
    Code.INDICES_NOT_EVALUATED: _info(
        (_W,), "dose", "plan-quality indices not computed: the input has ERROR findings"),
    Code.INDICES_NO_PRESCRIPTION: _info(
        (_W,), "dose", "plan-quality indices need a prescription dose (plan or --rx-gy)"),
    Code.INDEX_TARGET_OUTSIDE_GRID: _info(
        (_E,), "dose", "a target that extends beyond the dose grid gets no indices"),
    Code.INDEX_ISODOSE_OUTSIDE_GRID: _info(
        (_W,), "dose",
        "an isodose (PIV, PIV50) or the D2cm candidate reaches an outer face of the grid: "
        "those indices are NOT EVALUATED"),
    Code.INDEX_TARGET_VOLUME_MISMATCH: _info(
        (_W,), "dose",
        "the lattice target volume differs from the contour volume by more than 5 %"),
    Code.INDEX_BODY_EMPTY: _info(
        (_W,), "dose", "the Body/EXTERNAL structure has no contours: PIV counts the whole grid"),
    Code.DOSE_GRID_COARSE: _info(
        (_W,), "dose",
        "equivalent-sphere diameter below 3 × the largest grid spacing: the DVH depends "
        "strongly on interpolation (rtcheck heuristic)"),
    Code.DOSE_GRID_ABOVE_2MM: _info(
        (_I,), "dose",
        "grid spacing of an SBRT target above the 2 mm AAPM TG-101 recommends"),
    Code.TPS_DVH_DIFFERENCE: _info(
        (_W,), "dose",
        "rtcheck and the TPS DVH differ by more than 5 % of the volume (≥ 0.1 cc) or 3 % of "
        "a dose (≥ 0.1 Gy)"),
    Code.TPS_DVH_DECLARED_INCONSISTENT: _info(
        (_I,), "dose",
        "the declared TPS DVH minimum/mean/maximum do not match the TPS curve (e.g. % of Rx)"),
    Code.TPS_DVH_EMPTY: _info((_I,), "dose", "the TPS DVH holds no volume; nothing to compare"),
    Code.TPS_DVH_NOT_COMPARED: _info(
        (_I,), "dose", "rtcheck has no (whole) DVH of this structure; TPS DVH not compared"),
}

_EVENTS: dict[Code, CodeInfo] = {
    Code.UNKNOWN_COLUMN: _info(
        (_W,), "events", "event-file columns that are not part of the format, ignored"),
    Code.DUPLICATE_ROW: _info(
        (_W,), "events", "an event row repeats an earlier row exactly; counted once"),
    Code.PROGRESSION_BEFORE_START: _info(
        (_W,), "events",
        "a progression on or before the start: the qualifying progression, not a cPFS event"),
    Code.NO_LAST_FOLLOWUP: _info(
        (_W,), "events",
        "no 'last_followup' row: censoring uses the latest dated event of the patient"),
    Code.EVENTS_AFTER_CUTOFF: _info(
        (_I,), "events",
        "events after the cut-off are not used (the patient is censored at the cut-off)"),
    Code.RECORDS_NO_DATE: _info(
        (_W,), "events", "a treatment record without Treatment Date: not used"),
    Code.RECORDS_UNKNOWN_PATIENT: _info(
        (_W,), "events",
        "treatment records whose PatientID matches no patient_id of the event file: not used"),
    Code.RT_END_MISMATCH: _info(
        (_W,), "events",
        "an rt_end row differs from the last delivered fraction of the RT records; the later "
        "day is used"),
    Code.PSA_NOTE: _info(
        (_I,), "events",
        "a note of the PSA endpoints (unconfirmed decline or rise, values not used...)"),
    Code.START_BOTH_TREATMENTS: _info(
        (_I,), "events", "the start of follow-up is based on radiotherapy and metastasectomy"),
    Code.ENDPOINT_NOT_EVALUABLE: _info(
        (_W,), "events", "no patient can be evaluated for this endpoint"),
    Code.COX_NOT_ESTIMABLE: _info(
        (_W,), "events",
        "a Cox model with fewer than 2 events or a covariate that does not vary: not fitted"),
    Code.COX_NOT_CONVERGED: _info(
        (_W,), "events", "a Cox model did not converge: reported, not dropped silently"),
    Code.COX_MISSING_COVARIATE: _info(
        (_W,), "events",
        "patients without every covariate were left out of the multivariate Cox model"),
    Code.PSA_BELOW_LOD: _info(
        (_I,), "events",
        "a PSA value below its row's limit of detection ('lod') is used as '<lod' (censored low)"),
    Code.PATIENT_EXCLUDED: _info(
        (_W,), "events",
        "a patient is not analysed (not treated, off study before the start, or started after "
        "the cut-off): named with the reason"),
    Code.PATIENT_NOT_EVALUABLE: _info(
        (_W,), "events",
        "a patient is not evaluable for one endpoint (e.g. no PSA after the start): left out of "
        "that endpoint's estimate, with the reason"),
    Code.NO_REGISTRATION: _info(
        (_W,), "events",
        "no 'registration' row: the first treatment day stands in for it; events before it "
        "are not checked against registration"),
    Code.EVENTS_AFTER_OFF_STUDY: _info(
        (_W,), "events",
        "rows dated after a withdrawal or loss to follow-up: not used for endpoints"),
    Code.CPFS_NO_IMAGING: _info(
        (_W,), "events",
        "no conventional imaging without progression after the start: cPFS is censored at the "
        "start (day 0)"),
    Code.IMAGING_PROGRESSION_NOT_RECORDED: _info(
        (_W,), "events",
        "an imaging row says progression but no 'progression' row has that date: not a cPFS "
        "event until a 'progression' row is added"),
    Code.NEST_WITHOUT_PROGRESSION: _info(
        (_W,), "events",
        "NEST started for (poly)progression without a progression after the start on or "
        "before that day (protocol: diagnosed on conventional imaging)"),
    Code.NEST_NOT_SYSTEMIC: _info(
        (_W,), "events",
        "a 'nest' row whose drug is denosumab alone: not next-line systemic treatment "
        "(protocol), not used"),
    Code.DEATH_CAUSE_UNKNOWN: _info(
        (_W,), "events",
        "death of unknown cause: a CSS event or censored, per --unknown-death-cause"),
    Code.DATE_IMPUTED: _info(
        (_W,), "events",
        "a partial date (YYYY-MM or YYYY) was imputed (day 15; 1 July when the month is "
        "missing)"),
}

_CHECK: dict[Code, CodeInfo] = {
    Code.DOSE_IMPLAUSIBLE: _info(
        (_E,), "loader",
        "the dose grid's maximum is above 1000 Gy (an encoding error such as a huge "
        "DoseGridScaling, not a dose): every check that uses the dose is NOT EVALUATED"),
    Code.GRID_BOUNDARY_ASSUMED: _info(
        (_W,), "check",
        "an OAR extends beyond the dose grid: the check assumes no dose outside the grid "
        "exceeds the highest dose on the crossed grid faces"),
    Code.RX_FROM_COMMAND_LINE: _info(
        (_I, _W), "check",
        "the prescription was given on the command line (--rx), not read from the plan "
        "(WARNING when it differs from the plan's)"),
    Code.SPACING_PENDING: _info(
        (_I,), "check",
        "no (or not all) treatment records yet: fraction spacing is pending"),
    Code.SPACING_TIMEZONE_UNKNOWN: _info(
        (_W,), "check",
        "treatment times without a timezone offset: gaps near a limit cannot be trusted "
        "across a DST change"),
    Code.FRACTION_NOT_COMPLETED: _info(
        (_W,), "check", "a treatment record's delivery did not terminate NORMAL"),
    Code.CHECK_BLOCKED: _info((_E,), "check", "an ERROR finding of the input blocks this check"),
    Code.COVERAGE_OAR_PRIORITY: _info(
        (_I,), "check",
        "PTV coverage is short while a higher-priority OAR limit is binding "
        "(protocol: OAR constraints have priority)"),
}

#: Every code's allowed severities, domain and one-line meaning.
CODE_INFO: Mapping[Code, CodeInfo] = MappingProxyType({**_LOADER, **_DOSE, **_EVENTS, **_CHECK})

_unregistered = [c.value for c in Code if c not in CODE_INFO]
if _unregistered:  # pragma: no cover - a programming error caught at import
    raise RuntimeError(f"codes without CODE_INFO in rtcheck/codes.py: {_unregistered}")
