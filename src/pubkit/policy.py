"""The review policy of a project (`[review]` in pubkit.toml, `review:` in a front matter).

    every = "12 months"         a medical review is due this long after the last one
    warn_before = "30 days"     `check` and `build` warn this long before it is due
    require_credentials = false a medical reviewer without credentials or without a review
                                date is an error (else a warning)

Periods are a whole number and a unit: days, weeks, months or years ("3 years", "6 weeks").
PIF TICK asks for a review at least every three years; many health publishers review yearly.
Without a `[review]` table the defaults apply, and an overdue review is a warning; once a
project (or a manuscript) states its policy, an overdue review is an error.
"""

from __future__ import annotations

import calendar
import datetime as dt
import os
import re
from dataclasses import dataclass, field

_PERIOD = re.compile(r"\s*(\d{1,4})\s*(day|week|month|year)s?\s*", re.IGNORECASE)
POLICY_KEYS = ("every", "warn_before", "require_credentials")


@dataclass(frozen=True)
class ReviewPolicy:
    every: str = "12 months"
    warn_before: str = "30 days"
    require_credentials: bool = False
    # Stated in pubkit.toml or the front matter: an overdue review is an error. (Not compared: the
    # defaults written out are the same policy.)
    declared: bool = field(default=False, compare=False)

    def next_review(self, reviewed: dt.date) -> dt.date:
        return add_period(reviewed, self.every)

    def warn_from(self, due: dt.date) -> dt.date:
        return add_period(due, self.warn_before, sign=-1)


def period_problem(text: object) -> str | None:
    """Why `text` is not a period ("12 months"), or None."""
    if not isinstance(text, str) or not _PERIOD.fullmatch(text):
        return 'must be a period such as "12 months", "3 years", "6 weeks" or "30 days"'
    if int(_PERIOD.fullmatch(text)[1]) == 0:
        return "must be longer than 0"
    return None


def add_period(day: dt.date, period: str, sign: int = 1) -> dt.date:
    """`day` moved by `period`; a month or year step that lands past a month's end (Jan 31 + 1
    month) lands on its last day. Clamped to the dates the outputs can hold."""
    match = _PERIOD.fullmatch(period)
    assert match, period
    count, unit = int(match[1]) * sign, match[2].lower()
    try:
        if unit in ("day", "week"):
            return day + dt.timedelta(days=count * (7 if unit == "week" else 1))
        months = day.year * 12 + day.month - 1 + count * (12 if unit == "year" else 1)
        year, month = divmod(months, 12)
        month += 1
        return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))
    except (OverflowError, ValueError):
        return dt.date.max if sign > 0 else dt.date.min


def build_today() -> dt.date:
    """The build's "today": SOURCE_DATE_EPOCH's date (UTC) when set, so that checks against it
    are reproducible; else today's date in UTC."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    if epoch.isdigit():
        try:
            return dt.datetime.fromtimestamp(int(epoch), tz=dt.UTC).date()
        except (OverflowError, OSError, ValueError):
            pass  # dates.build_timestamp reports it
    return dt.datetime.now(dt.UTC).date()
