"""PSA endpoints: confirmed response, week-12 change (waterfall) and PCWG3 progression.

Sources: MEDCARE protocol, "Secondary endpoints" a. and b.; PCWG3, Scher HI et al.,
J Clin Oncol 2016;34:1402-1418 (protocol reference 31).

Definitions (all days counted from the start of follow-up, day 0)
-----------------------------------------------------------------
* Values used: PSA rows dated on or before the cut-off and, when NEST was started,
  on or before the first NEST day (later values measure the next-line treatment,
  not the MDT).
* Baseline: the last value on or before the start date.
* Response (protocol a.): a value <= 50 % of baseline (decline >= 50 %) confirmed by
  the first value drawn >= 28 days (4 weeks) later, which must also be <= 50 % of
  baseline. Values in between are ignored; the response date is the first value of
  the confirmed pair. A decline whose confirming value is not low enough (a bounce)
  is reported as unconfirmed. A decline without any value >= 28 days later is
  unconfirmed (``no``) when PSA follow-up ended before the cut-off (death, withdrawal
  or loss to follow-up, NEST); while the patient is still followed at the cut-off
  (interim analysis) the confirmation is pending and the response is ``not
  evaluable`` ("confirmation pending at the cut-off"). The 4 weeks are the protocol's
  (a.); the 3 weeks below are PCWG3's confirmation of progression.
* Week-12 change (waterfall): the value closest to day 84 within days 70-98
  inclusive (ties: the earlier value); change = (value - baseline) / baseline x 100 %.
* Progression (PCWG3): walking through the values in date order, the nadir at a
  value is the lowest of baseline and all earlier post-start values.
  - After a decline (nadir < baseline): a value >= 1.25 x nadir and >= nadir + 2 ng/mL,
  - without a decline: a value >= 1.25 x baseline and >= baseline + 2 ng/mL drawn on
    day >= 84 (12 weeks; earlier rises are ignored, PCWG3),
  confirmed in both cases by the first value drawn >= 21 days (3 weeks) later that
  also meets the criterion against the same reference. The progression date is the
  first rising value. PCWG3 asks confirmation for every PSA progression; the
  protocol's no-decline sentence is read the same way.
* Time to PSA progression is censored at the last value used.

Values below the limit of detection (``<L``, a left-censored value: the true value is
somewhere in [0, L]; :class:`~rtcheck.events.schema.PsaValue` ``below_lod``):

* For a decline it counts as <= L: it is a >= 50 % decline (and confirms one) when
  L <= 50 % of baseline; otherwise the decline is undetermined and not counted (a note
  says so). The week-12 change is then an upper bound, reported as ``<=`` (and
  ``week12_below_lod``).
* For a rise it counts as L: a nadir ``<L`` is taken as L, so a later value must be
  >= 1.25 x L and >= L + 2 ng/mL (the smallest rise that is certain). A value ``<L``
  itself is never a rising or confirming value (its true value may be lower).
* A baseline ``<L`` makes the response not evaluable (a 50 % decline from an unknown
  value below L cannot be shown); progression uses L as the baseline.

Evaluability (three-valued response, :attr:`PsaSummary.response_outcome`): ``yes``,
``no`` or ``not evaluable`` with the reason — no value on or before the start (no
baseline), no value after the start, a baseline of 0 or below the limit of detection,
a confirmation pending at the cut-off. The week-12 change is ``None`` with
``week12_not_evaluable_reason`` (the same reasons, or no value in days 70-98).
A not-evaluable patient is left out of the response rate (the count is stated) and,
without a baseline or without a value after the start, out of the time to PSA
progression (both cases alike; ``progression_evaluable``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import date

from rtcheck.events.schema import Death, NestStart, OffStudy, PatientEvents, PsaValue

YES, NO, NOT_EVALUABLE = "yes", "no", "not evaluable"  #: the three response outcomes

RESPONSE_FRACTION = 0.5  #: decline >= 50 % (protocol a.)
RESPONSE_CONFIRM_DAYS = 28  #: confirmation >= 4 weeks later (protocol a.)
PROGRESSION_RELATIVE = 1.25  #: >= 25 % above the reference (PCWG3)
PROGRESSION_ABSOLUTE_NG_ML = 2.0  #: and >= 2 ng/mL above it (PCWG3)
PROGRESSION_CONFIRM_DAYS = 21  #: confirmation >= 3 weeks later (PCWG3)
NO_DECLINE_MIN_DAY = 84  #: without a decline, rises count from week 12 on (PCWG3)
WEEK12_TARGET_DAY = 84
WEEK12_WINDOW_DAYS = (70, 98)  #: inclusive window around week 12 for the waterfall
NO_WEEK12 = "no PSA value in days 70-98"


@dataclass(frozen=True)
class PsaSummary:
    """PSA endpoints of one patient (``None`` where not evaluable; ``notes`` say why)."""

    patient_id: str
    n_values: int
    baseline_date: date | None = None
    baseline_psa_ng_ml: float | None = None
    nadir_date: date | None = None
    nadir_psa_ng_ml: float | None = None
    response: bool = False
    response_outcome: str = NOT_EVALUABLE  #: "yes", "no" or "not evaluable"
    not_evaluable_reason: str | None = None
    progression_evaluable: bool = False
    baseline_below_lod: bool = False
    nadir_below_lod: bool = False
    week12_below_lod: bool = False
    response_date: date | None = None
    response_confirm_date: date | None = None
    week12_date: date | None = None
    week12_psa_ng_ml: float | None = None
    week12_change_pct: float | None = None
    week12_not_evaluable_reason: str | None = None  #: why there is no week-12 change
    progression_date: date | None = None
    progression_confirm_date: date | None = None
    progression_rule: str | None = None
    last_value_date: date | None = None
    notes: tuple[str, ...] = ()


def _rises(value: PsaValue, reference: float) -> bool:
    """A rise over ``reference``; a value below the limit of detection never rises."""
    return (not value.below_lod and value.psa_ng_ml >= PROGRESSION_RELATIVE * reference
            and value.psa_ng_ml - reference >= PROGRESSION_ABSOLUTE_NG_ML)


def _first_after(values: list[PsaValue], day: date, min_days: int) -> PsaValue | None:
    return next((v for v in values if (v.event_date - day).days >= min_days), None)


def _response(post: list[PsaValue], baseline: float, notes: list[str], open_at: date | None
              ) -> tuple[date | None, date | None, str | None]:
    """(response date, confirmation date, not-evaluable reason); ``open_at``: the cut-off when
    the patient's PSA follow-up is still open at it (no death, withdrawal or NEST by then)."""
    limit = RESPONSE_FRACTION * baseline
    for v in post:
        if baseline <= 0 or v.psa_ng_ml > limit:
            if v.below_lod and baseline > 0:
                notes.append(f"PSA {v.shown} on {v.event_date}: the limit of detection is above "
                             "50 % of baseline, a decline cannot be shown")
            continue
        confirm = _first_after(post, v.event_date, RESPONSE_CONFIRM_DAYS)
        if confirm is not None and confirm.psa_ng_ml <= limit:
            return v.event_date, confirm.event_date, None
        if confirm is None and open_at is not None:
            reason = (f"confirmation pending at the cut-off: decline >= 50 % on {v.event_date}, "
                      f"no value >= 4 weeks later by {open_at}")
            notes.append(f"{reason}: PSA response not evaluable")
            return None, None, reason
        if confirm is None:
            notes.append(f"decline >= 50 % on {v.event_date} not confirmed: no value >= 4 weeks "
                         "later")
        else:
            notes.append(f"decline >= 50 % on {v.event_date} not confirmed: "
                         f"{confirm.shown} ng/mL on {confirm.event_date} is above 50 % "
                         "of baseline")
    return None, None, None


def _progression(post: list[PsaValue], start: date, baseline: float, notes: list[str]
                 ) -> tuple[date | None, date | None, str | None]:
    for i, v in enumerate(post):
        nadir = min([baseline] + [p.psa_ng_ml for p in post[:i]])
        if nadir < baseline:
            reference = nadir
            rule = f"after a decline: >= 25 % and >= 2 ng/mL above nadir {nadir:g}"
        elif (v.event_date - start).days >= NO_DECLINE_MIN_DAY:
            reference, rule = baseline, (f"no decline: >= 25 % and >= 2 ng/mL above baseline "
                                         f"{baseline:g} from week 12")
        else:
            continue
        if not _rises(v, reference):
            continue
        confirm = _first_after(post, v.event_date, PROGRESSION_CONFIRM_DAYS)
        if confirm is not None and _rises(confirm, reference):
            return v.event_date, confirm.event_date, rule
        notes.append(f"PSA rise on {v.event_date} ({v.shown} ng/mL) not confirmed "
                     + ("(no value >= 3 weeks later)" if confirm is None else
                        f"({confirm.shown} ng/mL on {confirm.event_date})"))
    return None, None, None


def _not_evaluable(base: PsaValue, post: list[PsaValue]) -> str | None:
    """Why the response cannot be evaluated (``None``: it can)."""
    if not post:
        return "no PSA value after the start"
    if base.below_lod:
        return f"baseline PSA {base.shown} is below the limit of detection"
    if base.psa_ng_ml <= 0:
        return "baseline PSA is 0"
    return None


def _week12(post: list[PsaValue], start: date) -> PsaValue | None:
    lo, hi = WEEK12_WINDOW_DAYS
    window = [v for v in post if lo <= (v.event_date - start).days <= hi]
    if not window:
        return None
    return min(window, key=lambda v: (abs((v.event_date - start).days - WEEK12_TARGET_DAY),
                                      v.event_date))


def psa_summary(patient: PatientEvents, start: date, cutoff: date) -> PsaSummary:
    """Derive the PSA endpoints of one patient (see the module docstring)."""
    nests = [n.event_date for n in patient.of(NestStart) if n.event_date <= cutoff]
    last_day = min([cutoff, *nests])
    values = [v for v in patient.of(PsaValue) if v.event_date <= last_day]
    notes: list[str] = []
    if nests:
        later = sum(1 for v in patient.of(PsaValue) if nests[0] < v.event_date <= cutoff)
        if later:
            notes.append(f"{later} PSA value(s) after the start of NEST ({nests[0]}) not used")
    pre = [v for v in values if v.event_date <= start]
    post = [v for v in values if v.event_date > start]
    if not pre:
        no_baseline = "no PSA value on or before the start (no baseline)"
        notes.append(f"{no_baseline}: PSA endpoints not evaluable")
        return PsaSummary(patient.patient_id, len(values), not_evaluable_reason=no_baseline,
                          week12_not_evaluable_reason=no_baseline, notes=tuple(notes))
    base = pre[-1]
    baseline = base.psa_ng_ml
    reason = _not_evaluable(base, post)
    if reason:
        notes.append(f"{reason}: PSA response not evaluable")
    nadir = min(post, key=lambda v: (v.psa_ng_ml, v.event_date)) if post else None
    ended = any(d <= cutoff for d in [*nests, *(e.event_date for e in patient.of(Death)),
                                      *(e.event_date for e in patient.of(OffStudy))])
    response_date, response_confirm, pending = (None, None, None) if base.below_lod else \
        _response(post, baseline, notes, None if ended else cutoff)
    reason = reason or pending
    w12 = _week12(post, start)
    if w12 is None and post:
        notes.append(f"{NO_WEEK12}: no week-12 change")
    change = (None if w12 is None or baseline <= 0 or base.below_lod
              else (w12.psa_ng_ml - baseline) / baseline * 100.0)
    prog_date, prog_confirm, rule = _progression(post, start, baseline, notes)
    outcome = NOT_EVALUABLE if reason else (YES if response_date is not None else NO)
    return PsaSummary(
        patient_id=patient.patient_id,
        n_values=len(values),
        baseline_date=base.event_date,
        baseline_psa_ng_ml=baseline,
        nadir_date=None if nadir is None else nadir.event_date,
        nadir_psa_ng_ml=None if nadir is None else nadir.psa_ng_ml,
        response=response_date is not None,
        response_outcome=outcome,
        not_evaluable_reason=reason,
        progression_evaluable=bool(post),
        baseline_below_lod=base.below_lod,
        nadir_below_lod=nadir is not None and nadir.below_lod,
        week12_below_lod=w12 is not None and w12.below_lod,
        response_date=response_date,
        response_confirm_date=response_confirm,
        week12_date=None if w12 is None else w12.event_date,
        week12_psa_ng_ml=None if w12 is None else w12.psa_ng_ml,
        week12_change_pct=change,
        week12_not_evaluable_reason=None if change is not None else (
            _not_evaluable(base, post) or NO_WEEK12),
        progression_date=prog_date,
        progression_confirm_date=prog_confirm,
        progression_rule=rule,
        last_value_date=post[-1].event_date if post else base.event_date,
        notes=tuple(notes),
    )


def week12_text(change: float | None, upper_bound: bool, decimals: int = 0) -> str | None:
    """The week-12 change as shown (``None``: not evaluable), e.g. ``-53`` or ``<=-87.5``.

    An exact change is rounded to ``decimals``. An upper bound (value below the limit of
    detection) is shown with at least one decimal, rounded **up** (toward less decline),
    so that it never claims more than is known: (0.1 - 0.8) / 0.8 = -87.5 % -> ``<=-87.5``,
    -87.54 % -> ``<=-87.5``, never ``<=-88``.
    """
    if change is None:
        return None
    if not upper_bound:
        return f"{change:+.{decimals}f}"
    places = max(decimals, 1)
    scale = 10 ** places
    bound = math.ceil(round(change * scale, 6)) / scale + 0.0  # + 0.0: no "-0.0"
    return f"<={bound:+.{places}f}"
