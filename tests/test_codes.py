"""The finding-code registry (rtcheck/codes.py), Finding's validation and the README table."""

from __future__ import annotations

import ast
import json
import re
from pathlib import Path

import pytest

from rtcheck import codes, findings
from rtcheck.code_table import markdown_table
from rtcheck.codes import CODE_INFO, DOMAINS, Code, CodeInfo
from rtcheck.findings import Finding, Severity
from tests.conftest import REPO

PACKAGE = REPO / "rtcheck"
README_BLOCK = re.compile(
    r"<!-- finding-codes:begin[^\n]*-->\n(.*?)<!-- finding-codes:end -->", re.DOTALL
)


def test_every_code_is_registered_and_well_formed() -> None:
    assert set(CODE_INFO) == set(Code)
    for code in Code:
        assert code.name == code.value
        assert re.fullmatch(r"[A-Z][A-Z0-9]*(_[A-Z0-9]+)*", code.value), code
        info = CODE_INFO[code]
        assert isinstance(info, CodeInfo)
        assert info.domain in DOMAINS
        assert info.severities and all(isinstance(s, Severity) for s in info.severities)
        assert info.meaning.strip() and "\n" not in info.meaning and "|" not in info.meaning


def test_registry_is_read_only() -> None:
    with pytest.raises(TypeError):
        CODE_INFO[Code.FOR_MISMATCH] = CODE_INFO[Code.DOSE_MISSING]  # type: ignore[index]


def test_severity_is_shared_by_findings_and_codes() -> None:
    assert findings.Severity is codes.Severity


def test_readme_table_is_generated_from_the_registry() -> None:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    blocks = README_BLOCK.findall(text)
    assert len(blocks) == 1, "README needs exactly one finding-codes block"
    assert blocks[0] == markdown_table(), (
        "README finding-code table differs from rtcheck/codes.py: paste the output of "
        "`python -m rtcheck.code_table` between the finding-codes markers"
    )


def test_markdown_table_by_domain() -> None:
    total = 0
    for domain in DOMAINS:
        rows = markdown_table(domain).splitlines()[2:]
        expected = [c for c in Code if CODE_INFO[c].domain == domain]
        assert [r.split("`")[1] for r in rows] == [c.value for c in expected]
        total += len(rows)
    assert total == len(Code) == len(markdown_table().splitlines()) - 2
    assert "| `CONTOUR_IGNORED` | WARNING / ERROR | loader |" in markdown_table()
    with pytest.raises(ValueError, match="domain"):
        markdown_table("nonsense")


def test_unregistered_code_is_refused() -> None:
    with pytest.raises(ValueError, match=r"'NOT_A_REGISTERED_CODE'.*rtcheck/codes\.py"):
        Finding("NOT_A_REGISTERED_CODE", Severity.WARNING, "message")
    with pytest.raises(ValueError, match=r"rtcheck/codes\.py"):
        Finding("for_mismatch", Severity.ERROR, "lower case is not a code")


def test_disallowed_severity_is_refused() -> None:
    with pytest.raises(ValueError, match=r"FOR_MISMATCH.*INFO.*allowed: ERROR"):
        Finding("FOR_MISMATCH", Severity.INFO, "message")
    with pytest.raises(ValueError, match=r"allowed: WARNING / ERROR"):
        Finding(Code.CONTOUR_IGNORED, "INFO", "message")  # type: ignore[arg-type]


def test_registered_code_and_severity_are_accepted() -> None:
    f = Finding(Code.DOSE_BEAM_CROSSCHECK, "WARNING", "m", subject="s")  # type: ignore[arg-type]
    assert f.code == "DOSE_BEAM_CROSSCHECK" and type(f.code) is str
    assert f.severity is Severity.WARNING
    assert json.loads(json.dumps(f.to_dict()))["code"] == "DOSE_BEAM_CROSSCHECK"
    assert Finding("DOSE_BEAM_CROSSCHECK", Severity.INFO, "m") == Finding(
        Code.DOSE_BEAM_CROSSCHECK, Severity.INFO, "m")


def test_new_plan_check_codes() -> None:
    expected = {
        "GRID_BOUNDARY_ASSUMED": ("WARNING",), "RX_FROM_COMMAND_LINE": ("INFO", "WARNING"),
        "SPACING_PENDING": ("INFO",),
        "SPACING_TIMEZONE_UNKNOWN": ("WARNING",), "FRACTION_NOT_COMPLETED": ("WARNING",),
        "CHECK_BLOCKED": ("ERROR",),
        "COVERAGE_OAR_PRIORITY": ("INFO",),
    }
    for name, severities in expected.items():
        info = CODE_INFO[Code(name)]
        assert info.domain == "check", name
        assert tuple(s.value for s in info.severities) == severities, name
    assert CODE_INFO[Code.DOSE_IMPLAUSIBLE].severities == (Severity.ERROR,)
    assert CODE_INFO[Code.DOSE_IMPLAUSIBLE].domain == "loader"


# --- static scan of the package: the codes the source passes to Finding(...) ---------------


def _sources() -> list[Path]:
    return sorted(p for p in PACKAGE.rglob("*.py") if p.name != "codes.py")


def _is_finding_call(node: ast.AST) -> bool:
    if not isinstance(node, ast.Call):
        return False
    func = node.func
    name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
    return name == "Finding"


def _code_arg(call: ast.Call) -> ast.expr | None:
    if call.args:
        return call.args[0]
    return next((k.value for k in call.keywords if k.arg == "code"), None)


def _codes_in(expr: ast.expr) -> list[str]:
    """The literal codes of a code argument: ``"X"``, ``Code.X``, ``"X" if c else "Y"``.

    A code computed at run time (``d["code"]``, a variable) is not seen here; ``Finding``
    checks it when it is built.
    """
    if isinstance(expr, ast.Constant) and isinstance(expr.value, str):
        return [expr.value]
    if isinstance(expr, ast.IfExp):
        return _codes_in(expr.body) + _codes_in(expr.orelse)
    if (isinstance(expr, ast.Attribute) and isinstance(expr.value, ast.Name)
            and expr.value.id == "Code"):
        return [expr.attr]
    return []


def _finding_codes() -> list[tuple[str, int, str]]:
    found = []
    for path in _sources():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if _is_finding_call(node):
                assert isinstance(node, ast.Call)
                arg = _code_arg(node)
                if arg is not None:
                    rel = str(path.relative_to(REPO))
                    found += [(rel, node.lineno, code) for code in _codes_in(arg)]
    return found


def test_every_code_passed_to_finding_is_registered() -> None:
    found = _finding_codes()
    assert len(found) > 50, "the scan found too few Finding(...) calls; is it broken?"
    registered = {c.value for c in Code}
    unknown = [f"{path}:{line}: {code}" for path, line, code in found if code not in registered]
    assert not unknown, "register these codes in rtcheck/codes.py:\n" + "\n".join(unknown)


def test_every_registered_code_outside_check_is_used() -> None:
    """A code of the existing domains that no source mentions is a stale registry entry."""
    text = "\n".join(p.read_text(encoding="utf-8") for p in _sources())
    stale = [c.value for c in Code
             if CODE_INFO[c].domain != "check"
             and f'"{c.value}"' not in text and f"Code.{c.value}" not in text]
    assert not stale, f"codes registered but never emitted: {stale}"
