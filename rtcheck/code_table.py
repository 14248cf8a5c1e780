"""The README's table of finding codes, generated from :data:`rtcheck.codes.CODE_INFO`.

``python -m rtcheck.code_table`` prints it; ``tests/test_codes.py`` checks the README
holds exactly this table.
"""

from __future__ import annotations

from rtcheck.codes import CODE_INFO, DOMAINS, Code, severity_text


def markdown_table(domain: str | None = None) -> str:
    """The README table of the codes of ``domain`` (every code when ``None``).

    Rows follow :data:`DOMAINS`, then the order of :class:`Code`. The table for every
    code has a ``domain`` column; a one-domain table does not. Ends with a newline.
    """
    if domain is not None and domain not in DOMAINS:
        raise ValueError(f"domain must be one of {DOMAINS}, got {domain!r}")
    rows = sorted(
        ((code, CODE_INFO[code]) for code in Code
         if domain is None or CODE_INFO[code].domain == domain),
        key=lambda item: DOMAINS.index(item[1].domain),  # stable: keeps the Code order
    )
    if domain is None:
        lines = ["| code | severity | domain | meaning |", "|---|---|---|---|"]
        lines += [f"| `{c.value}` | {severity_text(i.severities)} | {i.domain} | {i.meaning} |"
                  for c, i in rows]
    else:
        lines = ["| code | severity | meaning |", "|---|---|---|"]
        lines += [f"| `{c.value}` | {severity_text(i.severities)} | {i.meaning} |"
                  for c, i in rows]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover - ``python -m rtcheck.code_table``
    print(markdown_table(), end="")
