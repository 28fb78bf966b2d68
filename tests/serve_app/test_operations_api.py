"""/healthz, /metrics, OpenAPI docs and the pinned REST paths."""

from prometheus_client.parser import text_string_to_metric_families

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
        response = client.get("/metrics")
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
