"""The built-in verification: no original identifier in the output, links as in the input.

:func:`scan_file` re-reads one written file and walks every element (File Meta, nested
sequences): a text element that contains an identifying value of the input, a UID element
that still holds an original UID, a date or date-time that still holds the value the same
element had in the input file. The values rtcheck wrote itself (pseudonyms, the
de-identification method, dicom-anonymizer's dummy values) are not searched.

:func:`compare_links` loads IN_DIR and the output with :func:`rtcheck.dicom.loader.load`
and requires the same cases: for each, the plan, structure set, dose (and its number of
files), treatment records and CT series that correspond through the keyed UIDs, the same
structure names, frame of reference, finding codes, and the same gaps between treatment
records to the second with the same times of day. Problems are returned as one-line
messages that name the file or case and the element, never the identifying value.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from rtcheck.deid.elements import TEXT_VRS, Leaf, describe, walk
from rtcheck.deid.identifiers import Identifiers
from rtcheck.deid.profile import is_instance_uid
from rtcheck.deid.sources import read_dataset
from rtcheck.dicom.model import Case, LoadResult
from rtcheck.errors import InputError


def _leaf_problem(leaf: Leaf, ids: Identifiers, own: frozenset[str],
                  input_dates: dict[tuple[int, ...], str]) -> str | None:
    values = [v.strip(" \x00") for v in leaf.values]
    if leaf.vr == "UI":
        return "an original UID" if any(
            v in ids.uids and is_instance_uid(leaf.keyword, v) for v in values) else None
    if leaf.vr in ("DA", "DT"):
        before = input_dates.get(leaf.path)
        joined = "\\".join(v.strip() for v in leaf.values)
        return "the original date" if before and joined == before else None
    if leaf.vr in TEXT_VRS or leaf.vr == "UN":
        kept = Leaf(leaf.path, leaf.keyword, leaf.vr,
                    tuple(v for v in leaf.values if v.strip(" \x00") not in own))
        return ids.find_in_leaf(kept)
    return None


def scan_file(path: Path, shown: str, ids: Identifiers, own: frozenset[str],
              input_dates: dict[tuple[int, ...], str]) -> list[str]:
    """Every element of one output file that still holds an original identifier."""
    ds = read_dataset(path, defer=False)
    problems: list[str] = []
    leaves: Iterable[Leaf] = [*walk(ds.file_meta), *walk(ds)] if ds.file_meta else walk(ds)
    for leaf in leaves:
        found = _leaf_problem(leaf, ids, own, input_dates)
        if found:
            problems.append(f"{shown}: {describe(leaf.path)}: holds {found} of the input")
    return problems


def scan_text(shown: str, text: str, ids: Identifiers) -> list[str]:
    """A copied text file (YAML) or a relative file name that holds an identifier."""
    found = ids.find_in_text(text)
    return [f"{shown}: holds {found} of the input"] if found else []


# ----------------------------------------------------------------------------- links
def _gaps(case: Case) -> tuple[tuple[Any, ...], tuple[float, ...]]:
    """Times of day (with UTC offset) of the records and the gaps between them, in s."""
    times = [r.delivery_datetime for r in case.records if r.delivery_datetime is not None]
    times.sort(key=lambda t: t if t.tzinfo is not None else t.replace(tzinfo=dt.UTC))
    clock = tuple((t.time(), t.utcoffset()) for t in times)
    gaps = tuple((b - a).total_seconds() for a, b in itertools.pairwise(times))
    return clock, gaps


def case_signature(case: Case, uid: Callable[[str], str]) -> dict[str, Any]:
    """What must be the same before and after, with the input's UIDs mapped by ``uid``."""
    ss = case.structure_set
    clock, gaps = _gaps(case)
    return {
        "plan": uid(case.plan.sop_instance_uid) if case.plan else None,
        "plan label": case.plan.label if case.plan else None,
        "structure set": uid(ss.sop_instance_uid) if ss else None,
        "structure names": tuple(s.name for s in ss.structures) if ss else (),
        # a sum of BEAM doses carries "uid+uid+..." (rtcheck.dicom.dose_sum)
        "dose": tuple(sorted(uid(u) for u in case.dose.sop_instance_uid.split("+")))
        if case.dose else None,
        "dose files": len(case.dose.source_paths) if case.dose else 0,
        "treatment records": tuple(sorted(uid(r.sop_instance_uid) for r in case.records)),
        "CT series": tuple(sorted((uid(i.series_instance_uid), i.n_images)
                                  for i in case.images)),
        "frame of reference": uid(case.frame_of_reference_uid),
        "finding codes": tuple(sorted({(f.code, str(f.severity)) for f in case.findings})),
        "treatment times of day": clock,
        "gaps between treatment records": gaps,
    }


def _load(paths: list[Path]) -> LoadResult | InputError:
    from rtcheck.dicom.loader import load

    try:
        return load([str(p) for p in paths])
    except InputError as exc:
        return exc


def load_reference(in_dir: Path) -> LoadResult | InputError:
    """The input as rtcheck sees it (an unusable input is compared by its error)."""
    return _load([in_dir])


def compare_links(reference: LoadResult | InputError, written_dir: Path,
                  uid: Callable[[str], str], out_dir: str) -> list[str]:
    """Problems where the output's cases differ from the input's (see module docstring);
    ``written_dir`` holds the output, ``out_dir`` is the name the messages give it."""
    written = _load([written_dir])
    if isinstance(reference, InputError) or isinstance(written, InputError):
        if type(reference) is type(written) and getattr(reference, "field", None) == \
                getattr(written, "field", None):
            return []
        return [f"{out_dir}: rtcheck reads the input as {_what(reference)} but the output "
                f"as {_what(written)}"]
    problems = [f"{out_dir}: {p}" for p in _compare_global(reference, written)]
    before = {_key(s): (c.label, s) for c in reference.cases for s in [case_signature(c, uid)]}
    after = {_key(s): s for c in written.cases for s in [case_signature(c, str)]}
    for key, (label, expected) in sorted(before.items(), key=lambda kv: str(kv[0])):
        got = after.pop(key, None)
        if got is None:
            problems.append(f"{out_dir}: case {label!r}: its plan, structure set and dose no "
                            "longer form one case after anonymisation")
            continue
        problems += [f"{out_dir}: case {label!r}: {name} differ after anonymisation"
                     for name in expected if expected[name] != got[name]]
    problems += [f"{out_dir}: a case appears that the input does not have" for _ in after]
    return problems


def _key(signature: dict[str, Any]) -> tuple[Any, ...]:
    return (signature["plan"], signature["structure set"], signature["dose"],
            signature["treatment records"])


def _compare_global(reference: LoadResult, written: LoadResult) -> list[str]:
    problems = []
    if len(reference.cases) != len(written.cases):
        problems.append(f"{len(reference.cases)} case(s) in the input but "
                        f"{len(written.cases)} after anonymisation")
    codes_before = sorted({(f.code, str(f.severity)) for f in reference.findings})
    codes_after = sorted({(f.code, str(f.severity)) for f in written.findings})
    if codes_before != codes_after:
        problems.append(f"the loader's findings differ: {codes_before} in the input, "
                        f"{codes_after} after anonymisation")
    return problems


def _what(result: LoadResult | InputError) -> str:
    if isinstance(result, InputError):
        return f"unusable ({type(result).__name__}, field {getattr(result, 'field', None)})"
    return f"{len(result.cases)} case(s)"
