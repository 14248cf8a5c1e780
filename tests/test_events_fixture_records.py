"""`rtcheck endpoints --records` on the shipped spine plan's RT Beams Treatment Records.

fixtures/cohort/spine01_events.csv has no treatment rows: the start of follow-up comes
only from fixtures/spine_sbrt/RT1-3.dcm (PatientID RTCHECK-SPINE01), whose last fraction
was delivered on 2026-01-16 08:51 +01:00.
"""

from __future__ import annotations

from datetime import date

import pytest
from click.testing import CliRunner

from rtcheck.cli import cli
from rtcheck.errors import EventDataError
from rtcheck.events import analyse_file
from tests.conftest import FIXTURES

EVENTS = FIXTURES / "cohort" / "spine01_events.csv"
RECORDS = FIXTURES / "spine_sbrt"


def test_start_comes_from_the_last_delivered_fraction() -> None:
    result = analyse_file(EVENTS, date(2026, 7, 1), [RECORDS])
    (patient,) = result.patients
    assert patient.patient_id == "RTCHECK-SPINE01"
    assert patient.start.start_date == date(2026, 1, 16)
    os_ = patient.endpoint("os")
    assert os_ is not None
    # 2026-01-16 -> last follow-up 2026-06-01: 136 days, censored
    assert (os_.duration_days, os_.event_observed) == (136, False)
    assert os_.duration_months == pytest.approx(136 / 30.4375)
    # baseline 4.2 ng/mL (2026-01-05); week-12 value = day 84 = 2026-04-10: 1.1 ng/mL
    assert patient.psa.week12_date == date(2026, 4, 10)
    assert patient.psa.week12_change_pct == pytest.approx((1.1 - 4.2) / 4.2 * 100)
    # 1.1 <= 50 % of 4.2, confirmed by 0.9 on 2026-05-20 (40 days >= 28 days later)
    assert patient.psa.response and patient.psa.response_confirm_date == date(2026, 5, 20)


def test_without_records_there_is_no_start_date() -> None:
    with pytest.raises(EventDataError, match=r"no patient can be analysed: all 1 registered "
                                             r"patient\(s\) are excluded") as caught:
        analyse_file(EVENTS, date(2026, 7, 1))
    assert any("RTCHECK-SPINE01" in p and "start date missing" in p for p in caught.value.problems)


def test_cli_with_records() -> None:
    result = CliRunner().invoke(
        cli, ["endpoints", str(EVENTS), "--cutoff", "2026-07-01", "--records", str(RECORDS)]
    )
    assert result.exit_code == 0, result.stderr
    assert "RTCHECK-SPINE01  2026-01-16  RT" in result.stdout
