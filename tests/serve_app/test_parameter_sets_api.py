"""Parameter sets over REST on a fresh database of their own (activation changes what every new attempt is
scored with): calibrate stored responses into a draft, review it, activate it, and bad input of every kind."""

import asyncio
import uuid
from datetime import UTC, datetime

import numpy as np
import pytest
from builders import valid_test_body
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, execute_sql
from live_client import LiveClient, ws_url
from sqlalchemy import func, select

from adaptive.assembly import TestDesign, adaptive_test
from adaptive.calibration import CalibratedSet
from persistence import attempts
from persistence.database import Database
from persistence.models import Response
from questions.source import QuestionSource
from simulation.fast import SimulationPlan, simulate
from simulation.live import create_simulated_test
from simulation.stored import store_outcome

DEFINITION = {
    "skills": [
        {"name": "python", "weight": 1.0, "prerequisites": []},
        {"name": "sql", "weight": 1.0, "prerequisites": []},
    ],
    "max_questions": 12,
    "min_questions": 12,
    "se_target": None,
}


@pytest.fixture(scope="module")
def calibration_server(isolated_server):  # type: ignore[no-untyped-def]
    return isolated_server()


def simulated_test(database_url: str, candidates: int) -> tuple[int, list[int], int]:
    """A test with `candidates` stored simulated attempts and one more candidate invited who has not started;
    its id, its candidates, the responses stored."""
    test = adaptive_test(QuestionSource(), TestDesign.from_definition(DEFINITION))
    theta = np.random.default_rng(3).normal(size=candidates)
    outcome = simulate(SimulationPlan(test), theta, np.zeros(candidates, np.int8), seed=3, local=True)

    async def write() -> tuple[int, list[int]]:
        database = Database(database_url)
        try:
            test_id, user_ids = await create_simulated_test(database, DEFINITION, candidates + 1, uuid.uuid4().hex[:8])
            await store_outcome(database, test_id, user_ids[:-1], outcome, test.pool, None)
            return test_id, user_ids
        finally:
            await database.dispose()

    test_id, user_ids = asyncio.run(write())
    return test_id, user_ids, int(outcome.length.sum())


def test_calibrate_review_and_activate_a_parameter_set(calibration_server) -> None:  # type: ignore[no-untyped-def]
    server = calibration_server
    admin = server.client(server.login(ADMIN_EMAIL, ADMIN_PASSWORD))
    test_id, user_ids, responses = simulated_test(server.settings.database_url, 600)

    created = admin.post("/api/parameter-sets", json={"test_ids": [test_id], "model": "2pl", "note": "first"})
    assert created.status_code == 201, created.text
    draft = created.json()
    assert (draft["status"], draft["model"], draft["note"]) == ("draft", "2pl", "first")
    assert draft["source"]["tests"] == [test_id] and draft["source"]["responses"] == responses
    assert draft["source"]["persons"] == 600 and draft["fit"]["converged"] is True
    assert draft["source"]["made_with"] == "POST /api/parameter-sets" and draft["created_by_id"] is not None
    assert draft["items"] == len(draft["parameters"]) > 10
    item = draft["parameters"][0]
    assert item["a"] > 0 and item["se_b"] > 0 and item["n"] > 0 and item["anchored"] is False

    listed = admin.get("/api/parameter-sets").json()
    assert listed[0]["id"] == draft["id"] and "parameters" not in listed[0]
    assert admin.get(f"/api/parameter-sets/{draft['id']}").json()["parameters"] == draft["parameters"]

    active = admin.post(f"/api/parameter-sets/{draft['id']}/activate").json()
    assert active["status"] == "active" and active["activated_at"] is not None

    # A second calibration anchored to the active set keeps its items fixed; activating it retires the first.
    anchored = admin.post(
        "/api/parameter-sets", json={"test_ids": [test_id], "model": "2pl", "anchored_to_active": True}
    ).json()
    assert anchored["source"]["anchored_to"] == draft["id"]
    assert all(row["anchored"] for row in anchored["parameters"])
    admin.post(f"/api/parameter-sets/{anchored['id']}/activate")
    statuses = {entry["id"]: entry["status"] for entry in admin.get("/api/parameter-sets").json()}
    assert (statuses[draft["id"]], statuses[anchored["id"]]) == ("retired", "active")
    logged = [
        (event["action"], event["target_id"], event["actor_email"])
        for event in reversed(admin.get("/api/audit").json())
        if event["target_type"] == "parameter_set"
    ]
    assert logged == [
        (action, set_id, ADMIN_EMAIL)
        for set_id in (draft["id"], anchored["id"])
        for action in ("parameter_set.created", "parameter_set.activated")
    ]

    # The attempt that starts now is scored with the active set, and says so in the results.
    async def start() -> int | None:
        database = Database(server.settings.database_url)
        try:
            opened = await attempts.start_or_resume(database, test_id, user_ids[-1], datetime.now(UTC))
            return opened.attempt.parameter_set_id
        finally:
            await database.dispose()

    assert asyncio.run(start()) == anchored["id"]
    results = admin.get(f"/api/tests/{test_id}/results").json()
    assert {row["parameter_set_id"] for row in results} == {None, anchored["id"]}


def test_parameter_set_routes_refuse_bad_input(calibration_server) -> None:  # type: ignore[no-untyped-def]
    server = calibration_server
    admin = server.client(server.login(ADMIN_EMAIL, ADMIN_PASSWORD))
    empty = admin.post(
        "/api/tests",
        json={
            "title": "Empty",
            "job_description": "J",
            "skills": [{"name": "python", "weight": 1, "prerequisites": []}],
        },
    ).json()
    cases = [
        ({"test_ids": []}, 422),
        ({"test_ids": [0]}, 422),
        ({"test_ids": ["one"]}, 422),
        ({"test_ids": [999_999]}, 404),
        ({"test_ids": [empty["id"]]}, 422),  # no responses to calibrate from
        ({"test_ids": [empty["id"]], "model": "4pl"}, 422),
        ({"test_ids": [empty["id"]], "note": "x" * 2001}, 422),
        ({"test_ids": [empty["id"]], "surprise": 1}, 422),
        ({"test_ids": list(range(1, 200))}, 422),
    ]
    for body, expected in cases:
        response = admin.post("/api/parameter-sets", json=body)
        assert response.status_code == expected, (body, response.text)
        assert "detail" in response.json() or "error" in response.json()
    assert admin.post("/api/parameter-sets", content=b"{not json").status_code == 422
    assert admin.get("/api/parameter-sets/999999").status_code == 404
    assert admin.post("/api/parameter-sets/999999/activate").status_code == 404
    assert admin.get("/api/parameter-sets/0").status_code == 422
    with server.client() as anonymous:
        assert anonymous.get("/api/parameter-sets").status_code == 401


def test_a_live_attempt_is_scored_with_the_active_set_and_its_responses_say_so(calibration_server) -> None:  # type: ignore[no-untyped-def]
    """After activation a candidate takes a test over the WebSocket: the attempt and every response name the
    active set, and the estimate is the one the active parameters give for the same answers."""
    server = calibration_server
    admin = server.client(server.login(ADMIN_EMAIL, ADMIN_PASSWORD))
    test_id, _, _ = simulated_test(server.settings.database_url, 300)
    draft = admin.post("/api/parameter-sets", json={"test_ids": [test_id], "model": "2pl"}).json()
    assert admin.post(f"/api/parameter-sets/{draft['id']}/activate").status_code == 200

    password = "a-password-for-this-test"
    candidate = admin.post(
        "/api/users",
        json={
            "email": f"c-{uuid.uuid4().hex[:8]}@example.com",
            "password": password,
            "full_name": "C",
            "role": "candidate",
        },
    ).json()
    body = valid_test_body(skills=DEFINITION["skills"], max_questions=5, min_questions=5, se_target=None)
    live_test = admin.post("/api/tests", json=body).json()
    admin.post(f"/api/tests/{live_test['id']}/candidates", json={"user_ids": [candidate["id"]]})
    admin.patch(f"/api/tests/{live_test['id']}", json={"status": "published"})
    token = server.login(candidate["email"], password)

    async def take() -> dict:  # type: ignore[type-arg]
        url = ws_url(server.base_url, "/ws/assessment", token=token, test_id=live_test["id"])
        client = await LiveClient.connect(url)
        await client.expect("auth_success")
        _, frame = await client.start()
        while frame["type"] == "question":
            frame = (await client.answer(frame, "a"))[2]
        await client.close()
        return frame

    completed = asyncio.run(take())
    report = admin.get(f"/api/attempts/{completed['attempt_id']}/report").json()
    assert report["parameter_set_id"] == draft["id"]
    counted = select(func.count()).where(
        Response.attempt_id == completed["attempt_id"], Response.parameter_set_id == draft["id"]
    )
    assert asyncio.run(execute_sql(server.settings.database_url, counted)) == 5
    # The same answers under the active parameters give the same estimate.
    calibrated = {row["item_id"]: (row["a"], row["b"], row["c"]) for row in draft["parameters"]}
    active = CalibratedSet(draft["id"], calibrated)
    test = adaptive_test(QuestionSource(), TestDesign.from_definition(body, parameters=active))
    responses = report["responses"]
    entries = [test.pool.index_of(response["item_id"]) for response in responses]
    state = test.replay(entries, [response["is_correct"] for response in responses], completed["attempt_id"])
    assert completed["ability"]["theta"] == pytest.approx(float(state.theta[0]), abs=1e-4)
