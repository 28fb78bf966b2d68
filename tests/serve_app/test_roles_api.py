"""Role checks on every REST route: each role gets the route or a 403, never anything in between."""

import pytest
from conftest import Server

# (method, path, roles allowed); test 1 / attempt 1 may not exist: a 404 still means "allowed".
ROUTES = [
    ("POST", "/api/users", {"admin"}),
    ("GET", "/api/users", {"admin", "recruiter"}),
    ("GET", "/api/users/me", {"admin", "recruiter", "candidate"}),
    ("GET", "/api/users/1", {"admin", "recruiter"}),
    ("PATCH", "/api/users/1", {"admin"}),
    ("POST", "/api/tests", {"admin", "recruiter"}),
    ("GET", "/api/tests", {"admin", "recruiter"}),
    ("GET", "/api/tests/1", {"admin", "recruiter"}),
    ("PATCH", "/api/tests/1", {"admin", "recruiter"}),
    ("POST", "/api/tests/1/candidates", {"admin", "recruiter"}),
    ("GET", "/api/tests/1/candidates", {"admin", "recruiter"}),
    ("GET", "/api/tests/1/results", {"admin", "recruiter"}),
    ("GET", "/api/tests/1/item-analysis", {"admin", "recruiter"}),
    ("GET", "/api/attempts/1", {"admin", "recruiter", "candidate"}),
    ("GET", "/api/skills", {"admin", "recruiter", "candidate"}),
    ("GET", "/api/me/tests", {"candidate"}),
    ("GET", "/api/analytics/connections", {"admin"}),
]


@pytest.mark.parametrize(("method", "path", "allowed"), ROUTES, ids=[f"{m} {p}" for m, p, _ in ROUTES])
def test_each_role_is_let_in_or_refused(
    server: Server, make_user, admin_token: str, method: str, path: str, allowed: set[str]
) -> None:  # type: ignore[no-untyped-def]
    tokens = {
        "admin": admin_token,
        "recruiter": make_user("recruiter").token,
        "candidate": make_user("candidate").token,
    }
    for role, token in tokens.items():
        with server.client(token) as client:
            response = client.request(method, path, json={} if method in {"POST", "PATCH"} else None)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)
            assert response.json()["code"] == "forbidden"
        with server.client() as anonymous:
            assert anonymous.request(method, path).status_code == 401
