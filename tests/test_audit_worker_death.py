"""A worker process that dies (killed, out of memory) mid-audit: the pool is replaced, the
cases in flight are retried one by one, a case that kills its worker again becomes an
internal-error result, every other case gets the result a serial run gives, and the audit
log says what happened."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from io import StringIO
from pathlib import Path

import pytest

import rtcheck.audit.run as audit_run
from rtcheck.audit.backends import Outcome, local_pool, serial
from rtcheck.audit.discover import discover
from rtcheck.audit.run import AuditRun, _tasks, run_audit
from rtcheck.audit.task import AuditTask
from tests.audit_helpers import DOOMED, check_or_die, make_tree, medcare_config, stable

TREE = {"site_a": ["spine_sbrt", "spine_cord_overdose"], "site_b": ["pelvic_node_sbrt"]}


@pytest.fixture(scope="module")
def tasks(tmp_path_factory: pytest.TempPathFactory) -> list[AuditTask]:
    root = make_tree(tmp_path_factory.mktemp("tree"), TREE)
    return _tasks(discover(root, 1), medcare_config(), AuditRun())


def test_a_dying_worker_is_replaced_and_its_cases_retried(tasks: list[AuditTask]) -> None:
    notices: list[str] = []
    got = {task.case.key: record for task, record, _ in
           local_pool(tasks, 2, notices, check=check_or_die)}
    assert sorted(got) == sorted(t.case.key for t in tasks)  # each case exactly once
    doomed = got.pop(DOOMED).audit
    assert (doomed["status"], doomed["error_kind"]) == ("error", "internal")
    assert "worker process died while checking this case" in doomed["error"]
    expected = {task.case.key: record for task, record, _ in serial(tasks)
                if task.case.key != DOOMED}
    for key, record in got.items():  # the other cases: as checked serially
        assert stable({"audit": record.audit, "report": record.report}) == \
            stable({"audit": expected[key].audit, "report": expected[key].report}), key
    assert notices[0].startswith("a worker process died (killed or out of memory)")
    assert DOOMED in notices[0]
    assert notices[-1] == (f"case {DOOMED} killed its worker process again: recorded as an "
                           "internal error (check it alone with rtcheck check)")


def test_the_audit_log_says_a_worker_died(tmp_path: Path,
                                          monkeypatch: pytest.MonkeyPatch) -> None:
    root = make_tree(tmp_path / "tree", TREE)

    @contextmanager
    def dying_runner(workers: int, scheduler: str | None, notices: list[str]
                     ) -> Iterator[object]:
        def execute(todo: Iterable[AuditTask]) -> Iterator[Outcome]:
            return local_pool(todo, 2, notices, check=check_or_die)
        yield execute

    monkeypatch.setattr(audit_run, "runner", dying_runner)
    stream = StringIO()
    outcome = run_audit(root, tmp_path / "out", medcare_config(), AuditRun(workers=2),
                        stream=stream, bar=False)
    assert outcome.counts == {"PASS": 2, "FAIL": 0, "INCOMPLETE": 0, "ERROR": 1}
    log = (tmp_path / "out" / "audit.log").read_text(encoding="utf-8")
    assert "warning: a worker process died (killed or out of memory)" in log
    assert f"warning: case {DOOMED} killed its worker process again" in log
    assert "warning: a worker process died" in stream.getvalue()
