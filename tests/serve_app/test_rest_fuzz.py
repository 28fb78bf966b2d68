"""REST bodies, paths and queries fuzzed from the OpenAPI spec with schemathesis: never a 5xx.

Runs against an application on a database of its own (fuzzing as the admin creates, closes and edits
whatever it can reach), on SQLite and PostgreSQL, as the admin and as a candidate.
"""

from __future__ import annotations

from typing import Any

import pytest
import schemathesis
from builders import valid_test_body
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server, invite_cohort
from hypothesis import HealthCheck, given, settings
from jose import jwt

FUZZ_EXAMPLES = 40


@pytest.fixture(scope="module")
def fuzzed_server(isolated_server) -> Server:  # type: ignore[no-untyped-def]
    return isolated_server()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def fuzz_tokens(fuzzed_server: Server) -> dict[str, str]:
    """The admin's token and an invited candidate's (with a published test, so there is data to hit)."""
    _, (candidate,) = invite_cohort(fuzzed_server, 1)
    return {"admin": fuzzed_server.login(ADMIN_EMAIL, ADMIN_PASSWORD), "candidate": candidate}


def operations(server: Server) -> list[Any]:
    schema = schemathesis.openapi.from_url(f"{server.base_url}/openapi.json")
    return [result.ok() for result in schema.get_all_operations()]


# Fuzzing these would revoke the fuzzing token and leave every later case a 401: a logout, and a change
# to the fuzzing user itself. They are attacked in test_tokens_and_logins.py and test_users_api.py.
SESSION_ENDING_PATHS = {"/auth/logout"}


def changes_a_fuzzing_user(case: Any, user_ids: set[str]) -> bool:
    return case.path == "/api/users/{user_id}" and str((case.path_parameters or {}).get("user_id")) in user_ids


def fuzz_every_operation(server: Server, token: str, fuzzing_tokens: list[str]) -> int:
    """Hypothesis examples for every operation in the spec (driven directly: schemathesis's pytest plugin
    does not support this pytest); returns how many operations were fuzzed. The fuzzing users' own
    accounts are left alone, and the token still works at the end: no case lost the rest to a 401."""
    fuzzed = [operation for operation in operations(server) if operation.path not in SESSION_ENDING_PATHS]
    user_ids = {str(jwt.get_unverified_claims(each)["sub"]) for each in fuzzing_tokens}
    for operation in fuzzed:

        @given(case=operation.as_strategy().filter(lambda case: not changes_a_fuzzing_user(case, user_ids)))
        @settings(max_examples=FUZZ_EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def no_server_error(case) -> None:  # type: ignore[no-untyped-def]
            response = case.call(base_url=server.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)
            assert response.status_code < 500, (
                f"{case.method} {case.formatted_path} body={case.body!r} query={case.query!r}: {response.status_code}"
            )

        no_server_error()
    with server.client(token) as client:
        assert client.get("/api/users/me").status_code == 200
    return len(fuzzed)


def test_no_request_as_the_admin_gets_a_server_error(fuzzed_server: Server, fuzz_tokens: dict[str, str]) -> None:
    assert fuzz_every_operation(fuzzed_server, fuzz_tokens["admin"], list(fuzz_tokens.values())) >= 17


def test_no_request_as_a_candidate_gets_a_server_error(fuzzed_server: Server, fuzz_tokens: dict[str, str]) -> None:
    assert fuzz_every_operation(fuzzed_server, fuzz_tokens["candidate"], list(fuzz_tokens.values())) >= 17


def test_nul_characters_are_refused_before_they_reach_the_store(fuzzed_server: Server, fuzz_tokens) -> None:  # type: ignore[no-untyped-def]
    """PostgreSQL cannot store NUL in text: found by this fuzzing as a 500 on PostgreSQL; now a 422/401."""
    with fuzzed_server.client() as anonymous:
        login = anonymous.post("/auth/token", data={"username": "a\x00@example.com", "password": "x\x00-password"})
        assert login.status_code == 401
    with fuzzed_server.client(fuzz_tokens["admin"]) as admin:
        user = {"email": "nul@example.com", "password": "pass\x00word-123", "full_name": "N\x00", "role": "candidate"}
        refused = admin.post("/api/users", json=user)
        assert refused.status_code == 422 and "NUL" in refused.json()["message"]
        body = valid_test_body(title="t\x00", skills=[{"name": "sql", "weight": 1, "prerequisites": []}])
        assert admin.post("/api/tests", json=body).status_code == 422
        assert admin.post("/api/tests", json=valid_test_body(job_description="\x00")).status_code == 422
