"""``--records``: treatment dates from RT Beams Treatment Records built here with pydicom."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from rtcheck.cli import cli
from rtcheck.events import load_cohort
from rtcheck.events.start import treatment_start
from tests.events_helpers import row, write_events

RT_BEAMS_TREATMENT_RECORD = "1.2.840.10008.5.1.4.1.1.481.4"


def write_record(folder: Path, patient_id: str, day: str, time: str, fraction: int,
                 top_level_date: bool = True, tz: str | None = None) -> Path:
    """A minimal RT Beams Treatment Record for one fraction session."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = RT_BEAMS_TREATMENT_RECORD
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = Dataset()
    ds.file_meta = meta
    ds.SOPClassUID = RT_BEAMS_TREATMENT_RECORD
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.Modality = "RTRECORD"
    ds.PatientID = patient_id
    ds.PatientName = "Test^Patient"
    if tz:
        ds.TimezoneOffsetFromUTC = tz
    if top_level_date:
        ds.TreatmentDate = day
        ds.TreatmentTime = time
    plan = Dataset()
    plan.ReferencedSOPClassUID = "1.2.840.10008.5.1.4.1.1.481.5"
    plan.ReferencedSOPInstanceUID = "1.2.3.4.5"
    ds.ReferencedRTPlanSequence = [plan]
    session = Dataset()
    session.ReferencedBeamNumber = 1
    session.CurrentFractionNumber = fraction
    session.TreatmentTerminationStatus = "NORMAL"
    point = Dataset()
    point.TreatmentControlPointDate = day
    point.TreatmentControlPointTime = time
    point.DeliveredMeterset = 1200.0
    session.ControlPointDeliverySequence = [point]
    ds.TreatmentSessionBeamSequence = [session]
    path = folder / f"RT_{patient_id}_{fraction}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path


@pytest.fixture
def case(tmp_path):
    records = tmp_path / "records"
    records.mkdir()
    # Mon/Wed/Fri fractions for R1; the last one only in the beam session (no top-level date).
    write_record(records, "R1", "20200302", "091500", 1)
    write_record(records, "R1", "20200304", "093000", 2)
    write_record(records, "R1", "20200306", "090000", 3, top_level_date=False)
    write_record(records, "ZZ9", "20200306", "100000", 1)  # not in the event file
    events = write_events(tmp_path / "e.csv", [
        row("R1", "registration", "2020-02-03"),
        row("R1", "rt_end", "2020-03-05", modality="SBRT"),  # disagrees with the records
        row("R1", "last_followup", "2021-03-01"),
        row("R2", "registration", "2020-02-03"),
        row("R2", "metastasectomy", "2020-03-10"),
        row("R2", "last_followup", "2021-03-01"),
    ])
    return events, records


def test_records_give_the_last_delivered_fraction(case):
    events, records = case
    cohort = load_cohort(events, date(2022, 1, 1), [records])
    r1 = next(p for p in cohort.patients if p.patient_id == "R1")
    start = treatment_start(r1)
    assert start is not None
    assert start.start_date == date(2020, 3, 6)
    assert start.rt_fractions == 3
    codes = {(f.code, f.subject) for f in cohort.findings}
    assert ("RECORDS_UNKNOWN_PATIENT", "ZZ9") in codes
    assert ("RT_END_MISMATCH", "R1") in codes


def test_records_through_the_cli(case):
    events, records = case
    result = CliRunner().invoke(cli, ["endpoints", str(events), "--cutoff", "2022-01-01",
                                      "--records", str(records), "--format", "csv"])
    assert result.exit_code == 0, result.stderr
    lines = [ln.split(",") for ln in result.stdout.splitlines()[1:]]
    r1_os = next(ln for ln in lines if ln[0] == "R1" and ln[1] == "os")
    assert r1_os[2] == "2020-03-06" and r1_os[4] == "2021-03-01" and r1_os[5] == "360"
    assert "RT_END_MISMATCH" in result.stderr and "RECORDS_UNKNOWN_PATIENT" in result.stderr


def test_record_date_keeps_the_local_day_with_timezone(tmp_path):
    records = tmp_path / "r"
    records.mkdir()
    write_record(records, "T1", "20200306", "233000", 1, tz="+0100")
    events = write_events(tmp_path / "e.csv", [row("T1", "registration", "2020-02-03"),
                                               row("T1", "last_followup", "2020-06-01")])
    cohort = load_cohort(events, date(2021, 1, 1), [records])
    start = treatment_start(cohort.patients[0])
    assert start is not None and start.start_date == date(2020, 3, 6)
