"""The candidate report as one standalone HTML page: inline CSS, no scripts, no external assets.

Every value from the database goes through `html.escape` (names, stems and options are user or model
text), so a page can be saved, mailed or printed as it is.
"""

from __future__ import annotations

from collections.abc import Iterable
from html import escape

from domain.enums import FeedbackPolicy
from domain.feedback import shows_correctness, shows_key
from serve_app.schemas import CandidateReport, IntegrityReport, ReportResponse

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #1d1d1f; }
h1 { font-size: 1.4rem; margin-bottom: 0.2rem; }
h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; margin-top: 0.5rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
.right { color: #0a7d32; } .wrong { color: #b3261e; }
ol { margin: 0; padding-left: 1.2rem; }
"""


def _text(value: object) -> str:
    return escape("" if value is None else str(value))


def _number(value: float | None, digits: int = 2) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def _percent(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}%"


def _row(cells: Iterable[str], header: bool = False) -> str:
    tag = "th" if header else "td"
    return "<tr>" + "".join(f"<{tag}>{cell}</{tag}>" for cell in cells) + "</tr>"


def _summary(report: CandidateReport) -> str:
    passed = {True: "yes", False: "no", None: "not yet (unfinished)"}[report.passed]
    ability = report.ability
    finished = report.finished_at.isoformat() if report.finished_at else "not finished"
    facts = [
        ("Candidate", f"{_text(report.full_name)} &lt;{_text(report.email)}&gt; (user {report.user_id})"),
        ("Test", f"{_text(report.test_title)} (test {report.test_id})"),
        ("Attempt", f"{report.attempt_id}, number {report.number}"),
        ("Status", f"{_text(report.status)}; reason: {_text(report.finish_reason or 'none yet')}"),
        ("Started / finished", f"{_text(report.started_at.isoformat())} / {_text(finished)}"),
        ("Score", f"{report.score} / {report.max_score}"),
        ("Percentage", f"{_percent(report.percentage)} (passing {_percent(report.passing_score)})"),
        ("Passed", passed),
        ("Ability theta", _number(ability.theta, 3) if ability else "n/a"),
        ("Standard error", _number(ability.se, 3) if ability and ability.se is not None else "n/a"),
        ("Pass mark (theta)", _number(report.theta_cut, 3) if report.theta_cut is not None else "n/a"),
        ("Decision", _text(report.decision or "none yet")),
        ("Scaled score", str(report.scaled_score) if report.scaled_score is not None else "n/a"),
        ("Item parameters", f"set {report.parameter_set_id}" if report.parameter_set_id else "starting values"),
    ]
    return "<table>" + "".join(_row([name, value]) for name, value in facts) + "</table>"


def _skills(report: CandidateReport) -> str:
    rows = [_row(["Skill", "Answered", "Correct", "Percentage", "Theta", "SE"], header=True)]
    rows += [
        _row(
            [
                _text(s.skill),
                str(s.answered),
                str(s.correct),
                _percent(s.percentage),
                _number(s.theta, 2) if s.theta is not None else "n/a",
                _number(s.se, 2) if s.se is not None else "n/a",
            ]
        )
        for s in report.skills
    ]
    return "<table>" + "".join(rows) + "</table>"


def _times(report: CandidateReport) -> str:
    time = report.time
    rows = [_row(["Question", "Time (s)"], header=True)]
    rows += [_row([str(index + 1), _number(seconds, 1)]) for index, seconds in enumerate(time.per_question_s)]
    rows.append(_row(["Total", _number(time.total_s, 1)]))
    rows.append(_row(["Mean", _number(time.mean_s, 1) or "n/a"]))
    return "<table>" + "".join(rows) + "</table>"


def _response(response: ReportResponse, policy: FeedbackPolicy) -> str:
    options = "".join(f"<li>{_text(o.id)}: {_text(o.text)}</li>" for o in response.options)
    cells = [
        str(response.index + 1),
        _text(response.skill),
        _text(response.stem),
        f"<ol>{options}</ol>",
        _text(response.selected_option),
    ]
    if shows_key(policy):
        cells.append(_text(response.correct_option or ""))
    if shows_correctness(policy):
        cells.append('<span class="right">yes</span>' if response.is_correct else '<span class="wrong">no</span>')
    cells.append(_number(response.time_taken_s, 1))
    if shows_correctness(policy):
        cells += [_number(response.theta_after, 3), _number(response.se_after, 3)]
    return _row(cells)


def _responses(report: CandidateReport) -> str:
    """Every response, with the columns the report's feedback policy lets its reader see."""
    policy = report.feedback
    header = ["#", "Skill", "Question", "Options", "Selected"]
    header += ["Correct option"] if shows_key(policy) else []
    header += ["Correct?"] if shows_correctness(policy) else []
    header += ["Time (s)"]
    header += ["Theta after", "SE after"] if shows_correctness(policy) else []
    rows = [_row(header, header=True)]
    rows += [_response(response, policy) for response in report.responses]
    return "<table>" + "".join(rows) + "</table>"


def _integrity(integrity: IntegrityReport) -> str:
    """Staff only: the client's signals, and the answers far faster than their items' medians."""
    if not integrity.events and not integrity.fast_answers:
        return "<p>No integrity signals, and no answer far faster than its item's median.</p>"
    rows = [_row(["Server time", "Question", "Signal", "Client time", "Detail"], header=True)]
    rows += [
        _row(
            [
                _text(event.at.isoformat()),
                str(event.question_index),
                _text(event.kind),
                _text(event.client_at.isoformat() if event.client_at else ""),
                _text(event.detail),
            ]
        )
        for event in integrity.events
    ]
    fast = [_row(["Question", "Time (s)", "Item median (s)"], header=True)]
    fast += [
        _row([str(answer.question_index), _number(answer.time_taken_s, 1), _number(answer.item_median_s, 1)])
        for answer in integrity.fast_answers
    ]
    return (
        f"<table>{''.join(rows)}</table>"
        "<h3>Answers far faster than the item's median</h3>"
        f"<table>{''.join(fast)}</table>"
    )


def candidate_report_page(report: CandidateReport) -> str:
    title = f"Report: {_text(report.full_name)}, {_text(report.test_title)}"
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title><style>{STYLE}</style></head><body>"
        f"<h1>{title}</h1>"
        f"{_summary(report)}"
        f"<h2>Results per skill</h2>{_skills(report)}"
        f"<h2>Time per question</h2>{_times(report)}"
        f"<h2>Responses</h2>{_responses(report)}"
        + (f"<h2>Integrity signals</h2>{_integrity(report.integrity)}" if report.integrity is not None else "")
        + "</body></html>\n"
    )
