"""Results, attempt reports and item analysis over attempts written straight into the real database."""

import asyncio
from datetime import UTC, datetime, timedelta

from builders import valid_test_body
from sqlalchemy import select

from domain.enums import AttemptStatus, FinishReason
from persistence.database import Database
from persistence.models import Attempt, CandidateApplication, Response

STARTED = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
OPTIONS = [{"id": letter, "text": f"option {letter}"} for letter in "abcd"]


def seed_attempt(
    database_url: str,
    test_id: int,
    user_id: int,
    answers: list[tuple[str, str, str, str]],
    finished: bool = True,
    theta: float = 0.25,
) -> int:
    """Write one attempt with responses (item_id, skill, key, selected) as the live path would."""

    async def write() -> int:
        database = Database(database_url)
        try:
            async with database.transaction() as session:
                application = await session.scalar(
                    select(CandidateApplication).where(
                        CandidateApplication.test_id == test_id, CandidateApplication.user_id == user_id
                    )
                )
                assert application is not None
                score = sum(key == selected for _, _, key, selected in answers)
                attempt = Attempt(
                    application_id=application.id,
                    test_id=test_id,
                    user_id=user_id,
                    number=1,
                    status=AttemptStatus.COMPLETED if finished else AttemptStatus.IN_PROGRESS,
                    started_at=STARTED,
                    deadline=STARTED + timedelta(minutes=30),
                    finished_at=STARTED + timedelta(minutes=10) if finished else None,
                    finish_reason=FinishReason.COMPLETED if finished else None,
                    max_questions=len(answers),
                    score=score if finished else 0,
                    max_score=len(answers) if finished else 0,
                    ability_theta=theta if finished else None,
                    ability_se=0.4 if finished else None,
                )
                session.add(attempt)
                await session.flush()
                for index, (item_id, skill, key, selected) in enumerate(answers):
                    session.add(
                        Response(
                            attempt_id=attempt.id,
                            question_id=f"q{index}-{item_id}",
                            item_id=item_id,
                            index=index,
                            skill=skill,
                            item_snapshot={
                                "stem": f"Stem of {item_id}",
                                "options": OPTIONS,
                                "explanation": f"Because {key}.",
                            },
                            correct_option=key,
                            selected_option=selected,
                            is_correct=key == selected,
                            presented_at=STARTED + timedelta(minutes=index),
                            answered_at=STARTED + timedelta(minutes=index, seconds=30),
                            time_taken_s=30.0,
                        )
                    )
                return attempt.id
        finally:
            await database.dispose()

    return asyncio.run(write())


def prepared_test(admin, *candidates) -> int:  # type: ignore[no-untyped-def]
    test = admin.post("/api/tests", json=valid_test_body()).json()
    admin.post(f"/api/tests/{test['id']}/candidates", json={"user_ids": [c.id for c in candidates]})
    admin.patch(f"/api/tests/{test['id']}", json={"status": "published"})
    return int(test["id"])


def test_empty_lists_before_any_attempt(admin) -> None:  # type: ignore[no-untyped-def]
    test_id = prepared_test(admin)
    assert admin.get(f"/api/tests/{test_id}/results").json() == []
    analysis = admin.get(f"/api/tests/{test_id}/item-analysis").json()
    existing = {name: analysis[name] for name in ("test_id", "attempts", "responses", "items")}
    assert existing == {"test_id": test_id, "attempts": 0, "responses": 0, "items": []}
    assert admin.get("/api/tests/555555/results").status_code == 404
    assert admin.get("/api/attempts/555555").status_code == 404


def test_results_report_and_item_analysis_match_hand_computed_values(server, admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice, bob, carol = make_user(), make_user(), make_user()
    test_id = prepared_test(admin, alice, bob, carol)
    alice_attempt = seed_attempt(
        server.settings.database_url,
        test_id,
        alice.id,
        [
            ("python-001", "python", "a", "a"),
            ("python-002", "python", "b", "c"),
            ("sql-001", "sql", "d", "d"),
        ],
    )
    seed_attempt(
        server.settings.database_url,
        test_id,
        bob.id,
        [
            ("python-001", "python", "a", "b"),
            ("sql-001", "sql", "d", "d"),
        ],
        theta=-1.5,
    )
    seed_attempt(server.settings.database_url, test_id, carol.id, [("python-001", "python", "a", "a")], finished=False)

    results = admin.get(f"/api/tests/{test_id}/results").json()
    by_user = {row["user_id"]: row for row in results}
    assert (by_user[alice.id]["score"], by_user[alice.id]["max_score"], by_user[alice.id]["answered"]) == (
        2,
        3,
        3,
    )
    assert by_user[alice.id]["percentage"] == 66.67
    # Decisions are on theta: the passing score (65%) carried through the pool's TCC gives the cut.
    cut = by_user[alice.id]["theta_cut"]
    assert -1.5 < cut < 0.25 and by_user[bob.id]["theta_cut"] == cut
    assert (by_user[alice.id]["decision"], by_user[alice.id]["passed"]) == ("pass", True)
    assert (by_user[alice.id]["scaled_score"], by_user[bob.id]["scaled_score"]) == (525, 350)
    assert by_user[alice.id]["ability"] == {"theta": 0.25, "se": 0.4}
    assert (by_user[bob.id]["percentage"], by_user[bob.id]["passed"], by_user[bob.id]["decision"]) == (
        50.0,
        False,
        "fail",
    )
    assert by_user[carol.id]["decision"] is None
    assert (by_user[carol.id]["status"], by_user[carol.id]["passed"], by_user[carol.id]["answered"]) == (
        "in_progress",
        None,
        1,
    )

    report = admin.get(f"/api/attempts/{alice_attempt}").json()
    assert report["test_title"] == "Backend screening"
    assert [
        (r["item_id"], r["selected_option"], r["correct_option"], r["is_correct"]) for r in report["responses"]
    ] == [("python-001", "a", "a", True), ("python-002", "c", "b", False), ("sql-001", "d", "d", True)]
    assert report["responses"][1]["stem"] == "Stem of python-002"
    assert report["responses"][1]["explanation"] == "Because b."

    analysis = admin.get(f"/api/tests/{test_id}/item-analysis").json()
    assert (analysis["attempts"], analysis["responses"]) == (3, 6)
    items = {item["item_id"]: item for item in analysis["items"]}
    assert (items["python-001"]["shown"], items["python-001"]["correct"]) == (3, 2)
    assert items["python-001"]["facility"] == 0.6667
    assert items["python-001"]["option_counts"] == {"a": 2, "b": 1}
    assert (items["sql-001"]["facility"], items["python-002"]["facility"]) == (1.0, 0.0)


def test_candidates_read_only_their_own_attempts(server, admin, make_user) -> None:  # type: ignore[no-untyped-def]
    owner, other = make_user(), make_user()
    test_id = prepared_test(admin, owner, other)
    attempt_id = seed_attempt(server.settings.database_url, test_id, owner.id, [("sql-002", "sql", "a", "a")])
    with server.client(owner.token) as client:
        assert client.get(f"/api/attempts/{attempt_id}").json()["score"] == 1
        [mine] = client.get("/api/me/tests").json()
        assert (mine["attempts_used"], mine["attempts_left"]) == (1, 1)
    with server.client(other.token) as client:
        assert client.get(f"/api/attempts/{attempt_id}").status_code == 404
