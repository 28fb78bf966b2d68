"""/api/tests: create, read, list, publish/close, edit rules, eligibility, and the candidate's view."""

from datetime import UTC, datetime, timedelta

import pytest
from builders import valid_test_body


def create_test(client, **overrides: object) -> dict:  # type: ignore[no-untyped-def, type-arg]
    response = client.post("/api/tests", json=valid_test_body(**overrides))
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def test_recruiter_creates_a_draft_test_with_a_blueprint(server, make_user) -> None:  # type: ignore[no-untyped-def]
    recruiter = make_user("recruiter")
    with server.client(recruiter.token) as client:
        test = create_test(client)
        assert test["status"] == "draft"
        assert test["blueprint"] == {"python": 6, "sql": 3, "algorithms": 3}
        assert test["skills"][2] == {"name": "algorithms", "weight": 1.0, "prerequisites": ["python"]}
        assert client.get(f"/api/tests/{test['id']}").json() == test
        assert test["id"] in [listed["id"] for listed in client.get("/api/tests", params={"status": "draft"}).json()]


def test_unknown_test_is_404(admin) -> None:  # type: ignore[no-untyped-def]
    response = admin.get("/api/tests/987654")
    assert response.status_code == 404
    assert response.json()["detail"] == "test 987654 not found"
    assert admin.get("/api/tests/not-a-number").status_code == 422


SOON = datetime(2030, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        ({"min_questions": 13}, "min_questions may not exceed max_questions"),
        (
            {"starts_at": SOON.isoformat(), "ends_at": (SOON - timedelta(hours=1)).isoformat()},
            "ends_at must be later",
        ),
        ({"starts_at": "2030-01-01T10:00:00"}, "timezone"),
        ({"skills": []}, "at least 1"),
        ({"skills": [{"name": "python"}, {"name": "python"}]}, "duplicate skills: python"),
        ({"skills": [{"name": "python", "weight": 0}]}, "greater than 0"),
        ({"skills": [{"name": "python", "prerequisites": ["sql"]}]}, "not skills of this test: sql"),
        (
            {
                "skills": [
                    {"name": "python", "prerequisites": ["sql"]},
                    {"name": "sql", "prerequisites": ["python"]},
                ]
            },
            "cycle",
        ),
        ({"skills": [{"name": "cooking"}]}, "no items for cooking"),
        ({"max_questions": 10**12}, "less than or equal to 200"),
        ({"duration_minutes": 0}, "greater than or equal to 1"),
        ({"passing_score": 101}, "less than or equal to 100"),
        ({"generator": "magic"}, "generator"),
        ({"title": ""}, "title"),
        ({"se_target": "tight"}, "se_target"),
        ({"se_target": -0.1}, "greater than or equal to 0"),
        ({"surprise": 1}, "surprise"),
    ],
    ids=[
        "min>max",
        "window-backwards",
        "naive-time",
        "no-skills",
        "duplicate-skill",
        "zero-weight",
        "unknown-prerequisite",
        "cycle",
        "skill-not-in-bank",
        "huge-number",
        "zero-duration",
        "score>100",
        "unknown-generator",
        "empty-title",
        "wrong-type",
        "negative-se-target",
        "extra-field",
    ],
)
def test_invalid_test_bodies_get_a_reason(admin, overrides: dict[str, object], reason: str) -> None:  # type: ignore[no-untyped-def]
    response = admin.post("/api/tests", json=valid_test_body(**overrides))
    assert response.status_code == 422, response.text
    body = response.json()
    assert reason in (body.get("message") or body["detail"])


def test_llm_tests_may_name_skills_beyond_the_bank(admin) -> None:  # type: ignore[no-untyped-def]
    test = create_test(admin, generator="llm", skills=[{"name": "kubernetes"}])
    assert test["generator"] == "llm"


def test_publish_then_only_window_and_attempts_change_then_close(admin) -> None:  # type: ignore[no-untyped-def]
    test = create_test(admin)
    path = f"/api/tests/{test['id']}"
    assert admin.patch(path, json={"title": "Renamed while draft"}).json()["title"] == "Renamed while draft"
    published = admin.patch(path, json={"status": "published"}).json()
    assert published["status"] == "published" and published["published_at"]

    refused = admin.patch(path, json={"max_questions": 30})
    assert refused.status_code == 409
    assert "cannot change max_questions of a published test" in refused.json()["detail"]
    later = (datetime.now(UTC) + timedelta(days=3)).isoformat()
    assert admin.patch(path, json={"ends_at": later, "max_attempts": 3}).json()["max_attempts"] == 3

    closed = admin.patch(path, json={"status": "closed"}).json()
    assert closed["status"] == "closed" and closed["closed_at"]
    again = admin.patch(path, json={"status": "published"})
    assert again.status_code == 409
    assert "a closed test cannot become published" in again.json()["detail"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({}, 422),
        ({"status": "archived"}, 422),
        ({"min_questions": 50}, 422),
        ({"skills": [{"name": "cooking"}]}, 422),
        ({"id": 5}, 422),
        ({"title": None}, 422),
        ({"max_questions": None}, 422),
    ],
    ids=[
        "empty",
        "unknown-status",
        "min>max",
        "skill-not-in-bank",
        "read-only-field",
        "null-title",
        "null-length",
    ],
)
def test_invalid_patches_are_refused(admin, body: dict[str, object], status: int) -> None:  # type: ignore[no-untyped-def]
    test = create_test(admin)
    response = admin.patch(f"/api/tests/{test['id']}", json=body)
    assert response.status_code == status, response.text
    assert admin.get(f"/api/tests/{test['id']}").json() == test  # nothing changed


def test_a_window_that_already_ended_cannot_be_published(admin) -> None:  # type: ignore[no-untyped-def]
    past = datetime.now(UTC) - timedelta(days=1)
    test = create_test(admin, starts_at=(past - timedelta(days=1)).isoformat(), ends_at=past.isoformat())
    response = admin.patch(f"/api/tests/{test['id']}", json={"status": "published"})
    assert response.status_code == 409


def test_candidates_become_eligible_and_see_their_tests(server, admin, make_user) -> None:  # type: ignore[no-untyped-def]
    alice, bob = make_user("candidate"), make_user("candidate")
    test = create_test(admin)
    path = f"/api/tests/{test['id']}/candidates"
    added = admin.post(path, json={"user_ids": [alice.id, bob.id, alice.id], "extra_time_minutes": 10})
    assert added.status_code == 200, added.text
    assert [(a["user_id"], a["extra_time_minutes"], a["status"]) for a in added.json()] == [
        (alice.id, 10, "invited"),
        (bob.id, 10, "invited"),
    ]
    again = admin.post(path, json={"user_ids": [bob.id], "extra_time_minutes": 0}).json()
    assert [(a["user_id"], a["extra_time_minutes"]) for a in again] == [(bob.id, 0)]
    assert [a["email"] for a in admin.get(path).json()] == [alice.email, bob.email]

    with server.client(alice.token) as client:
        assert client.get("/api/me/tests").json() == []  # drafts are not shown to candidates
        admin.patch(f"/api/tests/{test['id']}", json={"status": "published"})
        [mine] = client.get("/api/me/tests").json()
    assert mine["test_id"] == test["id"]
    assert (mine["window"], mine["attempts_used"], mine["attempts_left"]) == ("open", 0, 2)
    assert (mine["extra_time_minutes"], mine["active_attempt_id"], mine["application_status"]) == (
        10,
        None,
        "invited",
    )


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        ({"user_ids": []}, "at least 1"),
        ({"user_ids": [0]}, "greater than or equal to 1"),
        ({"user_ids": ["one"]}, "valid integer"),
        ({"user_ids": [1], "extra_time_minutes": -5}, "greater than or equal to 0"),
        ({"user_ids": [99999]}, "no such users: 99999"),
    ],
    ids=["empty", "zero-id", "wrong-type", "negative-extra-time", "unknown-user"],
)
def test_invalid_candidate_bodies(admin, body: dict[str, object], reason: str) -> None:  # type: ignore[no-untyped-def]
    test = create_test(admin)
    response = admin.post(f"/api/tests/{test['id']}/candidates", json=body)
    assert response.status_code == 422
    assert reason in (response.json().get("message") or response.json()["detail"])


def test_only_candidates_and_only_open_tests(admin, make_user) -> None:  # type: ignore[no-untyped-def]
    recruiter = make_user("recruiter")
    candidate = make_user("candidate")
    test = create_test(admin)
    path = f"/api/tests/{test['id']}/candidates"
    response = admin.post(path, json={"user_ids": [recruiter.id]})
    assert response.status_code == 422
    assert f"users are not candidates: {recruiter.id}" in response.json()["detail"]
    admin.patch(f"/api/tests/{test['id']}", json={"status": "closed"})
    assert admin.post(path, json={"user_ids": [candidate.id]}).status_code == 409
    assert admin.post("/api/tests/424242/candidates", json={"user_ids": [candidate.id]}).status_code == 404


def test_an_se_target_of_zero_or_null_means_no_precision_stop(admin) -> None:  # type: ignore[no-untyped-def]
    for off in (0, None):
        created = admin.post("/api/tests", json=valid_test_body(se_target=off))
        assert created.status_code == 201, created.text
        assert created.json()["se_target"] == off
        assert admin.get(f"/api/tests/{created.json()['id']}").json()["se_target"] == off
    test = create_test(admin)
    assert admin.patch(f"/api/tests/{test['id']}", json={"se_target": 0}).json()["se_target"] == 0


def test_optional_targets_and_window_ends_can_be_cleared(admin) -> None:  # type: ignore[no-untyped-def]
    test = create_test(admin, ends_at=(datetime.now(UTC) + timedelta(days=2)).isoformat())
    cleared = admin.patch(f"/api/tests/{test['id']}", json={"se_target": None, "ends_at": None})
    assert cleared.status_code == 200, cleared.text
    assert (cleared.json()["se_target"], cleared.json()["ends_at"]) == (None, None)
