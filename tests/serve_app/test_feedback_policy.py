"""A test's feedback policy, attacked the way a candidate would: every WebSocket frame and every REST view
of their own attempt is read for the key, the explanation and the bank item's id, which only `full`
lets through; under `none` nothing tells them right from wrong while the attempt runs. Staff see all."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import pytest
from builders import valid_test_body
from live_client import LiveClient, ws_url

from questions.source import QuestionSource

pytestmark = pytest.mark.websocket
BANK = {item.stem: item for item in QuestionSource().items}
KEY_FIELDS = ("item_id", "correct_option", "explanation")


def bank_item(question: dict[str, Any]) -> Any:
    return BANK[question["text"]]


async def answer_in_turn(server, live, rights: list[bool], finish: bool) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    """Answer right or wrong in turn (the key looked up in the bank), every frame received kept. Stops
    before the last answer unless `finish`."""
    url = ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
    client = await LiveClient.connect(url)
    await client.expect("auth_success")
    _, question = await client.start()
    questions, feedback, progress = [], [], []
    for position, right in enumerate(rights):
        if position == len(rights) - 1 and not finish:
            break
        item = bank_item(question)
        option = item.key if right else next(o["id"] for o in question["options"] if o["id"] != item.key)
        questions.append(question)
        got, update, question = await client.answer(question, option)
        feedback.append(got)
        progress.append(update)
        if (
            position == 0 and question["type"] == "question"
        ):  # the same answer again: the same feedback, marked as a duplicate
            await client.send("submit_answer", question_id=got["question_id"], selected_option=option)
            feedback.append(await client.expect("answer_feedback"))
    await client.close()
    shown = [*questions, question] if question["type"] == "question" else questions
    return {
        "questions": questions,
        "shown": shown,
        "feedback": feedback,
        "progress": progress,
        "last": question,
        "raw": [json.dumps(frame) for frame in client.received],
    }


def secrets_of(questions: list[dict[str, Any]]) -> list[str]:
    """What must not reach the candidate: each shown item's bank id and its explanation."""
    return [text for q in questions for text in (bank_item(q).id, bank_item(q).explanation)]


def assert_hidden(texts: list[str], secrets: list[str]) -> None:
    leaked = [secret for secret in secrets if any(secret in text for text in texts)]
    assert leaked == [], leaked


def test_under_correctness_a_candidate_learns_right_or_wrong_only(server, make_live_test, admin) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_questions=3, min_questions=3, feedback="correctness")
    assert admin.get(f"/api/tests/{live.test_id}").json()["feedback"] == "correctness"
    seen = asyncio.run(answer_in_turn(server, live, [True, False, True], finish=True))

    assert [f["correct"] for f in seen["feedback"]] == [True, True, False, True]
    assert seen["feedback"][1]["duplicate"] is True
    assert all(f["correct_option"] is None and f["explanation"] is None for f in seen["feedback"])
    assert [p["score"] for p in seen["progress"]] == [1, 1, 2]  # right or wrong is theirs to know
    assert seen["last"]["type"] == "assessment_completed" and seen["last"]["score"] == 2
    assert_hidden(seen["raw"], secrets_of(seen["shown"]))

    attempt_id = seen["last"]["attempt_id"]
    with server.client(live.candidate.token) as candidate:
        views = [candidate.get(f"/api/attempts/{attempt_id}{suffix}") for suffix in ("", "/report", "/report.html")]
    assert [view.status_code for view in views] == [200, 200, 200], [view.text for view in views]
    for view in (views[0].json(), views[1].json()):
        assert view["feedback"] == "correctness"
        assert [r["is_correct"] for r in view["responses"]] == [True, False, True]
        assert all(r[name] is None for r in view["responses"] for name in KEY_FIELDS)
        assert all(r["pretest"] is None for r in view["responses"])
    assert all(r["theta_after"] is not None for r in views[1].json()["responses"])
    assert "Correct option" not in views[2].text and "Correct?" in views[2].text
    assert_hidden([view.text for view in views], secrets_of(seen["questions"]))

    staff = admin.get(f"/api/attempts/{attempt_id}/report").json()  # staff see everything
    assert staff["feedback"] == "full"
    assert [r["item_id"] for r in staff["responses"]] == [bank_item(q).id for q in seen["questions"]]
    assert [r["explanation"] for r in staff["responses"]] == [bank_item(q).explanation for q in seen["questions"]]
    assert all(r["correct_option"] for r in staff["responses"]) and staff["responses"][0]["pretest"] is False
    assert "Correct option" in admin.get(f"/api/attempts/{attempt_id}/report.html").text


def test_under_none_a_candidate_learns_only_that_each_answer_was_stored(  # type: ignore[no-untyped-def]
    server, make_live_test, admin, admin_token
) -> None:
    live = make_live_test(max_questions=3, min_questions=3, feedback="none")

    async def watched_by_a_recruiter() -> tuple[dict[str, Any], list[dict[str, Any]]]:
        watcher = await LiveClient.connect(
            ws_url(server.base_url, "/ws/monitor", token=admin_token, test_id=live.test_id)
        )
        await watcher.expect("auth_success")
        seen = await answer_in_turn(server, live, [True, False, True], finish=False)
        events = [await asyncio.wait_for(watcher.expect("monitor_event"), 60) for _ in range(3)]
        await watcher.close()
        return seen, events

    seen, events = asyncio.run(watched_by_a_recruiter())
    # Staff's live monitor keeps the whole truth.
    assert [(e["event"], e["correct"], e["score"]) for e in events] == [
        ("attempt_started", None, 0),
        ("answered", True, 1),
        ("answered", False, 1),
    ]
    assert all(f["correct"] is None and f["correct_option"] is None for f in seen["feedback"])
    assert all(f["explanation"] is None for f in seen["feedback"])
    assert [p["score"] for p in seen["progress"]] == [None, None]
    assert [p["answered"] for p in seen["progress"]] == [1, 2]
    assert_hidden(seen["raw"], secrets_of(seen["shown"]))

    # While it runs, nothing over REST tells right from wrong either; the report waits for the end.
    attempt_id = admin.get(f"/api/tests/{live.test_id}/results").json()[0]["attempt_id"]
    with server.client(live.candidate.token) as candidate:
        running = candidate.get(f"/api/attempts/{attempt_id}")
        refused = [candidate.get(f"/api/attempts/{attempt_id}{suffix}") for suffix in ("/report", "/report.html")]
    assert running.status_code == 200, running.text
    view = running.json()
    assert (view["status"], view["answered"], view["feedback"]) == ("in_progress", 2, "none")
    assert all(view[name] is None for name in ("score", "percentage", "ability", "scaled_score", "passed"))
    assert all(r[name] is None for r in view["responses"] for name in ("is_correct", *KEY_FIELDS))
    assert [r.status_code for r in refused] == [409, 409]
    assert "once the attempt is finished" in refused[0].json()["detail"]
    staff = admin.get(f"/api/attempts/{attempt_id}").json()
    assert staff["score"] == 1 and [r["is_correct"] for r in staff["responses"]] == [True, False]

    # Finished: the result is theirs (score, ability, per skill), never the answer-by-answer verdicts.
    finished = asyncio.run(answer_in_turn(server, live, [True], finish=True))
    assert finished["last"]["type"] == "assessment_completed" and finished["last"]["score"] == 2
    with server.client(live.candidate.token) as candidate:
        report = candidate.get(f"/api/attempts/{attempt_id}/report")
        page = candidate.get(f"/api/attempts/{attempt_id}/report.html")
    assert report.status_code == page.status_code == 200, report.text
    assert report.json()["score"] == 2 and report.json()["ability"] is not None
    responses = report.json()["responses"]
    assert all(r[name] is None for r in responses for name in ("is_correct", "theta_after", "se_after", *KEY_FIELDS))
    assert "Correct?" not in page.text and "Theta after" not in page.text
    assert_hidden([report.text, page.text], secrets_of([*seen["questions"], *finished["questions"]]))


def test_the_policy_is_part_of_the_test_and_fixed_once_published(server, admin) -> None:  # type: ignore[no-untyped-def]
    created = admin.post("/api/tests", json=valid_test_body())
    assert created.status_code == 201, created.text
    test_id = created.json()["id"]
    assert created.json()["feedback"] == "full"  # the default: what every test showed before
    changed = admin.patch(f"/api/tests/{test_id}", json={"feedback": "none"})
    assert changed.status_code == 200 and changed.json()["feedback"] == "none", changed.text
    for bad in ("partial", "FULL", "", 1, None, ["none"], {"policy": "none"}, "none" * 10_000):
        refused = admin.patch(f"/api/tests/{test_id}", json={"feedback": bad})
        assert refused.status_code == 422, (bad, refused.text)
        refused = admin.post("/api/tests", json=valid_test_body(feedback=bad))
        assert refused.status_code == 422, (bad, refused.text)
    assert admin.patch(f"/api/tests/{test_id}", json={"status": "published"}).status_code == 200
    locked = admin.patch(f"/api/tests/{test_id}", json={"feedback": "full"})
    assert locked.status_code == 409, locked.text
    assert admin.get(f"/api/tests/{test_id}").json()["feedback"] == "none"
