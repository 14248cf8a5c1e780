"""Adversarial robustness of ``rtcheck info`` and ``rtcheck dvh`` on corrupted DICOM.

Mutated copies (in ``tmp_path``) of the shipped synthetic plan ``fixtures/spine_sbrt``
(and the two-beam-dose variant ``fixtures/spine_beam_doses``):

* truncation of every file in its header, inside a sequence and inside the pixel data,
  and exactly between two top-level elements (a valid, shorter data set for pydicom);
* deterministic random byte flips (``numpy.random.default_rng(seed)``, fixed seeds);
* semantic mutations written with pydicom (odd values of the attributes rtcheck reads),
  each with the exact behaviour expected (code, field named in the message);
* three mutants in a real ``python -m rtcheck`` process, where pydicom's own warnings
  and log lines would otherwise reach stderr.

The contract (README, "Exit codes"; the project's safety rule): bad input gives exit
code 3 and a one-line ``rtcheck: error:`` naming the file, the field and what to do —
never exit 4 (internal error) and never a traceback. A wrong number is worse than an
error, so every semantic mutation also states what must happen to it.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pydicom
import pytest
from click.testing import CliRunner, Result
from pydicom import config as pydicom_config
from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset
from pydicom.filereader import _read_file_meta_info, data_element_generator
from pydicom.tag import Tag

from rtcheck.cli import cli
from tests.conftest import FIXTURES

SPINE = FIXTURES / "spine_sbrt"
BEAM_DOSES = FIXTURES / "spine_beam_doses"
SPINE_FILES = ("RS.dcm", "RP.dcm", "RD.dcm", "RT1.dcm", "RT2.dcm", "RT3.dcm")
DVH_ARGS = ("--no-indices", "--structure", "SpinalCord")
FLIPS_PER_FILE = 30

# Tags (little endian) of a sequence rtcheck reads in each file, to truncate inside it.
_SEQUENCE_TAG = {
    "RS.dcm": b"\x06\x30\x39\x00",  # ROIContourSequence (3006,0039)
    "RP.dcm": b"\x0a\x30\xb0\x00",  # BeamSequence (300A,00B0)
    "RD.dcm": b"\x0c\x30\x02\x00",  # ReferencedRTPlanSequence (300C,0002)
    "RT1.dcm": b"\x08\x30\x20\x00",  # TreatmentSessionBeamSequence (3008,0020)
    "RT2.dcm": b"\x08\x30\x20\x00",
    "RT3.dcm": b"\x08\x30\x20\x00",
}
_PIXEL_DATA_TAG = b"\xe0\x7f\x10\x00"  # (7FE0,0010)

# exit-3 messages of `dvh` about the input as a whole rather than one file: the loader
# kept the file but did not use it (a dose that is ambiguous, incomplete or in another
# frame of reference: its ERROR finding names the file in `info`), or a flipped byte in
# an ROIName removed 'SpinalCord'; the message then names what is missing instead.
_WHOLE_INPUT_MESSAGES = (
    "no case has both an RTDOSE and an RTSTRUCT",
    "none of the structures 'SpinalCord' exists",
)


# ------------------------------------------------------------------ helpers
def copy_case(tmp_path: Path, src: Path = SPINE) -> Path:
    """A private copy of a fixture folder (inputs are never modified in place)."""
    dst = tmp_path / src.name
    shutil.copytree(src, dst)
    return dst


def invoke(command: str, *paths: Path, extra: tuple[str, ...] = ()) -> Result:
    args = [command, *map(str, paths), *(DVH_ARGS if command == "dvh" else ()), *extra]
    return CliRunner().invoke(cli, args)


def assert_contract(result: Result, command: str, mutated: str) -> None:
    """Exit 0 or 3, never 4; no traceback; an exit-3 message in the documented shape."""
    context = f"{command} on mutated {mutated}: exit {result.exit_code}\n{result.stderr}"
    assert result.exit_code in (0, 3), context
    assert result.exception is None or isinstance(result.exception, SystemExit), context
    assert "Traceback" not in result.stderr, context
    assert "internal error" not in result.stderr, context
    if result.exit_code != 3:
        return
    first, *rest = result.stderr.splitlines()
    assert first.startswith("rtcheck: error: "), context
    assert all(line.startswith("  - ") for line in rest), context
    if mutated in first:
        return
    if " ERROR finding(s): " in first:
        # `info` and `dvh` end with a summary of the loader's ERROR findings (broken link,
        # FOR mismatch, CONTOUR_IGNORED...); the findings themselves are on stdout.
        codes = first.split(" ERROR finding(s): ", 1)[1].split(", ")
        assert all(code in result.stdout for code in codes), context
        return
    assert any(text in first for text in _WHOLE_INPUT_MESSAGES), context


def check_both(folder: Path, mutated: str) -> tuple[Result, Result]:
    """Run ``info`` and ``dvh`` on ``folder`` and check the contract of both."""
    info = invoke("info", folder)
    assert_contract(info, "info", mutated)
    dvh = invoke("dvh", folder)
    assert_contract(dvh, "dvh", mutated)
    return info, dvh


@contextlib.contextmanager
def lenient_pydicom() -> Iterator[None]:
    """Let pydicom read and write invalid values (that is the point of the mutants)."""
    saved = (
        pydicom_config.settings.reading_validation_mode,
        pydicom_config.settings.writing_validation_mode,
    )
    pydicom_config.settings.reading_validation_mode = pydicom_config.IGNORE
    pydicom_config.settings.writing_validation_mode = pydicom_config.IGNORE
    try:
        yield
    finally:
        (
            pydicom_config.settings.reading_validation_mode,
            pydicom_config.settings.writing_validation_mode,
        ) = saved


def mutate(path: Path, change: Callable[[Dataset], object]) -> None:
    """Rewrite ``path`` after ``change(ds)``, keeping its transfer syntax."""
    with lenient_pydicom():
        ds = pydicom.dcmread(path)
        change(ds)
        ds.save_as(path, enforce_file_format=False)


def set_raw(ds: Dataset, keyword: str, text: str) -> None:
    """Store ``text`` verbatim (space-padded to even length) as the value of ``keyword``.

    A raw element is written byte for byte by pydicom, so values no valid writer
    would produce ('abc' in a DS, '2026-13-45' in a DA) reach rtcheck as they are.
    """
    tag = Tag(tag_for_keyword(keyword))
    value = text.encode("ascii")
    value += b" " * (len(value) % 2)
    ds._dict[tag] = RawDataElement(tag, dictionary_VR(tag), len(value), value, 0, False, True)


def error_line(result: Result) -> str:
    return result.stderr.splitlines()[0] if result.stderr else ""


def expect_error(result: Result, file_name: str, *fragments: str) -> None:
    """Exit 3 with a one-line error naming ``file_name`` and every fragment."""
    assert result.exit_code == 3, (result.exit_code, result.stdout, result.stderr)
    line = error_line(result)
    assert line.startswith("rtcheck: error: ") and file_name in line, result.stderr
    for fragment in fragments:
        assert fragment in line, (fragment, result.stderr)
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr


def finding_codes(info: Result) -> set[str]:
    data = json.loads(info.stdout)
    found = {f["code"] for f in data["findings"]}
    for case in data["cases"]:
        found |= {f["code"] for f in case["findings"]}
    return found


def info_json(folder: Path) -> Result:
    return invoke("info", folder, extra=("--format", "json"))


# ------------------------------------------------------------------ 1. truncation
def _truncation_offsets(name: str, data: bytes) -> list[int]:
    size = len(data)
    seq = data.find(_SEQUENCE_TAG[name], 132)
    assert seq > 0, name
    offsets = [
        60,  # inside the preamble: no DICM marker any more
        140,  # inside the File Meta Information
        400,  # inside the dataset header
        seq + 6,  # inside the sequence's tag/length
        seq + 40,  # inside the sequence's first item
        seq + (size - seq) // 2,  # deep inside the sequence
        size - 1,  # one byte missing
    ]
    pixels = data.find(_PIXEL_DATA_TAG, 132)
    if pixels > 0:
        offsets += [pixels, pixels + 10, pixels + 12 + 1, pixels + (size - pixels) // 2]
    return offsets


TRUNCATIONS = [
    (name, offset)
    for name in SPINE_FILES
    for offset in _truncation_offsets(name, (SPINE / name).read_bytes())
]


@pytest.mark.parametrize(("name", "offset"), TRUNCATIONS, ids=[f"{n}@{o}" for n, o in TRUNCATIONS])
def test_truncated_file(tmp_path: Path, name: str, offset: int) -> None:
    folder = copy_case(tmp_path)
    path = folder / name
    path.write_bytes(path.read_bytes()[:offset])
    info, dvh = check_both(folder, name)
    if offset >= 132:
        # still DICOM by its marker: a truncated file is unusable, never partly loaded
        assert info.exit_code == 3, info.stderr
        assert name in error_line(info), info.stderr
        # the dvh needs every file of the plan folder too
        assert dvh.exit_code == 3 and name in error_line(dvh), dvh.stderr


def test_truncated_beam_dose(tmp_path: Path) -> None:
    folder = copy_case(tmp_path, BEAM_DOSES)
    path = folder / "RD_beam2.dcm"
    data = path.read_bytes()
    path.write_bytes(data[: len(data) - 1000])
    info, dvh = check_both(folder, "RD_beam2.dcm")
    expect_error(info, "RD_beam2.dcm", "truncated")
    expect_error(dvh, "RD_beam2.dcm", "truncated")


def _element_starts(path: Path) -> list[tuple[int, str]]:
    """(offset, keyword) of every top-level data-set element of an Explicit VR LE file."""
    starts = []
    with path.open("rb") as fh:
        fh.seek(132)
        _read_file_meta_info(fh)
        offset = fh.tell()
        for elem in data_element_generator(fh, False, True, defer_size=256):
            starts.append((offset, keyword_for_tag(elem.tag)))
            offset = fh.tell()
    return starts


# The last attribute rtcheck cannot do without in each file (Type 1 in its IOD). A file
# cut exactly between two elements is a valid, shorter data set for pydicom; only a
# missing mandatory attribute shows the cut. Cuts after it (optional Approval module,
# the Type 2 ReferencedRTPlanSequence of a record) leave a usable object: no number
# changes, and a missing plan reference is a LINK_RECORD_PLAN_MISSING warning.
_LAST_NEEDED = {
    "RS.dcm": "RTROIObservationsSequence",
    "RP.dcm": "RTPlanGeometry",
    "RD.dcm": "PixelData",
    "RT1.dcm": "TreatmentSessionBeamSequence",
}
BOUNDARY_CUTS = [
    (name, offset, keyword, offset <= dict(
        (k, o) for o, k in _element_starts(SPINE / name))[_LAST_NEEDED[name]])
    for name in _LAST_NEEDED
    for offset, keyword in _element_starts(SPINE / name)
]


@pytest.mark.parametrize(
    ("name", "offset", "keyword", "needed"),
    BOUNDARY_CUTS,
    ids=[f"{n}-before-{k}" for n, _, k, _ in BOUNDARY_CUTS],
)
def test_file_cut_between_two_elements(
    tmp_path: Path, name: str, offset: int, keyword: str, needed: bool
) -> None:
    folder = copy_case(tmp_path)
    path = folder / name
    path.write_bytes(path.read_bytes()[:offset])
    info, dvh = check_both(folder, name)
    if needed:
        assert info.exit_code == 3 and name in error_line(info), info.stderr
        assert dvh.exit_code == 3 and name in error_line(dvh), dvh.stderr


# ------------------------------------------------------------------ 2. byte flips
def _flipped(data: bytes, seed: int, header_only_before: int | None) -> bytes:
    """Flip 1-8 bytes (XOR with a non-zero byte) at positions drawn from ``seed``."""
    rng = np.random.default_rng(seed)
    buf = bytearray(data)
    end = header_only_before if header_only_before is not None else len(buf)
    for pos in rng.integers(128, end, size=int(rng.integers(1, 9))):
        buf[int(pos)] ^= int(rng.integers(1, 256))
    return bytes(buf)


FLIPS = [(name, seed) for name in SPINE_FILES for seed in range(FLIPS_PER_FILE)]

# A mutant that exits 0 must report the original's numbers, or say why not (a new finding,
# or the mutated file listed as ignored). `dvh` also computes two metrics so that its JSON
# holds numbers of each kind.
_NUMBER_ARGS = ("--metric", "D0.035cc[Gy]", "--metric", "Mean[Gy]", "--format", "json")


def json_numbers(doc: object, where: str = "") -> dict[str, float]:
    """Every number of a JSON document by its path (``/cases[0]/dose/max_gy``)."""
    if isinstance(doc, dict):
        items = [(f"{where}/{key}", value) for key, value in doc.items()]
    elif isinstance(doc, list):
        items = [(f"{where}[{i}]", value) for i, value in enumerate(doc)]
    elif isinstance(doc, (int, float)) and not isinstance(doc, bool):
        return {where: doc}
    else:
        return {}
    return {k: v for path, value in items for k, v in json_numbers(value, path).items()}


def json_codes(doc: object) -> set[str]:
    """Every finding code anywhere in a JSON document."""
    if isinstance(doc, dict):
        own = {str(doc["code"])} if "code" in doc and "severity" in doc else set()
        return own.union(*(json_codes(v) for v in doc.values()))
    if isinstance(doc, list):
        return set().union(*(json_codes(v) for v in doc))
    return set()


def numbers_and_codes(folder: Path) -> dict[str, tuple[dict[str, float], set[str], list[str]]]:
    """Per command that exits 0: (numbers, finding codes, ignored files) of its JSON."""
    out = {}
    for command, extra in (("info", ("--format", "json")), ("dvh", _NUMBER_ARGS)):
        result = invoke(command, folder, extra=extra)
        if result.exit_code == 0:
            doc = json.loads(result.stdout)
            out[command] = (json_numbers(doc), json_codes(doc),
                            [Path(p).name for p in doc.get("ignored_files", [])])
    return out


_ORIGINAL_NUMBERS: dict[Path, dict[str, tuple[dict[str, float], set[str], list[str]]]] = {}


def original_numbers(src: Path) -> dict[str, tuple[dict[str, float], set[str], list[str]]]:
    if src not in _ORIGINAL_NUMBERS:
        _ORIGINAL_NUMBERS[src] = numbers_and_codes(src)
        assert set(_ORIGINAL_NUMBERS[src]) == {"info", "dvh"}
    return _ORIGINAL_NUMBERS[src]


def changed_numbers(folder: Path, src: Path, mutated: str) -> dict[str, dict[str, tuple]]:
    """Per command, the numbers that differ from the original's without an explanation: no
    new finding code and the mutated file not listed as ignored. ``{}`` when none."""
    original = original_numbers(src)
    unexplained: dict[str, dict[str, tuple]] = {}
    for command, (numbers, codes, ignored) in numbers_and_codes(folder).items():
        before, before_codes, _ = original[command]
        diff = {k: (before.get(k), numbers.get(k)) for k in before.keys() | numbers.keys()
                if before.get(k) != numbers.get(k)}
        if diff and not (codes - before_codes) and mutated not in ignored:
            unexplained[command] = diff
    return unexplained


def pixel_explained(folder: Path, changes: dict[str, dict[str, tuple]]) -> dict[str, dict]:
    """Drop the changes a flipped dose value explains: the dose maximum is the mutated
    file's own (pydicom), and the cord's numbers change only if a flipped voxel lies within
    one voxel of the cord's bounding box."""
    original = pydicom.dcmread(SPINE / "RD.dcm")
    mutant = pydicom.dcmread(folder / "RD.dcm")
    scale = float(mutant.DoseGridScaling)
    assert scale == float(original.DoseGridScaling)
    changed = np.argwhere(mutant.pixel_array != original.pixel_array)  # (frame, row, column)
    structures = pydicom.dcmread(SPINE / "RS.dcm")
    (cord_number,) = [r.ROINumber for r in structures.StructureSetROISequence
                      if r.ROIName == "SpinalCord"]
    (cord,) = [r for r in structures.ROIContourSequence
               if r.ReferencedROINumber == cord_number]
    points = np.concatenate([np.asarray(c.ContourData, dtype=np.float64).reshape(-1, 3)
                             for c in cord.ContourSequence])
    origin = np.array([float(v) for v in mutant.ImagePositionPatient])
    step = np.array([float(mutant.PixelSpacing[1]), float(mutant.PixelSpacing[0]),
                     float(mutant.GridFrameOffsetVector[1])])
    xyz = origin + changed[:, ::-1] * step
    near_cord = bool(np.any(np.all((xyz >= points.min(axis=0) - 2 * step)
                                   & (xyz <= points.max(axis=0) + 2 * step), axis=1)))
    left: dict[str, dict] = {}
    for command, diff in changes.items():
        rest = {}
        for key, (_, now) in diff.items():
            if key == "/cases[0]/dose/max_gy":
                assert now == pytest.approx(float(mutant.pixel_array.max()) * scale, abs=1e-3)
            elif not (key.startswith("/structures[0]/") and near_cord):
                rest[key] = diff[key]
        if rest:
            left[command] = rest
    return left


# Flips that once changed a treatment-record number without a finding (a lost last-control-point
# DeliveredMeterset read from the first control point; a lost ReferencedBeamNumber read as
# beam 0; a lost beam item) now report RECORD_BEAM_INCOMPLETE / RECORD_BEAMS_MISSING.
@pytest.mark.parametrize(("name", "seed"), FLIPS, ids=[f"{n}-seed{s}" for n, s in FLIPS])
def test_random_byte_flips(tmp_path: Path, name: str, seed: int) -> None:
    folder = copy_case(tmp_path)
    path = folder / name
    data = path.read_bytes()
    pixels = data.find(_PIXEL_DATA_TAG, 132)
    # RD: two thirds of the mutants hit the header (the pixel data is 97 % of the file
    # and any 16-bit value is a valid dose), the rest anywhere including the pixels.
    header_only = pixels + 12 if pixels > 0 and seed % 3 else None
    path.write_bytes(_flipped(data, 1000 * SPINE_FILES.index(name) + seed, header_only))
    check_both(folder, name)
    changes = changed_numbers(folder, SPINE, name)
    if name == "RD.dcm" and header_only is None and changes:
        changes = pixel_explained(folder, changes)
    assert not changes, f"numbers changed without a finding: {changes}"


def test_flipped_vr_in_the_file_meta(tmp_path: Path) -> None:
    """A flipped byte in the VR of MediaStorageSOPClassUID (0002,0002) made pydicom raise
    NotImplementedError when rtcheck first read the File Meta: exit 4."""
    folder = copy_case(tmp_path)
    path = folder / "RD.dcm"
    data = bytearray(path.read_bytes())
    at = data.find(b"\x02\x00\x02\x00UI", 132)
    data[at + 4 : at + 6] = b"\x55\xab"
    path.write_bytes(bytes(data))
    info, dvh = check_both(folder, "RD.dcm")
    expect_error(info, "RD.dcm", "(0002,0002)")
    expect_error(dvh, "RD.dcm", "(0002,0002)")


@pytest.mark.parametrize("seed", range(10))
def test_random_byte_flips_in_a_beam_dose(tmp_path: Path, seed: int) -> None:
    folder = copy_case(tmp_path, BEAM_DOSES)
    path = folder / "RD_beam1.dcm"
    data = path.read_bytes()
    path.write_bytes(_flipped(data, 7000 + seed, data.find(_PIXEL_DATA_TAG, 132) + 12))
    check_both(folder, "RD_beam1.dcm")
    changes = changed_numbers(folder, BEAM_DOSES, "RD_beam1.dcm")
    assert not changes, f"numbers changed without a finding: {changes}"


# ------------------------------------------------------------------ 3. RTDOSE semantics
def _delete(keyword: str) -> Callable[[Dataset], None]:
    def change(ds: Dataset) -> None:
        del ds[keyword]

    return change


def _raw(keyword: str, text: str) -> Callable[[Dataset], None]:
    return lambda ds: set_raw(ds, keyword, text)


DOSE_MUTATIONS: dict[str, tuple[Callable[[Dataset], None], tuple[str, ...]]] = {
    # id: (mutation, fragments the exit-3 message must contain)
    "scaling-missing": (_delete("DoseGridScaling"), ("DoseGridScaling",)),
    "scaling-zero": (_raw("DoseGridScaling", "0"), ("DoseGridScaling",)),
    "scaling-negative": (_raw("DoseGridScaling", "-6.25e-4"), ("DoseGridScaling",)),
    "scaling-abc": (_raw("DoseGridScaling", "abc"), ("DoseGridScaling",)),
    "scaling-nan": (_raw("DoseGridScaling", "NaN"), ("DoseGridScaling",)),
    "scaling-two-values": (_raw("DoseGridScaling", "1e-3\\2e-3"), ("DoseGridScaling",)),
    "units-cgy": (_raw("DoseUnits", "CGY"), ("DoseUnits", "'CGY'")),
    "units-relative": (_raw("DoseUnits", "RELATIVE"), ("DoseUnits", "RELATIVE")),
    "units-missing": (_delete("DoseUnits"), ("DoseUnits",)),
    "summation-missing": (_delete("DoseSummationType"), ("DoseSummationType",)),
    "summation-odd": (_raw("DoseSummationType", "TOTAL"), ("DoseSummationType",)),
    "spacing-missing": (_delete("PixelSpacing"), ("PixelSpacing",)),
    "spacing-one-value": (_raw("PixelSpacing", "2.5"), ("PixelSpacing",)),
    "spacing-zero": (_raw("PixelSpacing", "0\\2.5"), ("PixelSpacing",)),
    "spacing-negative": (_raw("PixelSpacing", "2.5\\-2.5"), ("PixelSpacing",)),
    "spacing-abc": (_raw("PixelSpacing", "2.5\\abc"), ("PixelSpacing",)),
    "ipp-two-values": (_raw("ImagePositionPatient", "-132.5\\-92.5"), ("ImagePositionPatient",)),
    "ipp-abc": (_raw("ImagePositionPatient", "-132.5\\abc\\-27.5"), ("ImagePositionPatient",)),
    "ipp-missing": (_delete("ImagePositionPatient"), ("ImagePositionPatient",)),
    "iop-five-values": (_raw("ImageOrientationPatient", "1\\0\\0\\0\\1"),
                        ("ImageOrientationPatient",)),
    "iop-abc": (_raw("ImageOrientationPatient", "1\\0\\0\\abc\\1\\0"),
                ("ImageOrientationPatient",)),
    "iop-nan": (_raw("ImageOrientationPatient", "1\\0\\0\\0\\NaN\\0"),
                ("ImageOrientationPatient",)),
    "offsets-missing": (_delete("GridFrameOffsetVector"), ("GridFrameOffsetVector",)),
    "offsets-count": (_raw("GridFrameOffsetVector", "\\".join(f"{2.5 * k:g}" for k in range(22))),
                      ("GridFrameOffsetVector", "22 values for 23 frames")),
    "offsets-non-monotonic": (
        _raw("GridFrameOffsetVector",
             "\\".join(f"{2.5 * k:g}" for k in (0, 2, 1, *range(3, 23)))),
        ("GridFrameOffsetVector",)),
    "offsets-repeated": (
        _raw("GridFrameOffsetVector",
             "\\".join(f"{2.5 * k:g}" for k in (0, 1, 1, *range(3, 23)))),
        ("GridFrameOffsetVector", "repeated")),
    "offsets-first-neither": (
        _raw("GridFrameOffsetVector", "\\".join(f"{7 + 2.5 * k:g}" for k in range(23))),
        ("GridFrameOffsetVector", "neither 0")),
    "offsets-abc": (_raw("GridFrameOffsetVector", "0\\abc" + "\\5" * 21),
                    ("GridFrameOffsetVector",)),
    "offsets-nan": (_raw("GridFrameOffsetVector",
                         "0\\NaN\\" + "\\".join(f"{2.5 * k:g}" for k in range(2, 23))),
                    ("GridFrameOffsetVector",)),
    "rows-too-small": (lambda ds: setattr(ds, "Rows", 74), ("PixelData",)),
    "rows-too-large": (lambda ds: setattr(ds, "Rows", 76), ("PixelData",)),
    "columns-too-small": (lambda ds: setattr(ds, "Columns", 106), ("PixelData",)),
    "columns-zero": (lambda ds: setattr(ds, "Columns", 0), ("Columns",)),
    "frames-too-few": (lambda ds: setattr(ds, "NumberOfFrames", 22), ("PixelData",)),
    "frames-too-many": (lambda ds: setattr(ds, "NumberOfFrames", 24), ("PixelData",)),
    "frames-zero": (_raw("NumberOfFrames", "0"), ("NumberOfFrames",)),
    "frames-abc": (_raw("NumberOfFrames", "abc"), ("NumberOfFrames",)),
    "bits-allocated-32": (lambda ds: setattr(ds, "BitsAllocated", 32), ("PixelData",)),
    "pixel-data-missing": (_delete("PixelData"), ("PixelData",)),
    # pydicom masks to BitsStored and sign-extends signed pixels: 37.5 Gy would read as
    # 2.56 Gy (12 bits) or 20.5 Gy with negative voxels (signed) without these checks
    "bits-stored-12": (lambda ds: setattr(ds, "BitsStored", 12), ("PixelData", "BitsStored")),
    "bits-stored-15": (lambda ds: setattr(ds, "BitsStored", 15), ("PixelData", "BitsStored")),
    "high-bit-11": (lambda ds: setattr(ds, "HighBit", 11), ("PixelData", "HighBit")),
    "signed-pixels": (lambda ds: setattr(ds, "PixelRepresentation", 1),
                      ("PixelData", "PixelRepresentation")),
}


@pytest.mark.parametrize("mutation", list(DOSE_MUTATIONS))
def test_dose_semantic_mutation_is_a_one_line_error(tmp_path: Path, mutation: str) -> None:
    change, fragments = DOSE_MUTATIONS[mutation]
    folder = copy_case(tmp_path)
    mutate(folder / "RD.dcm", change)
    info, dvh = check_both(folder, "RD.dcm")
    expect_error(info, "RD.dcm", *fragments)
    expect_error(dvh, "RD.dcm", *fragments)


def test_cgy_dose_message_says_what_to_do(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RD.dcm", _raw("DoseUnits", "CGY"))
    result = invoke("info", folder)
    assert result.stderr == (
        f"rtcheck: error: {folder / 'RD.dcm'}: DoseUnits: is 'CGY'; rtcheck needs absolute dose "
        "in Gy (RELATIVE doses cannot be checked). Export the dose in GY from the TPS\n"
    )
    assert result.stdout == ""


def test_dose_grid_scaling_with_spaces_is_read(tmp_path: Path) -> None:
    """Control: a valid but unusual DS spelling must still give the fixture's dose."""
    folder = copy_case(tmp_path)
    mutate(folder / "RD.dcm", _raw("DoseGridScaling", " 6.25E-04"))
    result = info_json(folder)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["cases"][0]["dose"]["max_gy"] == pytest.approx(37.5)


def test_absolute_frame_offsets_are_accepted(tmp_path: Path) -> None:
    """Control: offsets given as absolute z (first value = IPP z) are valid (C.8.8.3.2)."""
    folder = copy_case(tmp_path)
    mutate(folder / "RD.dcm", _raw(
        "GridFrameOffsetVector", "\\".join(f"{-27.5 + 2.5 * k:g}" for k in range(23))))
    info, dvh = check_both(folder, "RD.dcm")
    assert info.exit_code == 0 and dvh.exit_code == 0, (info.stderr, dvh.stderr)
    assert "SpinalCord  4    4.488      3.473   8.437    17.41" in dvh.stdout


def test_two_plan_doses_for_one_plan(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    shutil.copy(folder / "RD.dcm", folder / "RD2.dcm")
    _new_instance(folder / "RD2.dcm")
    info, dvh = check_both(folder, "RD2.dcm")
    assert info.exit_code == 3
    assert "DOSE_AMBIGUOUS" in error_line(info)
    assert "DOSE_AMBIGUOUS" in info_json(folder).stdout
    # no dose is chosen: no DVH may be computed from either copy
    assert dvh.exit_code == 3 and "no case has both an RTDOSE and an RTSTRUCT" in dvh.stderr


def test_same_dose_twice_is_a_duplicate_not_an_ambiguity(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    shutil.copy(folder / "RD.dcm", folder / "RD_copy.dcm")
    info, dvh = check_both(folder, "RD_copy.dcm")
    assert info.exit_code == 0 and dvh.exit_code == 0
    assert "DUPLICATE_FILE" in finding_codes(info_json(folder))
    # the copy is not summed: every number of `dvh` is the original's
    assert numbers_and_codes(folder)["dvh"][0] == original_numbers(SPINE)["dvh"][0]


def _new_instance(path: Path) -> None:
    """Give a copied object its own SOPInstanceUID (a second export, not a duplicate)."""

    def change(ds: Dataset) -> None:
        ds.SOPInstanceUID = ds.SOPInstanceUID.rsplit(".", 1)[0] + ".7"
        ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID

    mutate(path, change)


def test_two_doses_for_one_beam_are_not_summed(tmp_path: Path) -> None:
    """A stale re-export of beam 1 next to the new one must not count beam 1 twice
    (the sum gave a 57.4 Gy maximum and a 26.1 Gy cord maximum, exit 0)."""
    folder = copy_case(tmp_path, BEAM_DOSES)
    shutil.copy(folder / "RD_beam1.dcm", folder / "RD_beam1_again.dcm")
    _new_instance(folder / "RD_beam1_again.dcm")
    info, dvh = check_both(folder, "RD_beam1_again.dcm")
    assert info.exit_code == 3 and "DOSE_AMBIGUOUS" in error_line(info), info.stderr
    assert "RD_beam1_again.dcm" in info.stdout
    assert dvh.exit_code == 3 and "no case has both an RTDOSE" in dvh.stderr


def test_dose_of_a_beam_the_plan_does_not_have_is_not_summed(tmp_path: Path) -> None:
    folder = copy_case(tmp_path, BEAM_DOSES)
    shutil.copy(folder / "RD_beam2.dcm", folder / "RD_beam3.dcm")
    _new_instance(folder / "RD_beam3.dcm")

    def beam3(ds: Dataset) -> None:
        group = ds.ReferencedRTPlanSequence[0].ReferencedFractionGroupSequence[0]
        group.ReferencedBeamSequence[0].ReferencedBeamNumber = 3

    mutate(folder / "RD_beam3.dcm", beam3)
    info, dvh = check_both(folder, "RD_beam3.dcm")
    assert info.exit_code == 3 and "DOSE_AMBIGUOUS" in error_line(info), info.stderr
    assert "[3]" in info.stdout
    assert dvh.exit_code == 3 and "no case has both an RTDOSE" in dvh.stderr


def test_missing_beam_dose_gives_no_dvh(tmp_path: Path) -> None:
    """Beam 2's dose deleted: the sum of beam 1 alone gave a cord D0.035cc of 7.8 Gy
    (half the real 15.5 Gy) with exit 0 — a passing number from an incomplete dose."""
    folder = copy_case(tmp_path, BEAM_DOSES)
    (folder / "RD_beam2.dcm").unlink()
    info, dvh = check_both(folder, "RD_beam1.dcm")
    assert info.exit_code == 3 and "DOSE_BEAM_MISSING" in error_line(info), info.stderr
    assert dvh.exit_code == 3 and "no case has both an RTDOSE" in dvh.stderr, dvh.stdout


def test_beam_doses_in_different_frames_are_not_summed(tmp_path: Path) -> None:
    folder = copy_case(tmp_path, BEAM_DOSES)
    mutate(folder / "RD_beam2.dcm", lambda ds: setattr(ds, "FrameOfReferenceUID", "1.2.3.4"))
    info, dvh = check_both(folder, "RD_beam2.dcm")
    assert info.exit_code == 3 and "FOR_MISMATCH" in error_line(info), info.stderr
    assert dvh.exit_code == 3 and "no case has both an RTDOSE" in dvh.stderr


def test_beam_doses_control_sum(tmp_path: Path) -> None:
    """Control: the intact two-beam fixture sums to the plan's 37.5 Gy maximum."""
    folder = copy_case(tmp_path, BEAM_DOSES)
    result = info_json(folder)
    assert result.exit_code == 0, result.stderr
    assert json.loads(result.stdout)["cases"][0]["dose"]["max_gy"] == pytest.approx(
        37.5, abs=0.01)


def test_frame_of_reference_mismatch(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RD.dcm", lambda ds: setattr(ds, "FrameOfReferenceUID", "1.2.3.4.5"))
    info, dvh = check_both(folder, "RD.dcm")
    assert info.exit_code == 3 and "FOR_MISMATCH" in error_line(info)
    assert "the dose is not used" in info.stdout
    # dose and structures cannot be overlaid: no DVH may be reported as a number
    # (it was: the fixture's cord DVH, exit 0, with the ERROR only in the findings)
    assert dvh.exit_code == 3 and "no case has both an RTDOSE" in dvh.stderr, dvh.stdout


# ------------------------------------------------------------------ 4. RTSTRUCT semantics
def _contour(ds: Dataset, roi_index: int = 3, contour_index: int = 5) -> Dataset:
    """A contour of SpinalCord (ROI 4) by default."""
    return ds.ROIContourSequence[roi_index].ContourSequence[contour_index]


def _contour_text(values: list[str]) -> Callable[[Dataset], None]:
    def change(ds: Dataset) -> None:
        set_raw(_contour(ds), "ContourData", "\\".join(values))

    return change


def _cord_contour_values() -> list[str]:
    with lenient_pydicom():
        ds = pydicom.dcmread(SPINE / "RS.dcm")
    return [str(v) for v in _contour(ds).ContourData]


@pytest.mark.parametrize("damage", ["abc", "nan", "inf", "drop-one", "empty", "1e999"])
def test_damaged_cord_contour_never_gives_a_silent_dvh(tmp_path: Path, damage: str) -> None:
    values = _cord_contour_values()
    if damage == "drop-one":
        values = values[:-1]
    elif damage == "empty":
        values = []
    else:
        values[4] = damage
    folder = copy_case(tmp_path)
    mutate(folder / "RS.dcm", _contour_text(values))
    info, dvh = check_both(folder, "RS.dcm")
    # Either the whole file is refused, or the bad contour is dropped with an ERROR
    # CONTOUR_IGNORED finding on SpinalCord (so `info` fails and the DVH says so).
    if info.exit_code == 3 and "RS.dcm" in error_line(info):
        expect_error(dvh, "RS.dcm", "ContourData")
        return
    assert "CONTOUR_IGNORED" in error_line(info), info.stderr
    assert "CONTOUR_IGNORED" in dvh.stdout
    # the cord DVH must not be computed from NaN/inf coordinates
    assert "nan" not in dvh.stdout.lower() and "inf " not in dvh.stdout.lower()


def test_non_axial_cord_contour_gives_no_cord_dvh(tmp_path: Path) -> None:
    """One cord contour tilted by 1 mm in z: skipping it alone gave a cord DVH with a
    gap (4.293 cc, D0.035cc 15.27 Gy instead of 4.488 cc / 15.49 Gy), exit 0."""
    folder = copy_case(tmp_path)

    def tilt(ds: Dataset) -> None:
        contour = _contour(ds, contour_index=11)
        data = [float(v) for v in contour.ContourData]
        data[2] += 1.0
        contour.ContourData = data

    mutate(folder / "RS.dcm", tilt)
    info, dvh = check_both(folder, "RS.dcm")
    assert info.exit_code == 3 and "CONTOUR_IGNORED" in error_line(info), info.stderr
    # the loader's ERROR finding voids the case: exit 3, every metric NOT EVALUATED
    assert dvh.exit_code == 3 and "NOT EVALUATED" in dvh.stdout, dvh.stdout
    assert "4.293" not in dvh.stdout and "CONTOUR_IGNORED" in dvh.stdout


def test_duplicate_roi_number(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)

    def duplicate(ds: Dataset) -> None:
        ds.StructureSetROISequence[1].ROINumber = 4  # GTV now claims SpinalCord's number

    mutate(folder / "RS.dcm", duplicate)
    info, dvh = check_both(folder, "RS.dcm")
    # which contours belong to which ROI is unknowable: never give GTV the cord's contours
    expect_error(info, "RS.dcm", "ROINumber", "4")
    expect_error(dvh, "RS.dcm", "ROINumber")


def test_contours_referencing_an_undeclared_roi(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)

    def dangle(ds: Dataset) -> None:
        ds.ROIContourSequence[3].ReferencedROINumber = 99  # SpinalCord's contours

    mutate(folder / "RS.dcm", dangle)
    info, dvh = check_both(folder, "RS.dcm")
    expect_error(info, "RS.dcm", "ReferencedROINumber", "99")
    expect_error(dvh, "RS.dcm", "ReferencedROINumber")


def test_roi_in_another_frame_of_reference(tmp_path: Path) -> None:
    """A ROI whose ReferencedFrameOfReferenceUID is not the plan's frame (a registered
    image) cannot be laid on the dose: no cord DVH (it was the fixture's, exit 0)."""
    folder = copy_case(tmp_path)
    mutate(folder / "RS.dcm", lambda ds: setattr(
        ds.StructureSetROISequence[3], "ReferencedFrameOfReferenceUID", "1.2.3.4"))
    info, dvh = check_both(folder, "RS.dcm")
    assert info.exit_code == 3 and "CONTOUR_IGNORED" in error_line(info), info.stderr
    assert "1.2.3.4" in info.stdout
    assert dvh.exit_code == 3 and "17.41" not in dvh.stdout, dvh.stdout
    assert "NOT EVALUATED" in dvh.stdout and "CONTOUR_IGNORED" in dvh.stdout


def test_roi_number_not_a_number(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RS.dcm", lambda ds: set_raw(ds.StructureSetROISequence[2], "ROINumber", "x"))
    info, dvh = check_both(folder, "RS.dcm")
    expect_error(info, "RS.dcm", "ROINumber")
    expect_error(dvh, "RS.dcm", "ROINumber")


def test_roi_color_garbage_is_not_fatal(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RS.dcm",
           lambda ds: set_raw(ds.ROIContourSequence[3], "ROIDisplayColor", "255\\x\\0"))
    _, dvh = check_both(folder, "RS.dcm")
    # a colour is cosmetic; either a clear error or a load without colour is fine
    assert "SpinalCord  4    4.488" in dvh.stdout or dvh.exit_code == 3


def test_structure_set_without_sop_instance_uid(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RS.dcm", _delete("SOPInstanceUID"))
    info, dvh = check_both(folder, "RS.dcm")
    expect_error(info, "RS.dcm", "SOPInstanceUID")
    expect_error(dvh, "RS.dcm", "SOPInstanceUID")


# ------------------------------------------------------------------ 5. RTPLAN semantics
def _fractions(text: str | None) -> Callable[[Dataset], None]:
    def change(ds: Dataset) -> None:
        group = ds.FractionGroupSequence[0]
        if text is None:
            del group.NumberOfFractionsPlanned
        else:
            set_raw(group, "NumberOfFractionsPlanned", text)

    return change


@pytest.mark.parametrize("value", ["0", "-3", "abc", "2.5"])
def test_invalid_number_of_fractions(tmp_path: Path, value: str) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RP.dcm", _fractions(value))
    info, dvh = check_both(folder, "RP.dcm")
    # a fraction count of 0, -3 or 'abc' is garbage: BED/EQD2 must never use it
    expect_error(info, "RP.dcm", "NumberOfFractionsPlanned")
    expect_error(dvh, "RP.dcm", "NumberOfFractionsPlanned")


def test_missing_number_of_fractions_is_a_finding(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RP.dcm", _fractions(None))
    info, dvh = check_both(folder, "RP.dcm")
    assert info.exit_code == 0 and dvh.exit_code == 0
    assert "FRACTIONS_MISSING" in finding_codes(info_json(folder))
    bed = invoke("dvh", folder, extra=("--metric", "D0.035cc[Gy]@BED3", "--format", "json"))
    assert bed.exit_code == 1, bed.stderr  # the requested BED is NOT EVALUATED, and said so
    assert "SpinalCord: D0.035cc[Gy]@BED3" in bed.stderr
    metric = json.loads(bed.stdout)["structures"][0]["metric_details"][0]
    assert metric["value"] is None and metric["status"] == "NOT_EVALUATED", metric


@pytest.mark.parametrize("value", ["-30", "abc", "NaN"])
def test_invalid_target_prescription_dose(tmp_path: Path, value: str) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RP.dcm",
           lambda ds: set_raw(ds.DoseReferenceSequence[0], "TargetPrescriptionDose", value))
    info, dvh = check_both(folder, "RP.dcm")
    expect_error(info, "RP.dcm", "TargetPrescriptionDose")
    expect_error(dvh, "RP.dcm", "TargetPrescriptionDose")


def test_plan_without_sop_instance_uid(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RP.dcm", _delete("SOPInstanceUID"))
    info, dvh = check_both(folder, "RP.dcm")
    expect_error(info, "RP.dcm", "SOPInstanceUID")
    expect_error(dvh, "RP.dcm", "SOPInstanceUID")


@pytest.mark.parametrize("value", ["abc", "-5", "NaN"])
def test_invalid_beam_meterset(tmp_path: Path, value: str) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RP.dcm", lambda ds: set_raw(
        ds.FractionGroupSequence[0].ReferencedBeamSequence[0], "BeamMeterset", value))
    info, _ = check_both(folder, "RP.dcm")
    expect_error(info, "RP.dcm", "BeamMeterset")


# ------------------------------------------------------------------ 6. records
RECORD_MUTATIONS: dict[str, tuple[str, str, str]] = {
    # id: (keyword, value, field named in the message)
    "date-2026-13-45": ("TreatmentDate", "2026-13-45", "TreatmentDate"),
    "date-20261345": ("TreatmentDate", "20261345", "TreatmentDate"),
    "time-99": ("TreatmentTime", "99", "TreatmentTime"),
    "time-2561": ("TreatmentTime", "2561", "TreatmentTime"),
    "time-abc": ("TreatmentTime", "ab:cd", "TreatmentTime"),
    "tz-+25:00": ("TimezoneOffsetFromUTC", "+25:00", "TimezoneOffsetFromUTC"),
    "tz-+2500": ("TimezoneOffsetFromUTC", "+2500", "TimezoneOffsetFromUTC"),
    "tz-+0175": ("TimezoneOffsetFromUTC", "+0175", "TimezoneOffsetFromUTC"),
    "fraction-abc": ("CurrentFractionNumber", "abc", "CurrentFractionNumber"),
}


@pytest.mark.parametrize("mutation", list(RECORD_MUTATIONS))
def test_record_semantic_mutation_is_a_one_line_error(tmp_path: Path, mutation: str) -> None:
    keyword, value, field = RECORD_MUTATIONS[mutation]
    folder = copy_case(tmp_path)

    def change(ds: Dataset) -> None:
        target = ds if keyword in ds else ds.TreatmentSessionBeamSequence[0]
        set_raw(target, keyword, value)

    mutate(folder / "RT2.dcm", change)
    info, dvh = check_both(folder, "RT2.dcm")
    expect_error(info, "RT2.dcm", field)
    expect_error(dvh, "RT2.dcm", field)


def test_record_without_sop_instance_uid(tmp_path: Path) -> None:
    folder = copy_case(tmp_path)
    mutate(folder / "RT3.dcm", _delete("SOPInstanceUID"))
    info, _ = check_both(folder, "RT3.dcm")
    expect_error(info, "RT3.dcm", "SOPInstanceUID")


# ------------------------------------------------------------------ 7. a real process
@pytest.mark.parametrize(
    ("name", "damage"),
    [("RT1.dcm", "truncate-400"), ("RD.dcm", "sop-class-flip"), ("RD.dcm", "scaling-abc")],
)
def test_real_process_prints_exactly_one_line(tmp_path: Path, name: str, damage: str) -> None:
    """In a shell, pydicom's own log lines and UserWarnings must not bury the error.

    (CliRunner cannot show this: pytest captures warnings and logging itself.)
    """
    folder = copy_case(tmp_path)
    path = folder / name
    data = bytearray(path.read_bytes())
    if damage == "truncate-400":
        data = data[:400]  # cuts SpecificCharacterSet: pydicom warns "Unknown encoding"
    elif damage == "sop-class-flip":
        at = data.find(b"1.2.840.10008.5.1.4.1.1.481.2", 300)  # the data set's SOPClassUID
        data[at + 3] = 0xEC
    else:
        at = data.find(b"6.25000e-04")
        data[at : at + 3] = b"abc"
    path.write_bytes(bytes(data))
    done = subprocess.run(
        [sys.executable, "-m", "rtcheck", "info", str(folder)],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert done.returncode == 3, done.stderr
    lines = done.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("rtcheck: error: "), done.stderr
    assert name in lines[0]
