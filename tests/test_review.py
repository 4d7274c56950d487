"""The review policy (issue 14, item 1): each rule, its message at the reviewer's line, as
`pubkit build` and `pubkit check` report it; `pubkit check --due`; the handout's footer.

The build's "today" is SOURCE_DATE_EPOCH's date, so every date here is fixed."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
from pathlib import Path

import pytest

from pubkit.check.review import due_report, review_findings
from pubkit.manuscript.loader import load
from pubkit.policy import ReviewPolicy, add_period, period_problem
from pubkit.settings import load_settings

from .conftest import run_pubkit

TODAY = dt.date(2027, 1, 1)
EPOCH = str(int(dt.datetime(2027, 1, 1, tzinfo=dt.UTC).timestamp()))


def _manuscript(
    folder: Path, slug: str, reviewers: list[dict], body: str = "Some text.\n", extra: str = ""
) -> Path:
    lines = ["---", f"title: Article {slug}", "authors:", "  - name: Ana Writer"]
    if reviewers:
        lines.append("reviewers:")
    for reviewer in reviewers:
        lines.append(f"  - name: {reviewer['name']}")
        for key in ("honorific", "credentials", "role", "reviewed"):
            if key in reviewer:
                lines.append(f"    {key}: {reviewer[key]}")
    lines += [extra, "---", "", body] if extra else ["---", "", body]
    path = folder / "manuscripts" / f"{slug}.md"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def _line(path: Path, text: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if text in line:
            return number
    raise AssertionError(f"{text!r} not in {path}")


def _findings(path: Path, policy: ReviewPolicy | None = None, today: dt.date = TODAY, recorded=None):
    findings, digests = review_findings(load(path), policy or ReviewPolicy(), today, recorded)
    return findings, digests


def _project(tmp_path: Path, settings: str = "") -> Path:
    (tmp_path / "pubkit.toml").write_text('lang = "en"\n' + settings, encoding="utf-8")
    return tmp_path


def _build(project: Path, *args: str) -> subprocess.CompletedProcess:
    return run_pubkit("build", "--format", "epub", *args, cwd=project, env={"SOURCE_DATE_EPOCH": EPOCH})


DOCTOR = {"name": "Hanna Spears", "honorific": "Dr.", "credentials": "M.D.", "role": "Medical Reviewer"}


# -- periods ------------------------------------------------------------------------------------


def test_periods_add_by_the_calendar():
    assert add_period(dt.date(2026, 1, 31), "1 month") == dt.date(2026, 2, 28)
    assert add_period(dt.date(2024, 2, 29), "1 year") == dt.date(2025, 2, 28)
    assert add_period(dt.date(2026, 11, 1), "12 months") == dt.date(2027, 11, 1)
    assert add_period(dt.date(2026, 11, 1), "3 years") == dt.date(2029, 11, 1)
    assert add_period(dt.date(2026, 11, 1), "30 days", sign=-1) == dt.date(2026, 10, 2)
    assert add_period(dt.date(2026, 11, 1), "2 weeks") == dt.date(2026, 11, 15)
    assert period_problem("12 months") is None
    assert period_problem("yearly") and period_problem("0 days") and period_problem(12)


# -- each rule, at its line -------------------------------------------------------------------


def test_medical_reviewer_without_credentials_is_a_warning_at_the_reviewer(tmp_path):
    path = _manuscript(
        tmp_path, "a", [{"name": "Hanna Spears", "role": "Medical Reviewer", "reviewed": "2026-11-01"}]
    )
    findings, _ = _findings(path)
    (finding,) = findings
    assert finding.code == "REVIEW-CREDENTIALS" and finding.severity == "warning"
    assert finding.line == _line(path, "- name: Hanna Spears")
    assert "has no credentials" in finding.message and "Hanna Spears" in finding.message
    required = ReviewPolicy(require_credentials=True)
    (finding,) = _findings(path, required)[0]
    assert finding.severity == "error" and finding.line == _line(path, "- name: Hanna Spears")


def test_medical_reviewer_without_a_review_date(tmp_path):
    path = _manuscript(tmp_path, "a", [{**DOCTOR}])
    (finding,) = _findings(path)[0]
    assert finding.code == "REVIEW-UNDATED" and finding.severity == "warning"
    assert finding.line == _line(path, "- name: Hanna Spears")
    assert "reviewed: YYYY-MM-DD" in finding.message
    (finding,) = _findings(path, ReviewPolicy(require_credentials=True))[0]
    assert finding.severity == "error"


def test_editorial_and_legal_reviewers_need_no_credentials(tmp_path):
    path = _manuscript(
        tmp_path,
        "a",
        [
            {"name": "Eve Editor", "role": "Editorial Reviewer", "reviewed": "2026-11-01"},
            {"name": "Lou Lawyer", "role": "Legal Reviewer"},
        ],
    )
    assert _findings(path)[0] == []


def test_a_review_dated_after_the_build_is_an_error_at_its_date(tmp_path):
    path = _manuscript(tmp_path, "a", [{**DOCTOR, "reviewed": "2030-01-01"}])
    (finding,) = _findings(path)[0]
    assert finding.code == "REVIEW-FUTURE" and finding.severity == "error"
    assert finding.line == _line(path, "reviewed: 2030-01-01")
    assert "2030-01-01 is after the build's date (2027-01-01)" in finding.message


def test_a_review_due_soon_is_a_warning_with_its_date(tmp_path):
    path = _manuscript(tmp_path, "a", [{**DOCTOR, "reviewed": "2026-01-20"}])
    (finding,) = _findings(path)[0]  # due 2027-01-20: 19 days after TODAY, within 30 days
    assert finding.code == "REVIEW-DUE" and finding.severity == "warning"
    assert finding.line == _line(path, "reviewed: 2026-01-20")
    assert "due by 2027-01-20 (in 19 days" in finding.message
    assert _findings(path, ReviewPolicy(warn_before="2 weeks"))[0] == []  # 19 days is not within 14


def test_an_overdue_review_is_an_error_once_a_policy_is_stated(tmp_path):
    path = _manuscript(tmp_path, "a", [{**DOCTOR, "reviewed": "2025-06-01"}])
    (finding,) = _findings(path)[0]
    assert finding.code == "REVIEW-OVERDUE" and finding.severity == "warning"  # the default policy
    assert "default policy" in finding.message and "2026-06-01" in finding.message
    (finding,) = _findings(path, ReviewPolicy(declared=True))[0]
    assert finding.severity == "error" and finding.line == _line(path, "reviewed: 2025-06-01")
    assert _findings(path, ReviewPolicy(every="3 years", declared=True))[0] == []  # PIF TICK's longest


def test_the_latest_medical_review_counts(tmp_path):
    path = _manuscript(
        tmp_path,
        "a",
        [
            {**DOCTOR, "reviewed": "2024-01-01"},
            {**DOCTOR, "name": "Rui Nurse", "credentials": "RN", "reviewed": "2026-12-01"},
        ],
    )
    assert _findings(path, ReviewPolicy(declared=True))[0] == []


def test_a_change_after_the_review_is_found_by_its_content_digest(tmp_path):
    path = _manuscript(tmp_path, "a", [{**DOCTOR, "reviewed": "2026-11-01"}])
    findings, recorded = _findings(path)
    assert findings == [] and list(recorded) == ["Hanna Spears|2026-11-01"]
    assert _findings(path, recorded=recorded)[0] == []  # unchanged
    path.write_text(path.read_text().replace("Some text.", "Some other text."), encoding="utf-8")
    (finding,) = _findings(path, recorded=recorded)[0]
    assert finding.code == "REVIEW-CHANGED" and finding.line == _line(path, "reviewed: 2026-11-01")
    assert "changed after its review by Hanna Spears on 2026-11-01" in finding.message
    # A new review date: the content as it is now is what was reviewed.
    path.write_text(path.read_text().replace("2026-11-01", "2026-12-15"), encoding="utf-8")
    findings, again = _findings(path, recorded=recorded)
    assert findings == [] and list(again) == ["Hanna Spears|2026-12-15"]


# -- as users meet them: build and check ----------------------------------------------------------


def test_build_fails_on_a_future_review_and_keeps_the_old_outputs(tmp_path):
    project = _project(tmp_path)
    path = _manuscript(project, "a", [{**DOCTOR, "reviewed": "2026-11-01"}])
    assert _build(project).returncode == 0
    epub = project / "output" / "a.epub"
    before = epub.read_bytes()
    path.write_text(
        path.read_text().replace("2026-11-01", "2030-01-01").replace("Some text.", "New."), encoding="utf-8"
    )
    result = _build(project)
    assert result.returncode == 1
    line = _line(path, "reviewed: 2030-01-01")
    assert (
        f"manuscripts/a.md:{line}: reviewer 'Hanna Spears': the review date 2030-01-01 is after"
        in result.stderr
    )
    assert "Traceback" not in result.stderr
    assert epub.read_bytes() == before


def test_build_says_the_content_changed_after_review_even_when_up_to_date(tmp_path):
    project = _project(tmp_path)
    path = _manuscript(project, "a", [{**DOCTOR, "reviewed": "2026-11-01"}])
    first = _build(project)
    assert first.returncode == 0 and "warning" not in first.stderr
    path.write_text(path.read_text().replace("Some text.", "Some changed text."), encoding="utf-8")
    second = _build(project)
    line = _line(path, "reviewed: 2026-11-01")
    expected = f"manuscripts/a.md:{line}: warning: the manuscript changed after its review"
    assert second.returncode == 0 and expected in second.stderr and "built 1" in second.stderr
    third = _build(project)  # skipped (up to date), and still said: the review is still behind
    assert "skipped 1" in third.stderr and expected in third.stderr


def test_a_stated_policy_makes_overdue_an_error_and_the_front_matter_overrides_it(tmp_path):
    project = _project(tmp_path, '[review]\nevery = "12 months"\nwarn_before = "30 days"\n')
    path = _manuscript(project, "a", [{**DOCTOR, "reviewed": "2025-06-01"}])
    result = _build(project)
    assert result.returncode == 1
    line = _line(path, "reviewed: 2025-06-01")
    assert (
        f"manuscripts/a.md:{line}: the medical review of 2025-06-01 is overdue: the policy (every 12 months)"
        in (result.stderr)
    )
    assert not (project / "output" / "a.epub").exists()
    _manuscript(project, "a", [{**DOCTOR, "reviewed": "2025-06-01"}], extra='review:\n  every: "2 years"')
    assert _build(project).returncode == 0


def test_require_credentials_fails_the_build_at_the_reviewer(tmp_path):
    project = _project(tmp_path, "[review]\nrequire_credentials = true\n")
    path = _manuscript(
        project, "a", [{"name": "Hanna Spears", "role": "Medical Reviewer", "reviewed": "2026-11-01"}]
    )
    result = _build(project)
    assert result.returncode == 1
    assert f"manuscripts/a.md:{_line(path, '- name: Hanna Spears')}: reviewer 'Hanna Spears'" in result.stderr


def test_a_wrong_policy_is_refused_at_its_line(tmp_path):
    project = _project(tmp_path, '[review]\nevery = "yearly"\n')
    _manuscript(project, "a", [{**DOCTOR, "reviewed": "2026-11-01"}])
    result = _build(project)
    assert result.returncode == 1
    assert "pubkit.toml:3: review: 'every' must be a period such as" in result.stderr
    project = _project(tmp_path, "")
    _manuscript(project, "a", [{**DOCTOR, "reviewed": "2026-11-01"}], extra="review:\n  every: soon")
    result = _build(project)
    assert result.returncode == 1 and "front matter: 'review.every' must be a period" in result.stderr


def test_check_reports_the_review_findings(tmp_path):
    project = _project(tmp_path)
    path = _manuscript(
        project, "a", [{"name": "Hanna Spears", "role": "Medical Reviewer", "reviewed": "2026-01-20"}]
    )
    result = run_pubkit("check", "--no-ace", cwd=project, env={"SOURCE_DATE_EPOCH": EPOCH})
    line = _line(path, "- name: Hanna Spears")
    assert f"manuscripts/a.md:{line}: REVIEW-CREDENTIALS: warning: reviewer 'Hanna Spears'" in result.stdout
    assert f"manuscripts/a.md:{_line(path, 'reviewed: 2026-01-20')}: REVIEW-DUE: warning:" in result.stdout


# -- check --due ------------------------------------------------------------------------------------

DUE_CASES = {  # slug: (review date or None, expected next review, status)
    "f-fine": ("2026-12-01", "2027-12-01", "ok"),
    "b-overdue": ("2025-03-10", "2026-03-10", "overdue"),
    "d-soon": ("2026-01-15", "2027-01-15", "due soon"),
    "a-later": ("2026-06-30", "2027-06-30", "ok"),
    "e-none": (None, None, "not reviewed"),
    "c-older": ("2025-11-30", "2026-11-30", "overdue"),
}
DUE_ORDER = ["e-none", "b-overdue", "c-older", "d-soon", "a-later", "f-fine"]


@pytest.fixture
def due_project(tmp_path) -> Path:
    project = _project(tmp_path)
    for slug, (reviewed, _, _) in DUE_CASES.items():
        reviewer = {**DOCTOR, **({"reviewed": reviewed} if reviewed else {})}
        _manuscript(project, slug, [reviewer])
    return project


def test_due_lists_soonest_first_as_a_table(due_project):
    result = run_pubkit("check", "--due", cwd=due_project, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.returncode == 1, result.stderr  # two are overdue
    rows = result.stdout.splitlines()
    assert rows[0].split() == ["next", "review", "status", "reviewed", "reviewer", "manuscript"]
    slugs = [re.search(r"manuscripts/(\S+)\.md", row)[1] for row in rows[1:]]
    assert slugs == DUE_ORDER
    assert rows[2].split()[:2] == ["2026-03-10", "overdue"]
    assert rows[4].split()[0] == "2027-01-15" and "due soon (14 d)" in rows[4]
    assert "not built" not in result.stderr and not (due_project / "output").exists()  # builds nothing


def test_due_as_json(due_project):
    result = run_pubkit("check", "--due", "--json", cwd=due_project, env={"SOURCE_DATE_EPOCH": EPOCH})
    data = json.loads(result.stdout)
    assert data["today"] == "2027-01-01"
    assert [Path(row["manuscript"]).stem for row in data["manuscripts"]] == DUE_ORDER
    for row in data["manuscripts"]:
        reviewed, next_review, status = DUE_CASES[Path(row["manuscript"]).stem]
        assert (row["reviewed"], row["next_review"], row["status"]) == (reviewed, next_review, status)
        if next_review:
            assert row["days_left"] == (dt.date.fromisoformat(next_review) - TODAY).days
            assert row["reviewer"] == "Hanna Spears"


def test_due_report_reads_the_projects_policy(due_project):
    (due_project / "pubkit.toml").write_text('[review]\nevery = "2 years"\n', encoding="utf-8")
    paths = sorted((due_project / "manuscripts").glob("*.md"))
    entries, problems = due_report(paths, TODAY)
    assert problems == []
    assert {e.source.stem: e.status for e in entries}["c-older"] == "ok"  # 2027-11-30 now
    assert load_settings(due_project).review.every == "2 years"


def test_json_without_due_is_a_usage_error(due_project):
    result = run_pubkit("check", "--json", cwd=due_project)
    assert result.returncode == 2 and "--json goes with --due" in result.stderr


# -- the handout's footer ---------------------------------------------------------------------------


def test_the_handout_footer_says_when_the_next_review_is_due(tmp_path):
    project = _project(tmp_path, '[review]\nevery = "2 years"\n')
    _manuscript(project, "a", [{**DOCTOR, "reviewed": "2026-11-01"}], body="A short handout.\n")
    result = run_pubkit("build", "--format", "pdf", cwd=project, env={"SOURCE_DATE_EPOCH": EPOCH})
    assert result.returncode == 0, result.stderr
    text = subprocess.run(
        ["pdftotext", "-layout", str(project / "output" / "a.pdf"), "-"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert "Medically reviewed on November 1, 2026 · Next review by November 1, 2028" in text
