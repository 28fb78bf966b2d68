"""Reports over the real server and database: the candidate report (JSON, HTML), the item analysis, the
score histogram (SVG) and the CSV export, every figure checked against the hand computation below.

The data set is the adaptive variant of tests/domain/test_item_statistics.py, written straight into the
database as the live path would. Keys: I1 a, I2 b, I3 c, I4 d.

         I1 I2 I3 I4 | X  score/max  percentage  theta   se
    A     1  1  1  1 | 4  4/4        100          1.0   .3   completed
    B     1  1  1  0 | 3  3/4         75          0.5   .3   completed
    C     1  0  1  0 | 2  2/4         50          0.0   .4   completed
    D     0  1  0  0 | 1  1/4         25         -0.5   .4   completed
    E     1  0  0  - | 1  1/4         25         -1.0   .5   expired (time ran out after 3 answers)
    F     c  .  .  . |    in progress, answered I1 with c (wrong)

A is named like a spreadsheet formula, B like a script; I3's stem and the test's title are hostile HTML.
"""

from __future__ import annotations

import asyncio
import csv
import io
import math
import secrets
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from builders import valid_test_body
from conftest import Server
from sqlalchemy import select

from domain.enums import AttemptStatus, FinishReason
from persistence.database import Database
from persistence.models import Attempt, CandidateApplication, Response
from serve_app.responses_csv import HEADER

STARTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
TITLE = '<b>Backend</b> & "screening"'
FORMULA_NAME = '=HYPERLINK("http://evil.example","x")'
SCRIPT_NAME = "<script>alert(1)</script>"
HOSTILE_STEM = '<script>alert("stem")</script> & co'
OPTIONS = [{"id": letter, "text": f"option {letter}"} for letter in "abcd"]
ITEMS = {  # item id -> (skill, key, stem)
    "I1": ("rep-python-1", "python", "a", "What does len([]) return?"),
    "I2": ("rep-python-2", "python", "b", "Which keyword defines a function?"),
    "I3": ("rep-sql-1", "sql", "c", HOSTILE_STEM),
    "I4": ("rep-sql-2", "sql", "d", "Which clause filters groups?"),
}
# candidate -> (full name, [(item, selected)], score, (theta, se) or None, seconds per answer or 30 each)
PLAN = {
    "A": (FORMULA_NAME, [("I1", "a"), ("I2", "b"), ("I3", "c"), ("I4", "d")], 4, (1.0, 0.3), [12.5, 30, 45.5, 20]),
    "B": (SCRIPT_NAME, [("I1", "a"), ("I2", "b"), ("I3", "c"), ("I4", "a")], 3, (0.5, 0.3), None),
    "C": ("Carol Jones", [("I1", "a"), ("I2", "a"), ("I3", "c"), ("I4", "a")], 2, (0.0, 0.4), None),
    "D": ("Dan Brown", [("I1", "b"), ("I2", "b"), ("I3", "d"), ("I4", "b")], 1, (-0.5, 0.4), None),
    "E": ("Eve Adams", [("I1", "a"), ("I2", "a"), ("I3", "a")], 1, (-1.0, 0.5), None),
    "F": ("Fay Unfinished", [("I1", "c")], 0, None, None),
}


@dataclass(frozen=True)
class Seeded:
    test_id: int
    users: dict[str, int]
    tokens: dict[str, str]
    attempts: dict[str, int]


def write_attempts(database_url: str, test_id: int, users: dict[str, int]) -> dict[str, int]:
    async def write() -> dict[str, int]:
        database = Database(database_url)
        made = {}
        try:
            async with database.transaction() as session:
                for order, (who, (_, answers, score, ability, times)) in enumerate(PLAN.items()):
                    application = await session.scalar(
                        select(CandidateApplication).where(
                            CandidateApplication.test_id == test_id, CandidateApplication.user_id == users[who]
                        )
                    )
                    assert application is not None
                    started = STARTED + timedelta(minutes=order)
                    finished = who != "F"
                    expired = who == "E"
                    attempt = Attempt(
                        application_id=application.id,
                        test_id=test_id,
                        user_id=users[who],
                        number=1,
                        status=AttemptStatus.EXPIRED
                        if expired
                        else AttemptStatus.COMPLETED
                        if finished
                        else AttemptStatus.IN_PROGRESS,
                        started_at=started,
                        deadline=started + timedelta(minutes=25),
                        finished_at=started + timedelta(minutes=10) if finished else None,
                        finish_reason=FinishReason.TIME_EXPIRED
                        if expired
                        else FinishReason.COMPLETED
                        if finished
                        else None,
                        max_questions=4,
                        score=score,
                        max_score=4 if finished else 0,
                        ability_theta=ability[0] if ability else None,
                        ability_se=ability[1] if ability else None,
                    )
                    session.add(attempt)
                    await session.flush()
                    for index, (item, selected) in enumerate(answers):
                        item_id, skill, key, stem = ITEMS[item]
                        taken = float(times[index]) if times else 30.0
                        session.add(
                            Response(
                                attempt_id=attempt.id,
                                question_id=f"q{index}-{item_id}",
                                item_id=item_id,
                                index=index,
                                skill=skill,
                                item_snapshot={"stem": stem, "options": OPTIONS, "explanation": f"Because {key}."},
                                correct_option=key,
                                selected_option=selected,
                                is_correct=key == selected,
                                presented_at=started + timedelta(minutes=index),
                                answered_at=started + timedelta(minutes=index, seconds=taken),
                                time_taken_s=taken,
                                theta_before=0.1 * index,
                                theta_after=0.1 * (index + 1),
                                se_after=round(0.9 - 0.1 * index, 2),
                            )
                        )
                    made[who] = attempt.id
            return made
        finally:
            await database.dispose()

    return asyncio.run(write())


@pytest.fixture(scope="module")
def seeded(server: Server, admin_token: str) -> Seeded:
    users, tokens = {}, {}
    with server.client(admin_token) as admin:
        body = valid_test_body(title=TITLE, max_questions=4, min_questions=2)
        created = admin.post("/api/tests", json=body)
        assert created.status_code == 201, created.text
        test_id = created.json()["id"]
        for who, (name, *_) in PLAN.items():
            email, password = f"report-{who.lower()}-{secrets.token_hex(4)}@example.com", secrets.token_urlsafe(12)
            made = admin.post(
                "/api/users", json={"email": email, "password": password, "full_name": name, "role": "candidate"}
            )
            assert made.status_code == 201, made.text
            users[who] = made.json()["id"]
            tokens[who] = server.login(email, password)
        invited = admin.post(f"/api/tests/{test_id}/candidates", json={"user_ids": list(users.values())})
        assert invited.status_code == 200, invited.text
        assert admin.patch(f"/api/tests/{test_id}", json={"status": "published"}).status_code == 200
    return Seeded(test_id, users, tokens, write_attempts(server.settings.database_url, test_id, users))


def test_item_analysis_matches_the_hand_computation(admin, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    analysis = admin.get(f"/api/tests/{seeded.test_id}/item-analysis").json()
    # 6 attempts, 4+4+4+4+3+1 = 20 responses, 5 finished (F is in progress).
    assert (analysis["attempts"], analysis["responses"], analysis["finished_attempts"]) == (6, 20, 5)
    # Percentages 100, 75, 50, 25, 25: mean 55; squared deviations 2025 + 400 + 25 + 900 + 900 = 4250,
    # population SD sqrt(850) = 29.15.
    assert (analysis["mean_percentage"], analysis["sd_percentage"]) == (55.0, 29.15)
    # KR-20: k = 19/5 = 3.8; p = .8, .6, .6, 1/4; V = (4 * .8275 + .64)/5 = .79; var X = 1.36;
    # 3.8/2.8 * (1 - .79/1.36) = 0.5688.
    assert (analysis["kr20"], analysis["kr20_items"]) == (0.5688, 3.8)
    # theta var = 2.5/5 = .5, mean se^2 = .75/5 = .15: 1 - .15/.5 = .7.
    assert analysis["marginal_reliability"] == 0.7
    assert analysis["upper_lower_group_size"] == 2  # ceil(.27 * 5) = 2: upper A, B; lower D, E
    assert [(b["low"], b["high"], b["count"]) for b in analysis["score_distribution"]] == [
        (0, 10, 0),
        (10, 20, 0),
        (20, 30, 2),
        (30, 40, 0),
        (40, 50, 0),
        (50, 60, 1),
        (60, 70, 0),
        (70, 80, 1),
        (80, 90, 0),
        (90, 100, 1),
    ]
    items = {item["item_id"]: item for item in analysis["items"]}
    assert list(items) == ["rep-python-1", "rep-python-2", "rep-sql-1", "rep-sql-2"]  # skill, then id
    i1, i2, i3, i4 = (items[ITEMS[name][0]] for name in ("I1", "I2", "I3", "I4"))
    # The existing fields, unchanged: I1 answered 6 times (F's too), 4 right.
    assert (i1["shown"], i1["correct"], i1["facility"], i1["option_counts"]) == (6, 4, 0.6667, {"a": 4, "b": 1, "c": 1})
    assert (i4["shown"], i4["correct"], i4["facility"]) == (4, 1, 0.25)
    # Exposure: attempts that saw the item / 6.
    assert [(i["attempts_seen"], i["exposure"]) for i in (i1, i2, i3, i4)] == [
        (6, 1.0),
        (5, 0.8333),
        (5, 0.8333),
        (4, 0.6667),
    ]
    # Corrected point-biserial (finished attempts that saw the item), worked in the domain test:
    # I1 1/sqrt(26); I2 .04/sqrt(.24 * 1.04); I3 sqrt(.375); I4 (A-D only) sqrt(.1875/.6875).
    assert [i["point_biserial"] for i in (i1, i2, i3, i4)] == [
        round(1 / math.sqrt(26), 4),
        round(0.04 / math.sqrt(0.24 * 1.04), 4),
        round(math.sqrt(0.375), 4),
        round(math.sqrt(0.1875 / 0.6875), 4),
    ]
    assert [i["point_biserial"] for i in (i1, i2, i3, i4)] == [0.1961, 0.0801, 0.6124, 0.5222]
    # Upper (A, B) minus lower (D, E): I1 1 - 1/2; I2 1 - 1/2; I3 1 - 0; I4 1/2 - 0/1 (E never saw it).
    assert [(i["upper_facility"], i["lower_facility"], i["discrimination_index"]) for i in (i1, i2, i3, i4)] == [
        (1.0, 0.5, 0.5),
        (1.0, 0.5, 0.5),
        (1.0, 0.0, 1.0),
        (0.5, 0.0, 0.5),
    ]
    assert i3["stem"] == HOSTILE_STEM
    u, a = seeded.users, seeded.attempts
    # I4: a chosen by B and C (75 + 50)/2 = 62.5; b by D (25); c nobody; d (the key) by A (100).
    assert i4["distractors"] == [
        {
            "option": "a",
            "text": "option a",
            "count": 2,
            "proportion": 0.5,
            "is_key": False,
            "mean_percentage": 62.5,
            "attempt_ids": [a["B"], a["C"]],
            "user_ids": [u["B"], u["C"]],
        },
        {
            "option": "b",
            "text": "option b",
            "count": 1,
            "proportion": 0.25,
            "is_key": False,
            "mean_percentage": 25.0,
            "attempt_ids": [a["D"]],
            "user_ids": [u["D"]],
        },
        {
            "option": "c",
            "text": "option c",
            "count": 0,
            "proportion": 0.0,
            "is_key": False,
            "mean_percentage": None,
            "attempt_ids": [],
            "user_ids": [],
        },
        {
            "option": "d",
            "text": "option d",
            "count": 1,
            "proportion": 0.25,
            "is_key": True,
            "mean_percentage": 100.0,
            "attempt_ids": [a["A"]],
            "user_ids": [u["A"]],
        },
    ]
    # I1's c was chosen only by F, who has not finished: counted, but no mean percentage.
    c_option = i1["distractors"][2]
    assert (c_option["count"], c_option["proportion"], c_option["mean_percentage"]) == (1, 0.1667, None)
    assert c_option["user_ids"] == [u["F"]]


def test_an_empty_test_has_empty_statistics(admin) -> None:  # type: ignore[no-untyped-def]
    test_id = admin.post("/api/tests", json=valid_test_body()).json()["id"]
    analysis = admin.get(f"/api/tests/{test_id}/item-analysis").json()
    assert (analysis["attempts"], analysis["finished_attempts"], analysis["items"]) == (0, 0, [])
    assert (analysis["mean_percentage"], analysis["kr20"], analysis["marginal_reliability"]) == (None, None, None)
    assert [b["count"] for b in analysis["score_distribution"]] == [0] * 10
    svg = admin.get(f"/api/tests/{test_id}/score-distribution.svg")
    assert len(ET.fromstring(svg.text).findall("{http://www.w3.org/2000/svg}rect")) == 10
    exported = admin.get(f"/api/tests/{test_id}/responses.csv")
    assert len(list(csv.reader(io.StringIO(exported.text)))) == 1  # the header only


def test_candidate_report_as_json(admin, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    report = admin.get(f"/api/attempts/{seeded.attempts['A']}/report").json()
    assert (report["full_name"], report["test_title"], report["test_id"]) == (FORMULA_NAME, TITLE, seeded.test_id)
    assert (report["status"], report["finish_reason"], report["score"], report["max_score"]) == (
        "completed",
        "completed",
        4,
        4,
    )
    assert (report["percentage"], report["passed"], report["passing_score"]) == (100.0, True, 65.0)
    assert report["ability"] == {"theta": 1.0, "se": 0.3}
    assert [
        {name: skill[name] for name in ("skill", "answered", "correct", "percentage")} for skill in report["skills"]
    ] == [
        {"skill": "python", "answered": 2, "correct": 2, "percentage": 100.0},
        {"skill": "sql", "answered": 2, "correct": 2, "percentage": 100.0},
        {"skill": "algorithms", "answered": 0, "correct": 0, "percentage": None},
    ]
    # Per-skill estimates from each skill's answers alone: two right answers say "above average", widely.
    python, sql, algorithms = report["skills"]
    assert python["theta"] > 0 and sql["theta"] > 0 and 0.4 < python["se"] < 1.0
    assert (algorithms["theta"], algorithms["se"]) == (None, None)
    assert (report["decision"], report["scaled_score"]) == ("pass", 600)
    # 12.5 + 30 + 45.5 + 20 = 108 s, mean 27 s.
    assert report["time"] == {"total_s": 108.0, "mean_s": 27.0, "per_question_s": [12.5, 30.0, 45.5, 20.0]}
    assert [
        (r["index"], r["skill"], r["selected_option"], r["correct_option"], r["is_correct"], r["time_taken_s"])
        for r in report["responses"]
    ] == [
        (0, "python", "a", "a", True, 12.5),
        (1, "python", "b", "b", True, 30.0),
        (2, "sql", "c", "c", True, 45.5),
        (3, "sql", "d", "d", True, 20.0),
    ]
    third = report["responses"][2]
    assert (third["stem"], third["options"][2], third["theta_after"], third["se_after"]) == (
        HOSTILE_STEM,
        {"id": "c", "text": "option c"},
        pytest.approx(0.3),
        0.7,
    )

    # E, as E: expired after 3 answers, 1 right of 4: 25%, failed; python 1 of 2, sql 0 of 1.
    with_e = admin.get(f"/api/attempts/{seeded.attempts['E']}/report").json()
    assert (with_e["status"], with_e["finish_reason"], with_e["percentage"], with_e["passed"]) == (
        "expired",
        "time_expired",
        25.0,
        False,
    )
    assert [(s["skill"], s["answered"], s["correct"], s["percentage"]) for s in with_e["skills"]] == [
        ("python", 2, 1, 50.0),
        ("sql", 1, 0, 0.0),
        ("algorithms", 0, 0, None),
    ]
    assert (with_e["time"]["total_s"], with_e["time"]["mean_s"]) == (90.0, 30.0)

    unfinished = admin.get(f"/api/attempts/{seeded.attempts['F']}/report").json()
    assert (unfinished["status"], unfinished["passed"], unfinished["ability"], unfinished["answered"]) == (
        "in_progress",
        None,
        None,
        1,
    )


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def test_candidate_report_as_html_escapes_everything(server: Server, seeded: Seeded) -> None:
    with server.client(seeded.tokens["B"]) as own:
        page = own.get(f"/api/attempts/{seeded.attempts['B']}/report.html")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    parser = PageParser()
    parser.feed(page.text)
    parser.close()
    # The hostile name and stem come out as text, never as tags; nothing is fetched from elsewhere.
    assert "script" not in parser.tags
    assert "<script>" not in page.text and "&lt;script&gt;alert(1)&lt;/script&gt;" in page.text
    assert not any(word in page.text for word in ("http://", "https://", "src=", "<link"))
    text = "".join(parser.text)
    for figure in (SCRIPT_NAME, TITLE, HOSTILE_STEM, "3 / 4", "75.00%", "65.00%", "0.500", "0.300"):
        assert figure in text, figure
    # The decision on ability: theta 0.5 is a scaled 550; the cut and the decision are shown.
    for label in ("Pass mark (theta)", "Decision", "Scaled score", "550", "starting values", "Theta"):
        assert label in text, label
    # Summary 14 rows; skills header + 3; times header + 4 + total + mean; responses header + 4.
    assert parser.tags.count("tr") == 14 + (1 + 3) + (1 + 4 + 2) + (1 + 4)
    assert {"style", "table", "h1", "h2"} <= set(parser.tags)


def test_score_distribution_svg(admin, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    response = admin.get(f"/api/tests/{seeded.test_id}/score-distribution.svg")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("image/svg+xml")
    assert "<b>" not in response.text  # the title is escaped
    svg = ET.fromstring(response.text)
    ns = "{http://www.w3.org/2000/svg}"
    assert svg.tag == f"{ns}svg"
    assert svg.findtext(f"{ns}title") == f"Score distribution: {TITLE}"
    bars = [rect for rect in svg.iter(f"{ns}rect") if rect.get("class") == "bar"]
    counts = (0, 0, 2, 0, 0, 1, 0, 1, 0, 1)
    expected = [f"{low}-{low + 10}%: {count}" for low, count in zip(range(0, 100, 10), counts, strict=True)]
    assert [bar.findtext(f"{ns}title") for bar in bars] == expected
    heights = [float(bar.get("height", "-1")) for bar in bars]
    assert heights[2] == 2 * heights[5] == 2 * heights[7] == 2 * heights[9] > 0
    assert heights[0] == heights[1] == heights[3] == 0
    labels = {element.text for element in svg.iter(f"{ns}text")}
    assert {"Percentage score", "Finished attempts", "0-10", "90-100"} <= labels


def test_responses_csv(admin, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    response = admin.get(f"/api/tests/{seeded.test_id}/responses.csv")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"] == f'attachment; filename="test-{seeded.test_id}-responses.csv"'
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert len(rows) == 20  # one per response
    assert tuple(rows[0]) == HEADER
    per_attempt = {who: sum(row["attempt_id"] == str(a) for row in rows) for who, a in seeded.attempts.items()}
    assert per_attempt == {"A": 4, "B": 4, "C": 4, "D": 4, "E": 3, "F": 1}
    first = rows[0]  # A's first answer: attempts in start order, questions in order
    assert first["full_name"] == "'" + FORMULA_NAME  # neutralised: a spreadsheet shows it as text
    assert (first["attempt_id"], first["user_id"], first["attempt_number"]) == (
        str(seeded.attempts["A"]),
        str(seeded.users["A"]),
        "1",
    )
    assert (first["item_id"], first["selected_option"], first["is_correct"], first["time_taken_s"]) == (
        "rep-python-1",
        "a",
        "true",
        "12.5",
    )
    assert (first["presented_at"], first["answered_at"]) == (
        "2026-11-20T09:00:00+00:00",
        "2026-11-20T09:00:12.500000+00:00",
    )
    b_last = rows[7]  # B's answer to I4: a, the key d
    assert (b_last["full_name"], b_last["item_id"], b_last["selected_option"], b_last["correct_option"]) == (
        SCRIPT_NAME,
        "rep-sql-2",
        "a",
        "d",
    )
    assert (b_last["is_correct"], float(b_last["theta_after"]), b_last["se_after"]) == ("false", 0.4, "0.6")
    assert rows[2]["stem"] == HOSTILE_STEM
    assert all(row["full_name"][0] not in "=+-@" for row in rows)


def test_access_rules(server: Server, admin, make_user, seeded: Seeded) -> None:  # type: ignore[no-untyped-def]
    test_routes = [
        f"/api/tests/{seeded.test_id}/item-analysis",
        f"/api/tests/{seeded.test_id}/score-distribution.svg",
        f"/api/tests/{seeded.test_id}/responses.csv",
    ]
    report_routes = [
        f"/api/attempts/{seeded.attempts['A']}/report",
        f"/api/attempts/{seeded.attempts['A']}/report.html",
    ]
    recruiter = make_user("recruiter")
    with server.client(recruiter.token) as staff:
        assert all(staff.get(path).status_code == 200 for path in test_routes + report_routes)
    with server.client(seeded.tokens["E"]) as candidate:
        assert all(candidate.get(path).status_code == 403 for path in test_routes)
        assert candidate.get(f"/api/attempts/{seeded.attempts['E']}/report").json()["score"] == 1
        assert candidate.get(f"/api/attempts/{seeded.attempts['E']}/report.html").status_code == 200
        missing_id = 2_000_000_000
        for suffix in ("report", "report.html"):
            foreign = candidate.get(f"/api/attempts/{seeded.attempts['A']}/{suffix}")
            missing = candidate.get(f"/api/attempts/{missing_id}/{suffix}")
            assert foreign.status_code == missing.status_code == 404
            # The same answer as for an attempt that does not exist, but for the number.
            assert foreign.json() == {
                **missing.json(),
                "detail": missing.json()["detail"].replace(str(missing_id), str(seeded.attempts["A"])),
            }
    with server.client() as anonymous:
        assert all(anonymous.get(path).status_code == 401 for path in test_routes + report_routes)
    for path in (
        "/api/tests/2000000000/item-analysis",
        "/api/tests/2000000000/score-distribution.svg",
        "/api/tests/2000000000/responses.csv",
        "/api/attempts/2000000000/report",
        "/api/attempts/2000000000/report.html",
    ):
        assert admin.get(path).status_code == 404, path
    for path in (
        "/api/tests/abc/item-analysis",
        "/api/tests/0/score-distribution.svg",
        "/api/tests/-3/responses.csv",
        "/api/tests/99999999999/responses.csv",
        "/api/attempts/abc/report",
        "/api/attempts/1.5/report.html",
    ):
        assert admin.get(path).status_code == 422, path
