"""Matching protocol (TG-263) structure names to clinic ROI names: rules, precedence, errors."""

from __future__ import annotations

import dataclasses
import fnmatch
import pickle
import re
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rtcheck.errors import ConfigError
from rtcheck.rules.matching import (
    AliasTable,
    MatchRule,
    MatchStatus,
    StructureMatch,
    is_helper_name,
    match_structure,
    normalise_name,
)

R = MatchRule
S = MatchStatus


def _write(tmp_path: Path, text: str, name: str = "aliases.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


# --- rule 1: exact -------------------------------------------------------------------


def test_exact_standard_name() -> None:
    m = match_structure("SpinalCord", ["Body", "SpinalCord", "PTV_30Gy"])
    assert (m.status, m.roi_name, m.rule, m.candidates) == (
        S.MATCHED, "SpinalCord", R.EXACT, ("SpinalCord",))


def test_exact_protocol_alias() -> None:
    m = match_structure("SpinalCord", ["Body", "Medulla"], aliases=("Medulla",))
    assert (m.status, m.roi_name, m.rule) == (S.MATCHED, "Medulla", R.EXACT)


def test_exact_is_case_sensitive_so_other_case_falls_to_normalisation() -> None:
    m = match_structure("SpinalCord", ["SPINALCORD"])
    assert (m.roi_name, m.rule) == ("SPINALCORD", R.TG263)


# --- rule 2: alias file and protocol wildcards ---------------------------------------


def test_alias_table_wildcard_case_insensitive() -> None:
    table = AliasTable({"SpinalCord": ("*cord*",)})
    m = match_structure("SpinalCord", ["Body", "MyCORDthing"], alias_table=table)
    assert (m.status, m.roi_name, m.rule) == (S.MATCHED, "MyCORDthing", R.ALIAS_FILE)


def test_alias_table_key_is_case_insensitive() -> None:
    table = AliasTable({"spinalcord": ("medulla*",)})
    m = match_structure("SpinalCord", ["Medulla_Spinalis"], alias_table=table)
    assert (m.roi_name, m.rule) == ("Medulla_Spinalis", R.ALIAS_FILE)


def test_protocol_alias_wildcard_is_checked_case_insensitively_at_alias_rule() -> None:
    m = match_structure("SpinalCord", ["MEDULLA_2"], aliases=("medulla*",))
    assert (m.roi_name, m.rule) == ("MEDULLA_2", R.ALIAS_FILE)
    m = match_structure("SpinalCord", ["MEDULLA"], aliases=("Medulla",))
    assert (m.roi_name, m.rule) == ("MEDULLA", R.ALIAS_FILE)


def test_alias_file_can_match_a_prv_when_asked_explicitly() -> None:
    table = AliasTable({"SpinalCord": ("*cord*",)})
    m = match_structure("SpinalCord", ["Body", "Cord_PRV5mm"], alias_table=table)
    assert (m.status, m.roi_name, m.rule) == (S.MATCHED, "Cord_PRV5mm", R.ALIAS_FILE)
    # without the table the PRV is not a spinal cord
    assert match_structure("SpinalCord", ["Body", "Cord_PRV5mm"]).status is S.MISSING


def test_alias_wildcard_matching_cord_and_prv_is_ambiguous_not_normalised() -> None:
    table = AliasTable({"SpinalCord": ("*cord*",)})
    m = match_structure("SpinalCord", ["Cord", "Cord_PRV5mm"], alias_table=table)
    assert (m.status, m.rule, m.candidates) == (S.AMBIGUOUS, R.ALIAS_FILE,
                                                ("Cord", "Cord_PRV5mm"))
    assert m.roi_name is None


# --- precedence ----------------------------------------------------------------------


def test_exact_wins_over_a_wildcard_that_matches_two() -> None:
    table = AliasTable({"SpinalCord": ("*cord*",)})
    m = match_structure("SpinalCord", ["Cord_PRV5mm", "SpinalCord", "cord"], alias_table=table)
    assert (m.status, m.roi_name, m.rule) == (S.MATCHED, "SpinalCord", R.EXACT)


def test_protocol_exact_alias_wins_over_alias_table() -> None:
    table = AliasTable({"SpinalCord": ("*cord*",)})
    m = match_structure("SpinalCord", ["Medulla", "Cord", "cord2"], aliases=("Medulla",),
                        alias_table=table)
    assert (m.roi_name, m.rule) == ("Medulla", R.EXACT)


def test_alias_file_wins_over_normalisation() -> None:
    table = AliasTable({"SpinalCord": ("medulla*",)})
    m = match_structure("SpinalCord", ["Spinal Cord", "Medulla_Spinalis"], alias_table=table)
    assert (m.roi_name, m.rule) == ("Medulla_Spinalis", R.ALIAS_FILE)


def test_table_for_another_structure_does_not_apply() -> None:
    table = AliasTable({"Esophagus": ("*cord*",)})
    m = match_structure("SpinalCord", ["Spinal Cord", "xcordx"], alias_table=table)
    assert (m.roi_name, m.rule) == ("Spinal Cord", R.TG263)


# --- rule 3: TG-263 normalisation ------------------------------------------------------


@pytest.mark.parametrize(("roi", "standard"), [
    ("Spinal Cord", "SpinalCord"),
    ("SPINAL_CORD", "SpinalCord"),
    ("spinal-cord", "SpinalCord"),
    ("Cord", "SpinalCord"),
    ("CORD", "SpinalCord"),
    ("Oesophagus", "Esophagus"),
    ("OESOPHAGUS", "Esophagus"),
    ("Small Bowel", "Bowel_Small"),
    ("SmallBowel", "Bowel_Small"),
    ("bowel small", "Bowel_Small"),
    ("Large Bowel", "Bowel_Large"),
    ("HEART", "Heart"),
    ("Lung Total", "Lungs"),
    ("Both Lungs", "Lungs"),
    ("lungs", "Lungs"),
    ("Chiasm", "OpticChiasm"),
    ("Optic Chiasm", "OpticChiasm"),
    ("Optic Nerve Lt", "OpticNrv_L"),
    ("Brain Stem", "Brainstem"),
    ("Cauda", "CaudaEquina"),
    ("Sacral Plexus", "SacralPlexus"),
    ("Sacral Plexus", "SacralPlex"),
    ("Brachial Plexus Rt", "BrachialPlex_R"),
])
def test_normalisation_matches(roi: str, standard: str) -> None:
    m = match_structure(standard, ["Body", roi, "PTV_30Gy"])
    assert (m.status, m.roi_name, m.rule) == (S.MATCHED, roi, R.TG263)


def test_no_fuzzy_matching() -> None:
    for roi in ("SpinalCrd", "Esophagu", "Heart2", "Lung", "Bowel", "Femur_Head"):
        assert match_structure("SpinalCord", [roi]).status is S.MISSING
    assert match_structure("Lungs", ["Lung", "Lung_L", "Lung_R"]).status is S.MISSING
    assert match_structure("Femur_Head_L", ["Femur_Head"]).status is S.MISSING


LEFT_FORMS = ["Lt Femoral Head", "Femur_Head_Lt", "FEMUR HEAD LEFT", "femoral head (L)",
              "Left Femoral Head", "L Femur Head", "femur-head-l", "Femoral Head Lt."]
RIGHT_FORMS = ["Rt Femoral Head", "Femur_Head_Rt", "FEMUR HEAD RIGHT", "femoral head (R)",
               "Right Femoral Head", "R Femur Head", "femur-head-r", "Femoral Head Rt."]


@pytest.mark.parametrize("roi", LEFT_FORMS)
def test_left_forms_match_left_and_never_right(roi: str) -> None:
    assert normalise_name(roi) == "femurhead_l"
    m = match_structure("Femur_Head_L", ["Body", roi])
    assert (m.status, m.roi_name, m.rule) == (S.MATCHED, roi, R.TG263)
    assert match_structure("Femur_Head_R", ["Body", roi]).status is S.MISSING


@pytest.mark.parametrize("roi", RIGHT_FORMS)
def test_right_forms_match_right_and_never_left(roi: str) -> None:
    assert normalise_name(roi) == "femurhead_r"
    assert match_structure("Femur_Head_R", [roi]).roi_name == roi
    assert match_structure("Femur_Head_L", [roi]).status is S.MISSING


def test_both_sides_present_each_gets_its_own() -> None:
    rois = ["Rt Femoral Head", "Lt Femoral Head"]
    assert match_structure("Femur_Head_L", rois).roi_name == "Lt Femoral Head"
    assert match_structure("Femur_Head_R", rois).roi_name == "Rt Femoral Head"


def test_contradictory_laterality_keeps_no_side() -> None:
    assert normalise_name("L Femur Head R") == "lfemurheadr"
    assert match_structure("Femur_Head_L", ["L Femur Head R"]).status is S.MISSING
    assert match_structure("Femur_Head_R", ["L Femur Head R"]).status is S.MISSING


def test_lone_side_word_is_not_laterality() -> None:
    assert normalise_name("L") == "l"
    assert normalise_name("Left") == "left"


def test_normalise_examples() -> None:
    assert normalise_name("Femur_Head_L") == "femurhead_l"
    assert normalise_name("Oesophagus") == "esophagus"
    assert normalise_name("Spinal Cord") == normalise_name("SpinalCord") == "spinalcord"
    assert normalise_name("Small Bowel") == "bowelsmall"
    assert normalise_name("___") == ""


# --- exclusions of derived helpers ---------------------------------------------------


@pytest.mark.parametrize("roi", ["Cord_PRV5mm", "zCord", "_Cord", "z_Cord", "Cord+5mm",
                                 "CordPRV", "Cord_opt", "Cord ring", "Cord_avoid",
                                 "Cord_exp3mm", "Cord minus PTV", "Cord-PTV"])
def test_helpers_never_match_an_organ_by_normalisation(roi: str) -> None:
    assert is_helper_name(roi)
    m = match_structure("SpinalCord", ["Body", roi])
    assert m.status is S.MISSING
    # ...and the real cord still wins alone
    m = match_structure("SpinalCord", [roi, "Spinal Cord"])
    assert (m.status, m.roi_name) == (S.MATCHED, "Spinal Cord")


def test_helper_with_organ_normal_form_is_excluded() -> None:
    # "_Cord" normalises to the spinal cord's form; only the exclusion stops it
    assert normalise_name("_Cord") == "spinalcord"
    assert match_structure("SpinalCord", ["_Cord"]).status is S.MISSING


@pytest.mark.parametrize("roi", ["OpticChiasm", "Optic_Nerve_L", "Heart", "Lungs", "PTV_30Gy"])
def test_organs_and_targets_are_not_helpers(roi: str) -> None:
    assert not is_helper_name(roi)


def test_exact_rule_matches_helpers_when_named() -> None:
    m = match_structure("SpinalCord", ["zCord"], aliases=("zCord",))
    assert (m.roi_name, m.rule) == ("zCord", R.EXACT)


def test_prv_standard_name_matches_prv_by_normalisation() -> None:
    m = match_structure("SpinalCord_PRV05", ["Spinal Cord", "Spinal Cord PRV05"])
    assert (m.roi_name, m.rule) == ("Spinal Cord PRV05", R.TG263)


# --- targets -------------------------------------------------------------------------


@pytest.mark.parametrize(("standard", "roi"), [
    ("PTV", "PTV_30Gy"), ("PTV", "PTV1"), ("PTV", "PTV 30"), ("PTV", "ptv"),
    ("PTV", "PTV30Gy"), ("PTV", "PTV.high"), ("GTV", "GTV_p"), ("CTV", "CTV 54"),
])
def test_target_prefix_matches(standard: str, roi: str) -> None:
    m = match_structure(standard, ["Body", "Rectum", roi])
    assert (m.status, m.roi_name, m.rule) == (S.MATCHED, roi, R.TG263)


@pytest.mark.parametrize("roi", ["PTVboost", "iPTV", "PTV_opt", "PTV+5mm", "PTV_ring",
                                 "zPTV_30", "PTV_PRV", "PTV avoid", "PTV_exp5", "Rectum-PTV",
                                 "CTV"])
def test_target_prefix_rejects(roi: str) -> None:
    assert match_structure("PTV", ["Body", roi]).status is S.MISSING


def test_target_prefix_applies_only_to_bare_target_names() -> None:
    assert match_structure("PTV_High", ["PTV_30Gy"]).status is S.MISSING
    assert match_structure("Heart", ["Heart2"]).status is S.MISSING


def test_two_ptvs_are_ambiguous() -> None:
    m = match_structure("PTV", ["Body", "PTV1", "CTV1", "PTV2"])
    assert (m.status, m.rule, m.candidates, m.roi_name) == (
        S.AMBIGUOUS, R.TG263, ("PTV1", "PTV2"), None)
    assert m.describe() == "PTV: ambiguous: 'PTV1', 'PTV2' (tg263_normalised)"


def test_exact_ptv_wins_over_ambiguous_prefixes() -> None:
    m = match_structure("PTV", ["PTV1", "PTV", "PTV2"])
    assert (m.status, m.roi_name, m.rule) == (S.MATCHED, "PTV", R.EXACT)


def test_duplicate_roi_names_are_ambiguous() -> None:
    m = match_structure("SpinalCord", ["SpinalCord", "Body", "SpinalCord"])
    assert (m.status, m.rule, m.candidates) == (S.AMBIGUOUS, R.EXACT,
                                                ("SpinalCord", "SpinalCord"))
    assert m.describe() == ("SpinalCord: ambiguous: 'SpinalCord', 'SpinalCord' "
                            "(exact; duplicate ROI names)")
    m = match_structure("SpinalCord", ["Spinal Cord", "CORD"])
    assert (m.status, m.rule, m.candidates) == (S.AMBIGUOUS, R.TG263, ("Spinal Cord", "CORD"))


# --- missing and describe ------------------------------------------------------------


def test_missing() -> None:
    m = match_structure("SpinalCord", ["Body", "Heart", "PTV"])
    assert (m.status, m.roi_name, m.rule, m.candidates) == (S.MISSING, None, None, ())
    assert m.describe() == ("SpinalCord: no ROI matched "
                            "(tried exact, alias file, TG-263 normalisation)")
    assert match_structure("SpinalCord", []).status is S.MISSING


def test_describe_matched() -> None:
    m = match_structure("SpinalCord", ["Spinal Cord"])
    assert m.describe() == "SpinalCord ← 'Spinal Cord' (tg263_normalised)"


def test_a_single_string_is_rejected_as_roi_list() -> None:
    with pytest.raises(TypeError, match="sequences"):
        match_structure("SpinalCord", "SpinalCord")
    with pytest.raises(TypeError, match="sequences"):
        match_structure("SpinalCord", ["Cord"], aliases="Cord")


# --- StructureMatch is valid from birth ----------------------------------------------


@pytest.mark.parametrize("kwargs", [
    {"status": "matched", "roi_name": None, "rule": "exact", "candidates": ()},
    {"status": "matched", "roi_name": "A", "rule": None, "candidates": ("A",)},
    {"status": "matched", "roi_name": "A", "rule": "exact", "candidates": ("A", "B")},
    {"status": "ambiguous", "roi_name": None, "rule": "exact", "candidates": ("A",)},
    {"status": "ambiguous", "roi_name": "A", "rule": "exact", "candidates": ("A", "B")},
    {"status": "missing", "roi_name": None, "rule": "exact", "candidates": ()},
    {"status": "missing", "roi_name": None, "rule": None, "candidates": ("A",)},
])
def test_inconsistent_match_is_rejected(kwargs: dict[str, object]) -> None:
    with pytest.raises(ValueError, match="inconsistent"):
        StructureMatch("SpinalCord", **kwargs)  # type: ignore[arg-type]


def test_strings_are_coerced_to_enums_and_match_is_frozen() -> None:
    m = StructureMatch("SpinalCord", "matched", "Cord", "tg263_normalised",  # type: ignore[arg-type]
                       ["Cord"])  # type: ignore[arg-type]
    assert m.status is S.MATCHED and m.rule is R.TG263 and m.candidates == ("Cord",)
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'roi_name'"):
        m.roi_name = "x"  # type: ignore[misc]
    with pytest.raises(ValueError, match="empty"):
        StructureMatch(" ", S.MISSING, None, None, ())


# --- AliasTable ----------------------------------------------------------------------


def test_alias_table_load(tmp_path: Path) -> None:
    path = _write(tmp_path, "SpinalCord: ['*cord*', Medulla]\nPTV: 'PTV_high*'\n")
    table = AliasTable.load(path)
    assert table.patterns == {"SpinalCord": ("*cord*", "Medulla"), "PTV": ("PTV_high*",)}
    assert table.source == str(path)
    assert table.patterns_for("spinalcord") == ("*cord*", "Medulla")
    assert table.patterns_for("Heart") == ()
    m = match_structure("PTV", ["PTV1", "PTV_HIGH_60"], alias_table=table)
    assert (m.roi_name, m.rule) == ("PTV_HIGH_60", R.ALIAS_FILE)


def test_alias_table_empty_and_immutable() -> None:
    table = AliasTable.empty()
    assert len(table.patterns) == 0 and table.patterns_for("SpinalCord") == ()
    with pytest.raises(TypeError, match="does not support item assignment"):
        table.patterns["SpinalCord"] = ("x",)  # type: ignore[index]


@pytest.mark.parametrize(("text", "field", "fragment"), [
    ("- SpinalCord\n- Esophagus\n", None, "got a list"),
    ("just text\n", None, "got a str"),
    ("", None, "got an empty file"),
    ("SpinalCord: [1, 2]\n", "SpinalCord", "pattern 1 is 1 (int)"),
    ("SpinalCord: ['cord', 3.5]\n", "SpinalCord", "pattern 2 is 3.5 (float)"),
    ("SpinalCord: ['']\n", "SpinalCord", "pattern 1 is ''"),
    ("SpinalCord: 7\n", "SpinalCord", "got int"),
    ("SpinalCord: {a: b}\n", "SpinalCord", "got dict"),
    ("SpinalCord:\n", "SpinalCord", "got NoneType"),
    ("12: ['cord']\n", "12", "standard name 12"),
    ("SpinalCord: [*cord*]\n", None, "quote patterns that start with '*'"),
    ("SpinalCord: [a\n", None, "not valid YAML"),
])
def test_alias_file_errors_name_the_file(tmp_path: Path, text: str, field: str | None,
                                         fragment: str) -> None:
    path = _write(tmp_path, text)
    with pytest.raises(ConfigError, match=re.escape(fragment)) as info:
        AliasTable.load(path)
    message = str(info.value)
    assert message.startswith(f"{path}: ")
    assert fragment in message
    assert "\n" not in message
    assert info.value.path == str(path)
    assert info.value.field == field


def test_alias_file_unreadable(tmp_path: Path) -> None:
    missing = tmp_path / "nope.yaml"
    with pytest.raises(ConfigError, match="cannot read the alias file") as info:
        AliasTable.load(missing)
    assert str(info.value).startswith(f"{missing}: ")
    with pytest.raises(ConfigError, match="cannot read the alias file"):
        AliasTable.load(tmp_path)  # a directory
    binary = tmp_path / "bin.yaml"
    binary.write_bytes(b"\xff\xfe\x00bad")
    with pytest.raises(ConfigError, match="not UTF-8") as info:
        AliasTable.load(binary)
    assert info.value.path == str(binary)


def test_alias_table_built_in_code_is_validated() -> None:
    with pytest.raises(ConfigError, match="pattern 1 is 5") as info:
        AliasTable({"SpinalCord": [5]})  # type: ignore[dict-item]
    assert info.value.field == "SpinalCord"
    with pytest.raises(ConfigError, match="must be a mapping"):
        AliasTable([("SpinalCord", ("x",))])  # type: ignore[arg-type]
    assert AliasTable({"PTV": "PTV*"}).patterns == {"PTV": ("PTV*",)}  # type: ignore[dict-item]


# --- pickling ------------------------------------------------------------------------


def test_pickle_round_trip(tmp_path: Path) -> None:
    table = AliasTable.load(_write(tmp_path, "SpinalCord: ['*cord*']\n"))
    matches = [
        match_structure("SpinalCord", ["Cord_PRV5mm"], alias_table=table),
        match_structure("PTV", ["PTV1", "PTV2"]),
        match_structure("Heart", ["Body"]),
    ]
    for obj in (table, AliasTable.empty(), *matches):
        copy = pickle.loads(pickle.dumps(obj))
        assert copy == obj and hash(copy) == hash(obj)
    restored = pickle.loads(pickle.dumps(table))
    assert match_structure("SpinalCord", ["xCORDx"], alias_table=restored).roi_name == "xCORDx"


def test_alias_tables_hash_by_content() -> None:
    a = AliasTable({"A": ("x",), "B": ("y",)})
    b = AliasTable({"B": ("y",), "A": ("x",)})
    assert a == b and hash(a) == hash(b)
    assert a != AliasTable({"A": ("x",)})


# --- properties ----------------------------------------------------------------------

FRAGMENTS = ["SpinalCord", "Spinal Cord", "CORD", "Cord_PRV5mm", "zCord", "_Cord", "PTV",
             "PTV1", "PTV_30Gy", "PTV_opt", "Lt Femoral Head", "Femur_Head_R", "Oesophagus",
             "Esophagus", "Lungs", "Lung Total", "Medulla", "Body", "Heart", "medulla_x"]
STANDARDS = ["SpinalCord", "PTV", "Femur_Head_L", "Esophagus", "Lungs", "Heart"]
TABLE = {"SpinalCord": ("*cord*",), "ptv": ("ptv?",), "Heart": ("h*t",)}

roi_lists = st.lists(
    st.one_of(st.sampled_from(FRAGMENTS), st.text(alphabet="LRtcordPTVhe _-.*z+013", max_size=10)),
    max_size=8)


@settings(max_examples=300, deadline=None)
@given(standard=st.sampled_from(STANDARDS), names=roi_lists,
       aliases=st.lists(st.sampled_from(["Medulla", "med*", "PTV_High*", "Cord", "Heart"]),
                        max_size=2),
       use_table=st.booleans())
def test_result_comes_from_the_first_rule_with_candidates(
    standard: str, names: list[str], aliases: list[str], use_table: bool
) -> None:
    table = AliasTable(TABLE) if use_table else None
    m = match_structure(standard, names, aliases=aliases, alias_table=table)

    patterns = [*(TABLE.get(standard, ()) if use_table else ()),
                *(TABLE["ptv"] if use_table and standard == "PTV" else ()), *aliases]
    exact = tuple(n for n in names if n == standard or n in aliases)
    alias = tuple(n for n in names
                  if any(fnmatch.fnmatchcase(n.casefold(), p.casefold()) for p in patterns))

    assert set(m.candidates) <= set(names)
    if m.status is S.MATCHED:
        assert m.roi_name in names and names.count(m.roi_name) == 1
        assert m.candidates == (m.roi_name,)
    if m.status is S.AMBIGUOUS:
        assert m.roi_name is None and len(m.candidates) > 1
    if m.rule is R.EXACT:
        assert m.candidates == exact
    elif m.rule is R.ALIAS_FILE:
        assert not exact and m.candidates == alias
    elif m.rule is R.TG263:
        assert not exact and not alias
        assert all(not is_helper_name(c) for c in m.candidates)
    else:
        assert m.status is S.MISSING and not exact and not alias
        wanted = normalise_name(standard)
        assert not [n for n in names if not is_helper_name(n) and normalise_name(n) == wanted]


@settings(max_examples=300, deadline=None)
@given(name=st.one_of(st.sampled_from(FRAGMENTS + LEFT_FORMS + RIGHT_FORMS),
                      st.text(alphabet="LlRrtefigh _-.()cordsmalbwe", max_size=16)))
def test_normalisation_is_idempotent(name: str) -> None:
    once = normalise_name(name)
    assert normalise_name(once) == once


SIDE_WORDS = {"l": ["L", "Lt", "Left", "l", "LEFT", "(L)"],
              "r": ["R", "Rt", "Right", "r", "RIGHT", "(R)"]}


@given(body=st.sampled_from(["Femoral Head", "Femur_Head", "Lung", "Kidney", "Optic Nerve",
                             "Parotid"]),
       side=st.sampled_from(["l", "r"]), data=st.data(),
       sep=st.sampled_from([" ", "_", "-", ".", "  "]), prefix=st.booleans())
def test_laterality_is_kept_and_never_flipped(body: str, side: str, data: st.DataObject,
                                              sep: str, prefix: bool) -> None:
    word = data.draw(st.sampled_from(SIDE_WORDS[side]))
    name = f"{word}{sep}{body}" if prefix else f"{body}{sep}{word}"
    assert normalise_name(name) == f"{normalise_name(body)}_{side}"
