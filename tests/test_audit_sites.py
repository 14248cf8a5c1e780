"""Pre-flight checks of ``rtcheck audit``: alias files validated before any case runs,
site alias files that match no site, a site level that puts every case in ``(root)``."""

from __future__ import annotations

from pathlib import Path

import pytest

from rtcheck.audit.discover import discover
from rtcheck.audit.sites import load_alias_file, preflight, site_alias_files
from rtcheck.audit.task import AuditConfig
from rtcheck.errors import ConfigError, UsageError

GOOD = "SpinalCord: ['*cord*', MEDULLA]\nPTV: 'PTV_high*'\n"


def touch(path: Path, text: str = "x") -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def config(aliases: Path | None = None, site_aliases: Path | None = None) -> AuditConfig:
    return AuditConfig("medcare.yaml", "0" * 64, aliases=aliases and str(aliases),
                       site_aliases_dir=site_aliases and str(site_aliases))


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """ROOT/<site>/<case>: sites site_a and site_b, plus a (root) case."""
    root = tmp_path / "root"
    touch(root / "site_a" / "p1" / "RTPLAN" / "RP.dcm")
    touch(root / "site_a" / "p2" / "RP.dcm")
    touch(root / "site_b" / "p3" / "RP.dcm")
    return root


def test_nothing_to_check(tree: Path) -> None:
    assert preflight(discover(tree), config(), 1) == ()


def test_good_alias_files_give_no_warning(tree: Path, tmp_path: Path) -> None:
    aliases = touch(tmp_path / "all.yaml", GOOD)
    site_dir = tmp_path / "sites"
    touch(site_dir / "site_a.yaml", GOOD)
    touch(site_dir / "site_b.yml", GOOD)
    touch(site_dir / "README.txt", "not an alias file")
    touch(site_dir / ".site_c.yaml", "hidden: [skipped]")
    assert [p.name for p in site_alias_files(site_dir)] == ["site_a.yaml", "site_b.yml"]
    assert preflight(discover(tree), config(aliases, site_dir), 1) == ()


def test_a_bad_aliases_file_names_file_and_line(tree: Path, tmp_path: Path) -> None:
    bad = touch(tmp_path / "all.yaml", "SpinalCord: ['*cord*']\nBrainstem:\n  - 5\n")
    with pytest.raises(ConfigError) as err:
        preflight(discover(tree), config(aliases=bad), 1)
    assert str(err.value) == (
        f"{bad}:2: Brainstem: pattern 1 is 5 (int), not a non-empty string; quote it or "
        "remove it (given by --aliases)")
    assert (err.value.path, err.value.field) == (str(bad), "Brainstem")


def test_a_bad_site_alias_file_fails_even_when_no_site_uses_it(tree: Path,
                                                               tmp_path: Path) -> None:
    site_dir = tmp_path / "sites"
    touch(site_dir / "site_a.yaml", GOOD)
    bad = touch(site_dir / "site_z.yaml", "SpinalCord: ['*cord*']\nPTV: {high: 1}\n")
    with pytest.raises(ConfigError) as err:
        preflight(discover(tree), config(site_aliases=site_dir), 1)
    assert str(err.value) == (
        f"{bad}:2: PTV: patterns must be a list of strings or one string, got dict; write "
        "e.g. PTV: ['PTV*'] (given by --site-aliases, site site_z)")


def test_file_level_problems_name_their_line(tmp_path: Path) -> None:
    listing = touch(tmp_path / "list.yaml", "# aliases\n- PTV\n- CTV\n")
    with pytest.raises(ConfigError) as err:
        load_alias_file(listing, "--aliases")
    assert str(err.value) == (
        f"{listing}:2: the alias file must be a mapping of standard name to a list of "
        "patterns, e.g. SpinalCord: ['*cord*'], got a list; rewrite it in that form "
        "(given by --aliases)")

    syntax = touch(tmp_path / "syntax.yaml", "PTV: [PTV]\nSpinalCord: [*cord*]\n")
    with pytest.raises(ConfigError, match=r"syntax\.yaml:2: not valid YAML .*quote patterns "
                       r"that start with '\*', e.g. - '\*cord\*' \(given by --aliases\)$"):
        load_alias_file(syntax, "--aliases")

    empty = touch(tmp_path / "empty.yaml", "")
    with pytest.raises(ConfigError) as err:
        load_alias_file(empty, "--aliases")
    assert str(err.value) == (
        f"{empty}: the alias file must be a mapping of standard name to a list of patterns, "
        "e.g. SpinalCord: ['*cord*'], got an empty file; rewrite it in that form "
        "(given by --aliases)")

    with pytest.raises(ConfigError, match=r"missing\.yaml: cannot read the alias file"):
        load_alias_file(tmp_path / "missing.yaml", "--aliases")


def test_a_site_alias_file_that_matches_no_site(tree: Path, tmp_path: Path) -> None:
    site_dir = tmp_path / "sites"
    touch(site_dir / "site_a.yaml", GOOD)
    touch(site_dir / "site-b.yaml", GOOD)  # a typo
    touch(site_dir / "hospital9.yaml", GOOD)
    touch(tree / "fixture_case" / "RP.dcm")  # a (root) case: its site is listed too
    warnings = preflight(discover(tree), config(site_aliases=site_dir), 1)
    found = "sites found: (root), site_a, site_b"
    assert warnings == (
        f"--site-aliases: {site_dir / 'hospital9.yaml'} matches no site at --site-level 1 "
        f"({found}), so it is not used; rename it to <site>.yaml for the site it is meant "
        "for (or merge it into that site's file)",
        f"--site-aliases: {site_dir / 'site-b.yaml'} matches no site at --site-level 1 "
        f"({found}), so it is not used; rename it to site_b.yaml")


def test_every_case_in_root_suggests_a_site_level(tmp_path: Path) -> None:
    root = tmp_path / "root"  # ROOT/<centre>/<case>, audited with --site-level 2
    touch(root / "centre1" / "p1" / "RP.dcm")
    touch(root / "centre2" / "p2" / "RP.dcm")
    site_dir = tmp_path / "sites"
    touch(site_dir / "centre1.yaml", GOOD)
    touch(site_dir / "centre2.yaml", GOOD)
    cases = discover(root, site_level=2)
    assert {c.site for c in cases} == {"(root)"}
    assert preflight(cases, config(site_aliases=site_dir), 2) == (
        f"--site-aliases {site_dir}: every case is in the site (root) at --site-level 2, so "
        "no site alias file applies; give --site-level 1, the folder level that names the "
        "sites (1: ROOT/<site>/<case>)",)
    assert preflight(discover(root, site_level=1), config(site_aliases=site_dir), 1) == ()


def test_cases_directly_in_root_with_site_aliases(tmp_path: Path) -> None:
    root = tmp_path / "root"  # fixtures/ style: no site folders at all
    touch(root / "spine_sbrt" / "RP.dcm")
    touch(root / "pelvis" / "RP.dcm")
    site_dir = tmp_path / "sites"
    touch(site_dir / "site_a.yaml", GOOD)
    assert preflight(discover(root), config(site_aliases=site_dir), 1) == (
        f"--site-aliases {site_dir}: every case is in the site (root) at --site-level 1, so "
        "no site alias file applies; the case folders lie directly in ROOT: give as ROOT "
        "the folder that holds the site folders, or --aliases FILE for one alias file",)
    touch(site_dir / "(root).yaml", GOOD)  # an alias file for the (root) site applies
    assert preflight(discover(root), config(site_aliases=site_dir), 1) == (
        f"--site-aliases: {site_dir / 'site_a.yaml'} matches no site at --site-level 1 "
        "(sites found: (root)), so it is not used; rename it to <site>.yaml for the site it "
        "is meant for (or merge it into that site's file)",)


def test_empty_site_alias_folder_and_shadowed_yml(tree: Path, tmp_path: Path) -> None:
    site_dir = tmp_path / "sites"
    site_dir.mkdir()
    assert preflight(discover(tree), config(site_aliases=site_dir), 1) == (
        f"--site-aliases {site_dir}: holds no <site>.yaml alias file, so every site uses "
        "--aliases or its cases' rtcheck.yaml; add one file per site",)
    touch(site_dir / "site_a.yaml", GOOD)
    touch(site_dir / "site_a.yml", GOOD)
    assert preflight(discover(tree), config(site_aliases=site_dir), 1) == (
        f"--site-aliases: {site_dir / 'site_a.yml'} is not used: site_a.yaml of the same "
        "site takes precedence; merge the two files and remove one",)
    assert config(site_aliases=site_dir).aliases_for("site_a") == str(site_dir / "site_a.yaml")


def test_site_aliases_not_a_folder(tree: Path, tmp_path: Path) -> None:
    with pytest.raises(UsageError) as err:
        preflight(discover(tree), config(site_aliases=tmp_path / "nope"), 1)
    assert str(err.value) == (
        f"--site-aliases {tmp_path / 'nope'}: not a folder; give the folder that holds one "
        "<site>.yaml alias file per site")


def test_the_rename_hint_never_names_a_site_that_has_its_file(tree: Path, tmp_path: Path) -> None:
    """site_z.yaml is close to site_a and site_b, which both have their file: no rename onto
    an existing file is suggested (found by a new-user trial)."""
    site_dir = tmp_path / "sites"
    touch(site_dir / "site_a.yaml", GOOD)
    touch(site_dir / "site_b.yaml", GOOD)
    touch(site_dir / "site_z.yaml", GOOD)
    (warning,) = preflight(discover(tree), config(site_aliases=site_dir), 1)
    assert warning.endswith("so it is not used; rename it to <site>.yaml for the site it is "
                            "meant for (or merge it into that site's file)")
