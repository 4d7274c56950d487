"""The review policy applied to a manuscript (policy.py): what `pubkit build` and `pubkit check`
report about its medical review, every time they run (a review falls due with time, not with
edits, so these findings are never taken from the build record).

    a medical reviewer without credentials or without a review date   warning (error when required)
    a review date after the build's date ("today", SOURCE_DATE_EPOCH) error
    a review due within `warn_before`                                 warning
    a review older than the policy's `every`                          error (a warning while the
                                                                      project states no policy)
    the manuscript changed after its review                           warning

"Changed after its review": the build record keeps, for each reviewer's review date, a digest
of the manuscript's content (title, subtitle, body, disclaimer) as it was when that date first
appeared; a later build whose content differs says so until the review date is moved on.
A reviewer whose role is editorial, legal or fact-checking is not a medical reviewer.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass, replace
from pathlib import Path

from ..errors import Diagnostic, Severity
from ..model import Manuscript, Person
from ..policy import ReviewPolicy
from ..settings import Settings, review_policy

_NOT_MEDICAL = re.compile(r"(?i)\b(editor\w*|legal\w*|lawyer|fact|copy|language|translat\w*)\b")


def is_medical(person: Person) -> bool:
    """A reviewer of the health content: a medical, clinical, pharmacist or scientific reviewer,
    or one whose role says only "Reviewer"."""
    return not _NOT_MEDICAL.search(person.role)


def manuscript_policy(manuscript: Manuscript, settings: Settings) -> ReviewPolicy:
    """The project's policy with the manuscript's `review:` applied."""
    if not manuscript.review:
        return settings.review
    policy = review_policy(
        dict(manuscript.review), manuscript.path, lambda key: manuscript.review_line, settings.review
    )
    return policy if isinstance(policy, ReviewPolicy) else settings.review  # checked when loaded


def content_digest(manuscript: Manuscript) -> str:
    """What a reviewer reviewed: the title, subtitle, body and disclaimer (not the credits)."""
    digest = hashlib.sha256()
    disclaimer = manuscript.disclaimer
    for part in (
        manuscript.title,
        manuscript.subtitle,
        manuscript.body,
        disclaimer.title if disclaimer else "",
        disclaimer.text if disclaimer else "",
    ):
        digest.update(part.encode("utf-8", "surrogatepass"))
        digest.update(b"\0")
    return digest.hexdigest()


def review_key(person: Person) -> str:
    return f"{person.name}|{person.reviewed.isoformat() if person.reviewed else ''}"


def last_review(manuscript: Manuscript) -> Person | None:
    """The latest dated medical review (the one the next review is counted from)."""
    dated = [p for p in manuscript.reviewers if is_medical(p) and p.reviewed]
    return max(dated, key=lambda p: p.reviewed) if dated else None


def review_findings(
    manuscript: Manuscript,
    policy: ReviewPolicy,
    today: dt.date,
    recorded: dict[str, str] | None = None,
) -> tuple[list[Diagnostic], dict[str, str]]:
    """The findings, and the content digests to record (review key -> digest): those of
    `recorded` for reviews still stated, the current content's for reviews new to the record."""
    findings: list[Diagnostic] = []
    recorded = recorded or {}
    source = manuscript.path

    def say(line: int | None, message: str, code: str, error: bool) -> None:
        severity = Severity.ERROR if error else Severity.WARNING
        findings.append(Diagnostic(source, line, message, f"REVIEW-{code}", severity))

    for person in manuscript.reviewers:
        who = f"reviewer '{person.name}'"
        if person.reviewed and person.reviewed > today:
            say(
                person.reviewed_line or person.line,
                f"{who}: the review date {person.reviewed.isoformat()} is after the build's date "
                f"({today.isoformat()}): a review cannot be dated in the future",
                "FUTURE",
                True,
            )
        if not is_medical(person):
            continue
        role = f" ({person.role})" if person.role else ""
        if not person.credentials:
            say(
                person.line,
                f"{who}{role} has no credentials: a medical reviewer's (e.g. M.D., RN, RDN, PharmD) "
                "tell readers who checked the content",
                "CREDENTIALS",
                policy.require_credentials,
            )
        if not person.reviewed:
            say(
                person.line,
                f"{who}{role} has no review date: add 'reviewed: YYYY-MM-DD' under the reviewer",
                "UNDATED",
                policy.require_credentials,
            )

    latest = last_review(manuscript)
    if latest is not None and latest.reviewed <= today:
        line = latest.reviewed_line or latest.line
        due = policy.next_review(latest.reviewed)
        reviewed = latest.reviewed.isoformat()
        if today > due:
            whose = "the policy" if policy.declared else "the default policy"
            stated = "" if policy.declared else "; state yours in [review] of pubkit.toml"
            say(
                line,
                f"the medical review of {reviewed} is overdue: {whose} (every {policy.every}{stated}) "
                f"asked for the next by {due.isoformat()}",
                "OVERDUE",
                policy.declared,
            )
        elif today >= policy.warn_from(due):
            days = (due - today).days
            say(
                line,
                f"the medical review of {reviewed} is due by {due.isoformat()} "
                f"(in {days} day{'s' if days != 1 else ''}; the policy: every {policy.every})",
                "DUE",
                False,
            )

    digest = content_digest(manuscript)
    keep: dict[str, str] = {}
    for person in manuscript.reviewers:
        if not person.reviewed or person.reviewed > today:
            continue
        key = review_key(person)
        keep[key] = recorded.get(key, digest)
        if keep[key] != digest and is_medical(person):
            say(
                person.reviewed_line or person.line,
                f"the manuscript changed after its review by {person.name} on {person.reviewed.isoformat()}: "
                "have the changes reviewed and update 'reviewed'",
                "CHANGED",
                False,
            )
    return findings, keep


@dataclass(frozen=True)
class Due:
    """One manuscript's place in `pubkit check --due`."""

    source: Path
    title: str
    reviewer: str
    reviewed: dt.date | None
    next_review: dt.date | None
    status: str  # overdue, due soon, ok, not reviewed
    days_left: int | None

    def as_json(self, relative_to: Path | None = None) -> dict:
        source = self.source
        if relative_to is not None:
            try:
                source = source.resolve().relative_to(relative_to.resolve())
            except ValueError:
                pass
        return {
            "manuscript": str(source),
            "title": self.title,
            "reviewer": self.reviewer,
            "reviewed": self.reviewed.isoformat() if self.reviewed else None,
            "next_review": self.next_review.isoformat() if self.next_review else None,
            "days_left": self.days_left,
            "status": self.status,
        }


def due_entry(manuscript: Manuscript, policy: ReviewPolicy, today: dt.date) -> Due:
    latest = last_review(manuscript)
    if latest is None:
        return Due(manuscript.path, manuscript.title, "", None, None, "not reviewed", None)
    due = policy.next_review(latest.reviewed)
    days = (due - today).days
    status = "overdue" if days < 0 else "due soon" if today >= policy.warn_from(due) else "ok"
    return Due(manuscript.path, manuscript.title, latest.name, latest.reviewed, due, status, days)


def by_next_review(entries: list[Due]) -> list[Due]:
    """Soonest first; manuscripts with no medical review date first of all (due now)."""
    return sorted(
        entries, key=lambda e: (e.next_review is not None, e.next_review or dt.date.min, str(e.source))
    )


def due_report(paths: list[Path], today: dt.date) -> tuple[list[Due], list[Diagnostic]]:
    """`pubkit check --due`: every manuscript by its next review date, soonest first, and the
    problems of those that do not load."""
    from ..errors import PubkitError
    from ..manuscript.loader import load
    from ..settings import find_root, load_settings

    entries, problems = [], []
    settings_of: dict[Path, Settings] = {}
    from ..manuscript.loader import outside_project

    for path in dict.fromkeys(_with_articles(paths, problems)):
        if (outside := outside_project(path)) is not None:
            problems.append(outside)
            continue
        try:
            root = find_root(path.resolve().parent)
            if root not in settings_of:
                settings_of[root] = load_settings(root)
            manuscript = load(path, settings=settings_of[root], root=root)
        except PubkitError as exc:
            problems.extend(exc.diagnostics)
            continue
        entries.append(
            replace(
                due_entry(manuscript, manuscript_policy(manuscript, settings_of[root]), today), source=path
            )
        )
    return by_next_review(entries), problems


def _with_articles(paths: list[Path], problems: list[Diagnostic]) -> list[Path]:
    """The manuscripts: a collection (books/x.yml) stands for its articles, under the current
    folder as written there."""
    from ..collection.build import is_collection
    from ..collection.loader import load_collection
    from ..errors import PubkitError

    found = []
    for path in paths:
        if not is_collection(path):
            found.append(path)
            continue
        try:
            articles = load_collection(path).manuscripts
        except PubkitError as exc:
            problems.extend(exc.diagnostics)
            continue
        here = Path.cwd().resolve()
        found.extend(p.relative_to(here) if here in p.parents else p for p in map(Path, articles))
    return found
