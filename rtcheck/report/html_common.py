"""What the HTML report and its DVH plots share: status order, labels, colours, escaping."""

from __future__ import annotations

import html

from rtcheck.rules.vocabulary import CheckStatus, Verdict

#: Row order of the check table (NOT_APPLICABLE rows are collapsed at the end).
ORDER = (CheckStatus.FAIL, CheckStatus.NOT_EVALUATED, CheckStatus.MINOR_DEVIATION,
         CheckStatus.PENDING, CheckStatus.PASS, CheckStatus.INFO, CheckStatus.NOT_APPLICABLE)
STATUS_LABEL = {CheckStatus.FAIL: "FAIL", CheckStatus.NOT_EVALUATED: "NOT EVALUATED",
                CheckStatus.MINOR_DEVIATION: "MINOR DEVIATION", CheckStatus.PENDING: "PENDING",
                CheckStatus.PASS: "PASS", CheckStatus.INFO: "INFO",
                CheckStatus.NOT_APPLICABLE: "N/A"}
#: (background, text) per status; used by the CSS badges and the DVH plot markers.
COLOR = {CheckStatus.FAIL: ("#c62828", "#ffffff"),
          CheckStatus.NOT_EVALUATED: ("#ef8f00", "#1a1a1a"),
          CheckStatus.MINOR_DEVIATION: ("#f4c430", "#1a1a1a"),
          CheckStatus.PENDING: ("#1565c0", "#ffffff"),
          CheckStatus.PASS: ("#2e7d32", "#ffffff"),
          CheckStatus.INFO: ("#607d8b", "#ffffff"),
          CheckStatus.NOT_APPLICABLE: ("#bdbdbd", "#1a1a1a")}
VERDICT_COLOR = {Verdict.PASS: ("#2e7d32", "#ffffff"), Verdict.FAIL: ("#c62828", "#ffffff"),
                  Verdict.INCOMPLETE: ("#ef8f00", "#1a1a1a")}
MARKER = {CheckStatus.FAIL: "X", CheckStatus.NOT_EVALUATED: "s",
           CheckStatus.MINOR_DEVIATION: "D", CheckStatus.PENDING: "^", CheckStatus.PASS: "o",
           CheckStatus.INFO: "P", CheckStatus.NOT_APPLICABLE: "."}


def e(value: object) -> str:
    """HTML-escape anything (``None`` as an empty string)."""
    return html.escape("" if value is None else str(value), quote=True)


def num(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value:.1f}" if abs(value) >= 1000 else f"{value:.4g}"
