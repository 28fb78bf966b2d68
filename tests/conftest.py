"""Shared fixtures: one Ray cluster and one Serve instance per test session, and the two databases.

Every test that takes `backend` (directly or through `server`) runs on SQLite and on PostgreSQL, or on
those ASSESS_TEST_BACKENDS names (`make test`'s second pass, behind HAProxy, runs on PostgreSQL alone: the
ingress and the database are independent layers, and the first pass covers both databases). The
PostgreSQL server comes from ASSESS_TEST_POSTGRES_URL (default: the machine's, database `test`); each
session creates a fresh database there and drops it at the end. If PostgreSQL is unreachable the tests
that need it fail with the reason: nothing is skipped.
"""

from __future__ import annotations

import os
import secrets
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
from prometheus_scrape import METRICS_TOKEN
from psycopg import sql
from sqlalchemy import select

from config.settings import Settings
from persistence.database import Database
from persistence.migrate import upgrade
from persistence.models import User

POSTGRES_URL = os.environ.get("ASSESS_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")
# Which HTTP ingress the session's cluster runs: `make test` runs the WebSocket tests under both.
INGRESS = os.environ.get("ASSESS_TEST_INGRESS", "proxy")
ADMIN_EMAIL = "admin@example.com"
ADMIN_PASSWORD = "admin-password-for-tests"
BACKENDS = tuple(os.environ.get("ASSESS_TEST_BACKENDS", "sqlite,postgresql").split(","))
assert BACKENDS and set(BACKENDS) <= {"sqlite", "postgresql"}, f"ASSESS_TEST_BACKENDS names {BACKENDS}"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def haproxy_side_ports() -> dict[str, str]:
    return {"RAY_SERVE_HAPROXY_STATS_PORT": str(free_port()), "RAY_SERVE_HAPROXY_METRICS_PORT": str(free_port())}


@dataclass(frozen=True)
class ScratchPostgres:
    """A database of its own on the PostgreSQL server, created for this session."""

    admin_url: str
    name: str

    @property
    def url(self) -> str:
        base, _, _ = self.admin_url.rpartition("/")
        return f"{base}/{self.name}".replace("postgresql://", "postgresql+psycopg://", 1)

    @classmethod
    def create(cls, admin_url: str) -> ScratchPostgres:
        name = f"assess_test_{secrets.token_hex(4)}"
        with psycopg.connect(admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
        return cls(admin_url, name)

    def drop(self) -> None:
        with psycopg.connect(self.admin_url, autocommit=True) as connection:
            connection.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(self.name)))


def make_database_url(backend: str, directory: Path) -> tuple[str, ScratchPostgres | None]:
    if backend == "sqlite":
        return f"sqlite+aiosqlite:///{directory / 'assess.db'}", None
    scratch = ScratchPostgres.create(POSTGRES_URL)
    return scratch.url, scratch


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A migrated, empty database of the session's backend."""
    url, scratch = make_database_url(backend, tmp_path_factory.mktemp(backend))
    upgrade(url)
    yield url
    if scratch is not None:
        scratch.drop()


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "ASSESS_ENVIRONMENT": "production",
        "SECRET_KEY": "tests-" + secrets.token_urlsafe(40),
        "ASSESS_DATABASE_URL": database_url,
        "ASSESS_ADMIN_EMAIL": ADMIN_EMAIL,
        "ASSESS_ADMIN_PASSWORD": ADMIN_PASSWORD,
        # Every test client is 127.0.0.1, and wrong logins are tested throughout the suite: the per-address
        # throttle is tested on a server of its own (tests/serve_app/test_tokens_and_logins.py).
        "ASSESS_LOGIN_FAILURES_PER_ADDRESS": "100000/minute",
        "ASSESS_METRICS_TOKEN": METRICS_TOKEN,
    }
    values.update(overrides)
    return Settings(**values)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
def ray_serve() -> Iterator[int]:
    """One Ray cluster (2 CPUs, no dashboard) and one Serve HTTP proxy for the whole session."""
    import ray
    from ray import serve

    from actors.cluster import RUNTIME_ENVIRONMENT, ingress_environment

    port = free_port()
    os.environ.update(ingress_environment("haproxy" if INGRESS == "haproxy" else "proxy"))
    # HAProxy's stats and metrics listeners default to fixed ports: keep clusters on one machine apart.
    os.environ.update(haproxy_side_ports())
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, runtime_env=RUNTIME_ENVIRONMENT)
    serve.start(http_options={"host": "127.0.0.1", "port": port})
    yield port
    serve.shutdown()
    ray.shutdown()


@dataclass(frozen=True)
class Server:
    base_url: str
    settings: Settings
    backend: str

    def client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        return httpx.Client(base_url=self.base_url, headers=headers, timeout=30)

    def login(self, email: str, password: str) -> str:
        with self.client() as client:
            response = client.post("/auth/token", data={"username": email, "password": password})
        assert response.status_code == 200, response.text
        return str(response.json()["access_token"])


@contextmanager
def deployed(ray_serve_port: int, settings: Settings, name: str) -> Iterator[Server]:
    """The real Serve application with these settings at route prefix `/<name>`, reached over loopback."""
    from ray import serve

    from serve_app.deployment import build_application

    serve.run(build_application(settings), name=name, route_prefix=f"/{name}")
    try:
        yield Server(f"http://127.0.0.1:{ray_serve_port}/{name}", settings, settings_backend(settings))
    finally:
        serve.delete(name)


def settings_backend(settings: Settings) -> str:
    return "sqlite" if settings.database_url.startswith("sqlite") else "postgresql"


@pytest.fixture(scope="session")
def server(ray_serve: int, backend: str, database_url: str) -> Iterator[Server]:
    """The real Serve application for this backend, reached over HTTP on loopback."""
    with deployed(ray_serve, make_settings(database_url), backend) as running:
        yield running


@pytest.fixture(scope="module")
def isolated_server(ray_serve: int, backend: str, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    """A second application on a fresh database of its own, for tests that may wreck data (fuzzing);
    `make(**settings)` deploys it (one at a time per module)."""
    made: list[ExitStack] = []

    def make(**overrides: object) -> Server:
        url, scratch = make_database_url(backend, tmp_path_factory.mktemp(f"isolated-{backend}"))
        upgrade(url)
        stack = ExitStack()
        if scratch is not None:
            stack.callback(scratch.drop)
        made.append(stack)
        return stack.enter_context(deployed(ray_serve, make_settings(url, **overrides), f"isolated-{backend}"))

    yield make
    for stack in reversed(made):
        stack.close()


@pytest.fixture(scope="session")
def admin_token(server: Server) -> str:
    return server.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def admin(server: Server, admin_token: str) -> Iterator[httpx.Client]:
    with server.client(admin_token) as client:
        yield client


@dataclass(frozen=True)
class Account:
    id: int
    email: str
    password: str
    role: str
    token: str


@pytest.fixture
def make_user(server: Server, admin_token: str):  # type: ignore[no-untyped-def]
    """Create a user through the API (as the admin) and log them in."""

    def make(role: str = "candidate") -> Account:
        email = f"{role}-{secrets.token_hex(4)}@example.com"
        password = secrets.token_urlsafe(12)
        with server.client(admin_token) as client:
            response = client.post(
                "/api/users",
                json={"email": email, "password": password, "full_name": f"A {role}", "role": role},
            )
        assert response.status_code == 201, response.text
        return Account(response.json()["id"], email, password, role, server.login(email, password))

    return make


@dataclass(frozen=True)
class LiveTest:
    test_id: int
    candidate: Account


@pytest.fixture
def make_live_test(server: Server, admin_token: str, make_user):  # type: ignore[no-untyped-def]
    """A published test with one invited candidate; body fields may be overridden."""
    from builders import valid_test_body

    def make(publish: bool = True, invite: bool = True, extra_time_minutes: int = 0, **overrides: object) -> LiveTest:
        candidate = make_user("candidate")
        with server.client(admin_token) as client:
            created = client.post(
                "/api/tests", json=valid_test_body(**{"max_questions": 4, "min_questions": 2, **overrides})
            )
            assert created.status_code == 201, created.text
            test_id = created.json()["id"]
            if invite:
                invited = client.post(
                    f"/api/tests/{test_id}/candidates",
                    json={"user_ids": [candidate.id], "extra_time_minutes": extra_time_minutes},
                )
                assert invited.status_code == 200, invited.text
            if publish:
                assert client.patch(f"/api/tests/{test_id}", json={"status": "published"}).status_code == 200
        return LiveTest(test_id, candidate)

    return make


async def execute_sql(database_url: str, statement: Any) -> Any:
    """Run one statement on the server's database (a scalar for a SELECT), as a test's side door."""
    database = Database(database_url)
    try:
        async with database.transaction() as session:
            result = await session.execute(statement)
            return result.scalar() if statement.is_select else None
    finally:
        await database.dispose()


async def move_deadline(server: Server, attempt_id: int, deadline: datetime) -> None:
    """Move an attempt's deadline as the platform does (extra time): stored, then the live session told."""
    import ray
    from sqlalchemy import update

    from actors.registry import NAMESPACE, registry_name
    from persistence.models import Attempt

    await execute_sql(
        server.settings.database_url, update(Attempt).where(Attempt.id == attempt_id).values(deadline=deadline)
    )
    registry = ray.get_actor(registry_name(server.settings.database_url), namespace=NAMESPACE)
    await registry.set_deadline.remote(attempt_id, deadline)


async def start_then_pass_the_deadline(server: Server, live: Any) -> int:
    """Start the live test's attempt over a real socket, disconnect, and move its deadline into the past
    behind the host's back: only the registry's sweep notices. Returns the attempt id."""
    from datetime import UTC, datetime, timedelta

    from live_client import LiveClient, ws_url
    from sqlalchemy import update

    from persistence.models import Attempt

    client = await LiveClient.connect(
        ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
    )
    await client.expect("auth_success")
    started, _ = await client.start()
    await client.close()
    past = datetime.now(UTC) - timedelta(seconds=5)
    attempt_id = int(started["attempt_id"])
    await execute_sql(
        server.settings.database_url, update(Attempt).where(Attempt.id == attempt_id).values(deadline=past)
    )
    return attempt_id


async def newest_user_ids(database: Database, count: int) -> list[int]:
    """The ids of the `count` users created last (an `invite_cohort`'s candidates), ascending."""
    async with database.transaction() as session:
        rows = await session.scalars(select(User.id).order_by(User.id.desc()).limit(count))
        return sorted(rows)


def invite_cohort(server: Server, candidates: int, **test_overrides: object) -> tuple[int, list[str]]:
    """A published test (the builder's body with overrides) and `candidates` new invited candidates'
    tokens, made through the REST API as the admin."""
    from builders import valid_test_body

    admin = server.login(server.settings.admin_email, server.settings.admin_password.get_secret_value())
    with server.client(admin) as client:
        created = client.post("/api/tests", json=valid_test_body(**test_overrides))
        assert created.status_code == 201, created.text
        test_id = created.json()["id"]
        accounts = []
        for _ in range(candidates):
            email, password = f"cohort-{secrets.token_hex(5)}@example.com", secrets.token_urlsafe(12)
            made = client.post(
                "/api/users", json={"email": email, "password": password, "full_name": "Cohort", "role": "candidate"}
            )
            assert made.status_code == 201, made.text
            accounts.append((made.json()["id"], email, password))
        invited = client.post(f"/api/tests/{test_id}/candidates", json={"user_ids": [a[0] for a in accounts]})
        assert invited.status_code == 200, invited.text
        assert client.patch(f"/api/tests/{test_id}", json={"status": "published"}).status_code == 200
    return test_id, [server.login(email, password) for _, email, password in accounts]


@pytest.fixture(scope="session")
def fake_model_server() -> Iterator[Any]:
    """The scripted OpenAI-compatible server of tests/fake_llm.py, on loopback for the whole session."""
    from fake_llm import start_fake_model

    model, server, thread = start_fake_model()
    yield model
    server.should_exit = True
    thread.join(timeout=10)


@pytest.fixture(scope="module")
def model_server(isolated_server, fake_model_server: Any) -> Server:  # type: ignore[no-untyped-def]
    """A server of the module's own whose generator and chat use the scripted model on loopback, with a
    1 s call timeout and a 2 s generation budget."""
    return isolated_server(  # type: ignore[no-any-return]
        ASSESS_GENERATOR="llm",
        ASSESS_LLM_BASE_URL=fake_model_server.base_url,
        ASSESS_LLM_MODEL="fake-model",
        ASSESS_LLM_TIMEOUT_S="1",
        ASSESS_LLM_BUDGET_S="2",
    )


@pytest.fixture
def fake_model(fake_model_server: Any) -> Any:
    fake_model_server.reset()
    return fake_model_server
