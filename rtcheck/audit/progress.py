"""Audit progress: a tqdm bar on a terminal, plain log lines otherwise; always a log file.

The bar shows cases done of the total, the PASS / FAIL / INCOMPLETE / ERROR counts, the
rate and the ETA (tqdm). Without a terminal (CI, ``nohup``, a pipe), one line per
finished case goes to stderr. Every line also goes to ``OUT/audit.log``, prefixed with
its time (ISO 8601, UTC, to the second) and flushed line by line, so a killed audit keeps
its log; a resumed audit appends to the log, a new one (``--overwrite``) starts it
again. Lines name cases by their key as stored in the result (already anonymised with
``--anonymize``).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import IO, Any

from rtcheck.audit.manifest import utc_now
from rtcheck.audit.result_file import AuditRecord

VERDICTS = ("PASS", "FAIL", "INCOMPLETE", "ERROR")


def record_verdicts(record: AuditRecord) -> list[str]:
    """One verdict per plan case of a result (ERROR for an error result; INCOMPLETE for a
    folder whose check found no plan case)."""
    if record.report is None:
        return ["ERROR"]
    return [c["verdict"] for c in record.report["cases"]] or ["INCOMPLETE"]


class Progress:
    """Counts and shows finished cases."""

    def __init__(self, total: int, skipped: int, log_path: Path,
                 stream: IO[str] | None = None, bar: bool | None = None, *,
                 new_log: bool = False) -> None:
        self.total = total
        self.counts = dict.fromkeys(VERDICTS, 0)
        self.done = 0
        self._stream = stream or sys.stderr
        self._log = open(log_path, "w" if new_log else "a",  # noqa: SIM115
                         encoding="utf-8", buffering=1)
        use_bar = self._stream.isatty() if bar is None else bar
        self._bar: Any = None
        if use_bar:
            from tqdm import tqdm

            self._bar = tqdm(total=total, initial=skipped, unit="case", file=self._stream,
                             dynamic_ncols=True)
        self.done = skipped

    def note(self, line: str) -> None:
        """A line to the log file only, after its time stamp."""
        self._log.write(f"{utc_now()} {line}\n")

    def log(self, line: str) -> None:
        """A line to the log file and to stderr (above the bar on a terminal)."""
        self.note(line)
        if self._bar is not None:
            self._bar.write(line, file=self._stream)
        else:
            print(line, file=self._stream, flush=True)

    def count_existing(self, record: AuditRecord) -> None:
        """A result kept by ``--resume``: counted, not shown."""
        for verdict in record_verdicts(record):
            self.counts[verdict] += 1

    def finished(self, record: AuditRecord) -> None:
        self.done += 1
        verdicts = record_verdicts(record)
        for verdict in verdicts:
            self.counts[verdict] += 1
        line = f"[{self.done}/{self.total}] {'/'.join(verdicts):<10} {record.case}"
        if record.audit.get("error"):
            line += f": {record.audit['error']}"
        if self._bar is not None:
            self.note(line)
            if record.audit.get("error"):
                self._bar.write(line, file=self._stream)
            self._bar.set_postfix_str(self.count_text(), refresh=False)
            self._bar.update(1)
        else:
            self.log(line)

    def count_text(self) -> str:
        return ", ".join(f"{n} {v}" for v, n in self.counts.items())

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
        self._log.close()
