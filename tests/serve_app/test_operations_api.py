"""/healthz, /metrics (and who may scrape it), OpenAPI docs and the pinned REST paths."""

import base64
from urllib.parse import quote

import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_scrape import METRICS_TOKEN, SCRAPE_HEADERS
from pydantic import ValidationError

from config.settings import Settings
from domain.errors import PermissionDenied
from serve_app.scrape_access import check_scrape

PINNED_PATHS = {
    "/auth/token": {"post"},
    "/api/users": {"post"},
    "/api/tests": {"post"},
    "/api/tests/{test_id}": {"get", "patch"},
    "/api/skills": {"get"},
    "/api/tests/{test_id}/candidates": {"post"},
    "/api/tests/{test_id}/results": {"get"},
    "/api/attempts/{attempt_id}": {"get"},
    "/api/tests/{test_id}/item-analysis": {"get"},
    "/api/analytics/connections": {"get"},
    "/healthz": {"get"},
    "/metrics": {"get"},
    "/ws/schema.json": {"get"},
    "/api/analytics/tests/{test_id}/live": {"get"},
}


def test_health_reports_the_database(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as client:
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


def test_metrics_are_prometheus_text_counting_requests_by_route(server, admin) -> None:  # type: ignore[no-untyped-def]
    admin.get("/api/tests/31337")
    with server.client() as client:
        response = client.get("/metrics", headers=SCRAPE_HEADERS)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    families = {family.name: family for family in text_string_to_metric_families(response.text)}
    requests = families["assess_http_requests"]
    not_found = [
        s
        for s in requests.samples
        if s.labels.get("route") == "/api/tests/{test_id}" and s.labels.get("status") == "404"
    ]
    assert not_found and not_found[0].value >= 1
    assert "assess_http_request_duration_seconds" in families


def test_metrics_refuse_every_scrape_without_the_scrape_token(server, admin_token) -> None:  # type: ignore[no-untyped-def]
    """The test servers set ASSESS_METRICS_TOKEN: nothing else opens /metrics, a staff token included."""
    refused = {
        "no header": {},
        "a wrong token": {"Authorization": "Bearer " + "x" * len(METRICS_TOKEN)},
        "a prefix of it": {"Authorization": f"Bearer {METRICS_TOKEN[:-1]}"},
        "it and more": {"Authorization": f"Bearer {METRICS_TOKEN}x"},
        "two spaces": {"Authorization": f"Bearer  {METRICS_TOKEN}"},
        "no scheme": {"Authorization": METRICS_TOKEN},
        "basic": {"Authorization": "Basic " + base64.b64encode(f"prometheus:{METRICS_TOKEN}".encode()).decode()},
        "the admin's JWT": {"Authorization": f"Bearer {admin_token}"},
        "a huge header": {"Authorization": "Bearer " + "A" * 4_000},
        "a non-ASCII token": {"Authorization": "Bearer " + quote("jeton-à-gratter-0123456789")},
    }
    with server.client() as client:
        for case, headers in refused.items():
            response = client.get("/metrics", headers=headers)
            assert response.status_code == 401, case
            assert response.headers["www-authenticate"] == "Bearer", case
            assert response.json()["code"] == "unauthorized", case
            assert "assess_" not in response.text, case
        in_the_query = client.get("/metrics", params={"token": METRICS_TOKEN, "access_token": METRICS_TOKEN})
        assert in_the_query.status_code == 401, "the token counts only in the Authorization header"
        assert client.get("/metrics", headers={"Authorization": f"bearer {METRICS_TOKEN}"}).status_code == 200


def test_without_a_token_metrics_are_served_only_where_the_server_listens_on_loopback() -> None:
    for host in ("127.0.0.1", "localhost", "::1", "127.0.0.2"):
        check_scrape(None, Settings(ASSESS_HOST=host))
    for host in ("0.0.0.0", "192.0.2.7", "::", "assess.example.com"):
        with pytest.raises(PermissionDenied, match="ASSESS_METRICS_TOKEN"):
            check_scrape(f"Bearer {METRICS_TOKEN}", Settings(ASSESS_HOST=host))
    check_scrape(f"Bearer {METRICS_TOKEN}", Settings(ASSESS_HOST="0.0.0.0", ASSESS_METRICS_TOKEN=METRICS_TOKEN))
    with pytest.raises(ValidationError, match="at least 16 characters"):
        Settings(ASSESS_METRICS_TOKEN="short")


def test_openapi_documents_every_pinned_route(server) -> None:  # type: ignore[no-untyped-def]
    with server.client() as client:
        spec = client.get("/openapi.json").json()
        assert client.get("/docs").status_code == 200
    for path, methods in PINNED_PATHS.items():
        assert path in spec["paths"], path
        assert methods <= set(spec["paths"][path]), path


def test_cors_admits_only_the_allowed_origins(server) -> None:  # type: ignore[no-untyped-def]
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "authorization"}
    with server.client() as client:
        allowed = client.options("/api/tests", headers={"Origin": "http://127.0.0.1:8000", **preflight})
        refused = client.options("/api/tests", headers={"Origin": "https://evil.example", **preflight})
    assert allowed.status_code == 200
    assert allowed.headers["access-control-allow-origin"] == "http://127.0.0.1:8000"
    assert refused.status_code == 400
    assert "access-control-allow-origin" not in refused.headers
