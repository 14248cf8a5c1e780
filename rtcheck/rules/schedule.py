"""Fraction times: the :class:`FractionTime` type and the treatment-schedule reader.

A schedule is exported from the oncology information system and lists the planned
(or delivered) date-time of every fraction. Two formats are read:

* CSV (``.csv``, comma- or semicolon-separated, header row) with the columns
  ``fraction`` and ``datetime`` (ISO 8601, e.g. ``2026-01-12T08:30:00+01:00``), or
  ``fraction``, ``date`` (``2026-01-12``) and ``time`` (``08:30``). An optional
  ``timezone`` column holds a UTC offset (``+01:00``, ``Z``) or an IANA zone
  (``Europe/Berlin``) for date-times written without an offset; when both are
  given they must agree. No other column is accepted.
* YAML (``.yaml``/``.yml``): a list of mappings with the same keys, e.g.
  ``- {fraction: 1, datetime: "2026-01-12T08:30:00+01:00"}``.

A time without offset and without zone is kept as a naive wall-clock time
(``timezone_known=False``); the spacing rule then treats gaps near a bound as not
evaluated. The reader refuses, with an :class:`~rtcheck.errors.InputError` naming
the file, the row (line number in the CSV, entry number in YAML) and the field:
an empty file, unknown or missing columns, a bad fraction number, a bad date, time
or zone, a local time that does not exist or occurs twice in its zone (DST
change), a duplicate fraction, times mixing offsets and no offsets, and times that
do not increase with the fraction number.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from itertools import pairwise
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from rtcheck.errors import InputError

SOURCES = ("record", "schedule")
"""Where a fraction time comes from: a treatment record or a schedule file."""

_DATETIME_COLUMNS = frozenset({"fraction", "datetime", "timezone"})
_DATE_TIME_COLUMNS = frozenset({"fraction", "date", "time", "timezone"})
_OFFSET = re.compile(r"^([+-])(\d{2}):?(\d{2})$")
_EXAMPLE = "e.g. 2026-01-12T08:30:00+01:00"
_T = TypeVar("_T")


@dataclass(frozen=True)
class FractionTime:
    """When one fraction was delivered (record) or is planned (schedule).

    Attributes
    ----------
    fraction
        Fraction number, 1-based.
    datetime_utc
        The instant, timezone-aware in UTC; ``None`` when the time zone is unknown
        (naive wall-clock time) or the date is missing.
    local_text
        The date-time as recorded, for reports (empty when missing).
    source
        ``"record"`` or ``"schedule"``.
    path
        The file it comes from.
    timezone_known
        True when the time carried a UTC offset or zone (then ``datetime_utc`` is set).
    wall_clock
        Local wall-clock time, naive; ``None`` when the date is missing. For a
        time with known zone it is derived from ``datetime_utc`` when not given.
    """

    fraction: int
    datetime_utc: datetime | None
    local_text: str
    source: str
    path: str
    timezone_known: bool
    wall_clock: datetime | None = None

    def __post_init__(self) -> None:
        if self.fraction < 1:
            raise ValueError(f"fraction number must be >= 1, got {self.fraction}")
        if self.source not in SOURCES:
            raise ValueError(f"source must be one of {SOURCES}, got {self.source!r}")
        if self.wall_clock is not None and self.wall_clock.tzinfo is not None:
            raise ValueError("wall_clock must be naive (local wall-clock time)")
        if self.timezone_known:
            self._check_aware()
        elif self.datetime_utc is not None:
            raise ValueError("datetime_utc must be None when the time zone is unknown")

    def _check_aware(self) -> None:
        instant = self.datetime_utc
        if instant is None or instant.utcoffset() is None:
            raise ValueError("timezone_known needs a timezone-aware datetime_utc")
        object.__setattr__(self, "datetime_utc", instant.astimezone(UTC))
        if self.wall_clock is None:
            object.__setattr__(self, "wall_clock", instant.replace(tzinfo=None))

    @property
    def has_time(self) -> bool:
        """True when the fraction has a date-time at all."""
        return self.wall_clock is not None


@dataclass(frozen=True)
class _Row:
    """One schedule row: where it is in the file and its non-empty cells."""

    where: str
    cells: Mapping[str, str]
    columns: frozenset[str]


class _RowError(Exception):
    def __init__(self, column: str, what: str):
        super().__init__(what)
        self.column = column
        self.what = what


def read_schedule(path: str | Path) -> tuple[FractionTime, ...]:
    """Read a fraction schedule (CSV or YAML), validated and sorted by fraction.

    Parameters
    ----------
    path
        ``.csv``, ``.yaml`` or ``.yml`` file; see the module docstring for the format.

    Returns
    -------
    tuple of FractionTime
        One per fraction, ``source="schedule"``, ascending fraction number.

    Raises
    ------
    InputError
        Naming the file, the row and the field, for every problem listed in the
        module docstring.
    """
    name = str(path)
    rows = _rows(Path(path))
    if not rows:
        raise InputError("no fraction rows; export at least one fraction", path=name)
    times = tuple(_fraction_time(row, name) for row in rows)
    _check_schedule(times, rows, name)
    return tuple(sorted(times, key=lambda t: t.fraction))


def _rows(path: Path) -> list[_Row]:
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".yaml", ".yml"):
        raise InputError(f"unknown schedule format {suffix!r}; give a .csv or .yaml file",
                         path=path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot be read ({exc}); give a readable UTF-8 file",
                         path=path) from None
    return _csv_rows(text, path) if suffix == ".csv" else _yaml_rows(text, path)


def _check_columns(columns: set[str], where: str, path: Path) -> None:
    if "fraction" not in columns:
        raise InputError(f"{where}: column 'fraction' missing; add the fraction number",
                         path=path, field="fraction")
    unknown = columns - _DATETIME_COLUMNS - _DATE_TIME_COLUMNS
    if unknown:
        raise InputError(
            f"{where}: unknown column(s) {', '.join(sorted(unknown))}; use fraction + datetime "
            "(or date + time), optionally timezone", path=path, field=sorted(unknown)[0])
    if not (columns <= _DATETIME_COLUMNS or columns <= _DATE_TIME_COLUMNS) or not (
        "datetime" in columns or {"date", "time"} <= columns
    ):
        raise InputError(f"{where}: give either a 'datetime' column or 'date' and 'time' "
                         "columns (not both)", path=path, field="datetime")


def _csv_rows(text: str, path: Path) -> list[_Row]:
    first = text.split("\n", 1)[0]
    delimiter = ";" if ";" in first and "," not in first else ","
    reader = csv.reader(text.splitlines(), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(reader, [])]
    if not any(header):
        raise InputError("empty file; export the schedule with a header row "
                         "(fraction,datetime)", path=path)
    _check_columns(set(header) - {""}, "header", path)
    rows: list[_Row] = []
    for cells in reader:
        if not any(cell.strip() for cell in cells):
            continue
        where = f"row {reader.line_num}"
        if len(cells) > len(header):
            raise InputError(f"{where}: {len(cells)} cells for {len(header)} columns; "
                             "remove the extra cells", path=path)
        rows.append(_Row(where, {k: v.strip() for k, v in zip(header, cells, strict=False)
                                 if k and v.strip()}, frozenset(header)))
    return rows


def _yaml_rows(text: str, path: Path) -> list[_Row]:
    try:
        data = yaml.load(text, Loader=yaml.BaseLoader)  # every scalar stays a string
    except yaml.YAMLError as exc:
        raise InputError(f"not valid YAML ({str(exc).splitlines()[0]}); fix the syntax",
                         path=path) from None
    if data is None or data == "":
        raise InputError("empty file; list the fractions as {fraction, datetime} entries",
                         path=path)
    if not isinstance(data, list):
        raise InputError("must be a list of {fraction, datetime} entries", path=path)
    rows: list[_Row] = []
    for number, entry in enumerate(data, start=1):
        where = f"entry {number}"
        if not isinstance(entry, dict):
            raise InputError(f"{where}: not a mapping; write {{fraction: 1, datetime: ...}}",
                             path=path)
        columns = frozenset(str(k).strip().lower() for k in entry)
        _check_columns(set(columns), where, path)
        rows.append(_Row(where, {str(k).strip().lower(): str(v).strip()
                                 for k, v in entry.items() if isinstance(v, str) and v.strip()},
                         columns))
    return rows


def _fraction_time(row: _Row, path: str) -> FractionTime:
    try:
        fraction = _fraction_number(row.cells.get("fraction", ""))
        local, text = _local_datetime(row)
        zone_text = row.cells.get("timezone", "")
        instant = _apply_zone(local, _zone(zone_text), zone_text) if zone_text else local
    except _RowError as err:
        raise InputError(f"{row.where}: {err.what}", path=path, field=err.column) from None
    aware = instant.utcoffset() is not None
    return FractionTime(
        fraction=fraction,
        datetime_utc=instant.astimezone(UTC) if aware else None,
        local_text=f"{text} {zone_text}".strip(),
        source="schedule",
        path=path,
        timezone_known=aware,
        wall_clock=instant.replace(tzinfo=None),
    )


def _fraction_number(text: str) -> int:
    if not text:
        raise _RowError("fraction", "missing; give the fraction number (1, 2, ...)")
    if not text.isdigit() or int(text) < 1:
        raise _RowError("fraction", f"{text!r} is not a fraction number; use 1, 2, ...")
    return int(text)


def _local_datetime(row: _Row) -> tuple[datetime, str]:
    """The row's date-time (aware when it has an offset) and its text as written."""
    if "datetime" in row.columns:
        text = row.cells.get("datetime", "")
        moment = _parse(text, "datetime", datetime.fromisoformat)
        if len(text) <= 10:  # a date alone parses as midnight: refuse it
            raise _RowError("datetime", f"{text!r} has no time of day; write {_EXAMPLE}")
        return moment, text
    day_text, time_text = row.cells.get("date", ""), row.cells.get("time", "")
    day = _parse(day_text, "date", date.fromisoformat)
    clock = _parse(time_text, "time", time.fromisoformat)
    return datetime.combine(day, clock), f"{day_text} {time_text}"


_KINDS = {"datetime": f"ISO 8601 date-time ({_EXAMPLE})", "date": "date (YYYY-MM-DD)",
          "time": "time (HH:MM or HH:MM:SS)"}


def _parse(text: str, column: str, parse: Callable[[str], _T]) -> _T:
    if not text:
        raise _RowError(column, f"missing; give the {_KINDS[column]}")
    try:
        return parse(text)
    except ValueError:
        raise _RowError(column, f"{text!r} is not an {_KINDS[column]}") from None


def _zone(text: str) -> tzinfo:
    """``+01:00``/``+0100``/``Z``/``UTC`` → fixed offset; anything else an IANA zone."""
    if text.upper() in ("Z", "UTC"):
        return UTC
    match = _OFFSET.match(text)
    if match:
        sign = 1 if match.group(1) == "+" else -1
        hours, minutes = int(match.group(2)), int(match.group(3))
        if minutes > 59 or hours > 14:
            raise _RowError("timezone", f"{text!r} is not a UTC offset between -14:00 and +14:00")
        return timezone(sign * timedelta(hours=hours, minutes=minutes))
    try:
        return ZoneInfo(text)
    except (ZoneInfoNotFoundError, ValueError):
        raise _RowError("timezone", f"{text!r} is neither a UTC offset (+01:00) nor an IANA "
                        "zone (Europe/Berlin); correct it") from None


def _apply_zone(local: datetime, zone: tzinfo, zone_text: str) -> datetime:
    """Attach ``zone`` to a naive local time, or check it against the written offset."""
    wall = local.replace(tzinfo=None)
    early, late = wall.replace(tzinfo=zone, fold=0), wall.replace(tzinfo=zone, fold=1)
    if early.utcoffset() != late.utcoffset() and local.utcoffset() is None:
        if early.astimezone(UTC).astimezone(zone).replace(tzinfo=None) != wall:
            raise _RowError("timezone", f"{wall.isoformat()} does not exist in {zone_text} "
                            "(clocks go forward); correct the time or give the UTC offset")
        raise _RowError("timezone", f"{wall.isoformat()} occurs twice in {zone_text} (clocks "
                        "go back); give the UTC offset in the datetime instead")
    if local.utcoffset() is None:
        return early
    if local.utcoffset() not in (early.utcoffset(), late.utcoffset()):
        raise _RowError("timezone", f"offset of {local.isoformat()} disagrees with {zone_text}; "
                        "correct one of them")
    return local


def _check_schedule(times: tuple[FractionTime, ...], rows: list[_Row], path: str) -> None:
    """Refuse duplicate fractions, mixed offset/no-offset rows and non-increasing times."""
    first_row: dict[int, str] = {}
    for t, row in zip(times, rows, strict=True):
        if t.fraction in first_row:
            raise InputError(f"{row.where}: fraction {t.fraction} already given in "
                             f"{first_row[t.fraction]}; keep one row per fraction",
                             path=path, field="fraction")
        first_row[t.fraction] = row.where
        if t.timezone_known != times[0].timezone_known:
            raise InputError(f"{row.where}: some rows have a UTC offset or zone and others not; "
                             "give it on every row (or a timezone column)",
                             path=path, field="datetime")
    ordered = sorted(zip(times, rows, strict=True), key=lambda pair: pair[0].fraction)
    for (before, _), (after, row) in pairwise(ordered):
        if _moment(after) <= _moment(before):
            raise InputError(f"{row.where}: fraction {after.fraction} ({after.local_text}) is not "
                             f"after fraction {before.fraction} ({before.local_text}); "
                             "correct the date-time or the fraction number",
                             path=path, field="datetime")


def _moment(t: FractionTime) -> datetime:
    """Comparable time: the UTC instant when known, else the wall-clock time."""
    moment = t.datetime_utc if t.timezone_known else t.wall_clock
    assert moment is not None  # schedule rows always have a time
    return moment
