"""The `assess` command line, run as a real process against both databases."""

import asyncio
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.script import ScriptDirectory
from conftest import execute_sql, make_database_url
from sqlalchemy import func, select

from adaptive.calibration import DIFFICULTY_TO_B
from config.settings import Settings
from domain.enums import AuditAction
from persistence.migrate import alembic_config
from persistence.models import AuditEvent, Test
from persistence.models import Item as ItemRow
from serve_app.tokens import TokenService

ASSESS = str(Path(sys.executable).with_name("assess"))
SECRET = "cli-tests-secret-key-that-is-long-enough-0123456789"


@pytest.fixture
def cli_env(backend: str, tmp_path: Path) -> Iterator[dict[str, str]]:
    url, scratch = make_database_url(backend, tmp_path)
    env = {
        **os.environ,
        "ASSESS_DATABASE_URL": url,
        "SECRET_KEY": SECRET,
        "ASSESS_ENVIRONMENT": "development",
        "COLUMNS": "250",
    }
    yield env
    if scratch is not None:
        scratch.drop()


def assess(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([ASSESS, *args], env=env, capture_output=True, text=True, timeout=120, cwd=env.get("PWD"))


def test_bank_check_passes_and_prints_the_table() -> None:
    result = subprocess.run(
        [ASSESS, "bank", "check", "--seeds", "30"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "200"},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "The bank is sound." in result.stdout
    assert "statistics" in result.stdout


def test_upgrade_demo_and_token(cli_env: dict[str, str]) -> None:
    upgraded = assess(cli_env, "db", "upgrade")
    assert upgraded.returncode == 0, upgraded.stdout + upgraded.stderr
    head = ScriptDirectory.from_config(alembic_config(cli_env["ASSESS_DATABASE_URL"])).get_current_head()
    assert f"Schema at revision {head}." in upgraded.stdout
    assert "Item bank synced: 220 new" in upgraded.stdout or "new" in upgraded.stdout
    stored = asyncio.run(
        execute_sql(cli_env["ASSESS_DATABASE_URL"], select(func.count()).where(ItemRow.irt_b.is_not(None)))
    )
    assert stored == 220  # every bank item carries its calibrated parameters
    hardest = asyncio.run(execute_sql(cli_env["ASSESS_DATABASE_URL"], select(func.max(ItemRow.irt_b))))
    assert hardest == DIFFICULTY_TO_B[5]

    first = assess(cli_env, "demo")
    assert first.returncode == 0, first.stdout + first.stderr
    assert "alice@example.com" in first.stdout and "alice-demo-pass" in first.stdout
    second = assess(cli_env, "demo")  # idempotent
    assert second.returncode == 0, second.stderr
    assert "Demo test 1" in second.stdout

    minted = assess(cli_env, "token", "alice@example.com", "--minutes", "5")
    assert minted.returncode == 0, minted.stderr
    settings = Settings(SECRET_KEY=SECRET, ASSESS_DATABASE_URL=cli_env["ASSESS_DATABASE_URL"])  # type: ignore[call-arg]
    claims = TokenService.from_settings(settings).verify(minted.stdout.strip())
    assert claims.role.value == "candidate"

    missing = assess(cli_env, "token", "nobody@example.com")
    assert missing.returncode == 1
    assert "No user with email" in missing.stdout


def test_unsafe_production_settings_stop_the_cli(cli_env: dict[str, str]) -> None:
    result = assess({**cli_env, "ASSESS_ENVIRONMENT": "production"}, "db", "upgrade")
    assert result.returncode == 2
    assert "Refusing to start" in result.stdout


def test_serve_joins_a_running_cluster_and_leaves_it_intact(server, ray_serve: int) -> None:  # type: ignore[no-untyped-def]
    import httpx
    import ray

    env = {
        **os.environ,
        "ASSESS_DATABASE_URL": server.settings.database_url,
        "SECRET_KEY": SECRET,
        "ASSESS_ENVIRONMENT": "development",
        "ASSESS_PORT": str(ray_serve),  # the shared cluster's Serve already listens there
    }
    address = ray.get_runtime_context().gcs_address
    process = subprocess.Popen(
        [ASSESS, "serve", "--address", address],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        assert process.stdout is not None
        output = []
        for line in process.stdout:  # blocks until the application is up (or the process ends)
            output.append(line)
            if "Serving on" in line:
                break
        assert process.poll() is None, "".join(output)
        root = httpx.get(f"http://127.0.0.1:{ray_serve}/healthz", timeout=30)
        assert root.json() == {"status": "ok", "database": "ok"}
    finally:
        process.send_signal(signal.SIGTERM)
        remaining, _ = process.communicate(timeout=120)
    assert process.returncode == 0, remaining
    assert "deleting the 'assess' application" in remaining
    with server.client() as client:  # the session's own application is untouched
        assert client.get("/healthz").status_code == 200


@pytest.mark.websocket
def test_the_terminal_client_takes_a_whole_assessment(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_questions=5, min_questions=2)
    base = server.base_url.replace("http://", "ws://")
    args = [
        "client",
        "--token",
        live.candidate.token,
        "--test-id",
        str(live.test_id),
        "--url",
        base,
        "--auto",
        "--accuracy",
        "1.0",
    ]
    result = subprocess.run(
        [ASSESS, *args], capture_output=True, text=True, timeout=180, env={**os.environ, "COLUMNS": "200"}
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Assessment completed" in result.stdout
    assert "Reason: completed" in result.stdout
    assert "Score: 5/5" in result.stdout  # the bank oracle at accuracy 1.0 answers every bank item right

    refused = subprocess.run(
        [ASSESS, *args[:1], "--token", "bad", *args[3:]], capture_output=True, text=True, timeout=180
    )
    assert refused.returncode == 1
    assert "code 4401" in refused.stdout


def test_simulate_fast_is_reproducible_and_writes_results_summary_and_plots(tmp_path: Path, ray_serve: int) -> None:
    import json

    import ray

    address = ray.get_runtime_context().gcs_address
    env = {**os.environ, "COLUMNS": "200", "SECRET_KEY": SECRET, "ASSESS_ENVIRONMENT": "development"}
    common = ["--candidates", "600", "--seed", "11", "--chunk-size", "250", "--address", address]
    personas = ["--personas", "careful=0.7,guesser=0.1,slow=0.1,disconnecting=0.1"]
    runs = []
    for name in ("first", "second"):
        result = subprocess.run(
            [ASSESS, "simulate", *common, *personas, "--out", str(tmp_path / name)],
            env=env,
            capture_output=True,
            text=True,
            timeout=240,
        )
        assert result.returncode == 0, result.stdout + result.stderr
        assert "600/600" in result.stdout and "Recovery" in result.stdout and "Item exposure" in result.stdout
        runs.append(tmp_path / name)
    assert (runs[0] / "results.csv").read_text() == (runs[1] / "results.csv").read_text()
    rows = (runs[0] / "results.csv").read_text().splitlines()
    assert rows[0].split(",") == [
        "candidate", "persona", "true_theta", "estimate", "se", "length", "reason", "seconds", "reconnects", "items",
    ]  # fmt: skip
    assert len(rows) == 601
    summary = json.loads((runs[0] / "summary.json").read_text())
    assert summary["overall"]["candidates"] == 600 and summary["settings"]["seed"] == 11
    assert {group["group"] for group in summary["by_persona"]} == {"careful", "guesser", "slow", "disconnecting"}
    for plot in ("estimate_vs_true.png", "se_by_items.png", "exposure.png"):
        assert (runs[0] / plot).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_simulate_live_drives_the_session_actors(server, tmp_path: Path, ray_serve: int) -> None:  # type: ignore[no-untyped-def]
    import json

    import ray

    definition = tmp_path / "test.json"
    definition.write_text(
        json.dumps({"skills": [{"name": "sql", "weight": 1}], "max_questions": 5, "min_questions": 5})
    )
    env = {
        **os.environ,
        "COLUMNS": "200",
        "SECRET_KEY": SECRET,
        "ASSESS_ENVIRONMENT": "development",
        "ASSESS_DATABASE_URL": server.settings.database_url,
    }
    address = ray.get_runtime_context().gcs_address
    arguments = ["--mode", "live", "--test-file", str(definition), "--candidates", "12", "--address", address]
    result = subprocess.run(
        [ASSESS, "simulate", *arguments, "--out", str(tmp_path / "live")],
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    summary = json.loads((tmp_path / "live" / "summary.json").read_text())
    assert summary["overall"]["candidates"] == 12 and summary["overall"]["mean_length"] == 5.0


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--mode", "sideways"], "--mode must be fast or live"),
        (["--abilities", "cauchy:0,1"], "unknown ability distribution"),
        (["--abilities", "normal:0,-1"], "positive sd"),
        (["--personas", "sleepy=1"], "bad persona share"),
        (["--test-file", "/nonexistent.json"], "cannot read a test definition"),
    ],
)
def test_simulate_refuses_bad_options_clearly(arguments: list[str], message: str) -> None:
    result = subprocess.run(
        [ASSESS, "simulate", "--candidates", "10", *arguments],
        env={**os.environ, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stdout


@pytest.mark.websocket
def test_hosts_lists_the_session_hosts_of_a_running_cluster(server, make_live_test, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    import json

    import ray
    from live_client import LiveClient, ws_url

    live = make_live_test()

    async def start_one() -> int:
        client = await LiveClient.connect(
            ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
        )
        await client.expect("auth_success")
        started, _ = await client.start()
        await client.close()
        return int(started["attempt_id"])

    attempt_id = asyncio.run(start_one())
    env = {**os.environ, "COLUMNS": "200", "SECRET_KEY": SECRET, "ASSESS_DATABASE_URL": server.settings.database_url}
    address = ray.get_runtime_context().gcs_address
    listed = assess(env, "hosts", "--address", address, "--json")
    assert listed.returncode == 0, listed.stdout + listed.stderr
    hosts = json.loads(listed.stdout)
    (holder,) = [host for host in hosts if attempt_id in host["attempts"]]
    assert holder["node_id"] == ray.get_runtime_context().get_node_id()
    assert holder["sessions"] >= 1 and holder["capacity"] == server.settings.sessions_per_actor
    table = assess(env, "hosts", "--address", address)
    assert table.returncode == 0 and holder["host_id"] in table.stdout and "Session hosts" in table.stdout
    elsewhere = {**env, "ASSESS_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'none.db'}"}
    missing = assess(elsewhere, "hosts", "--address", address)
    assert missing.returncode == 1 and "No registry for this database" in missing.stdout


def test_calibrate_stored_responses_and_compute_exposure_control(
    cli_env: dict[str, str], tmp_path: Path, ray_serve: int
) -> None:
    """simulate --store, calibrate --test-id --activate, simulate --exposure-target: the loop as staff run it."""
    import json
    import re

    import ray

    address = ray.get_runtime_context().gcs_address
    definition = tmp_path / "test.json"
    definition.write_text(
        json.dumps(
            {
                "skills": [{"name": "sql", "weight": 1}, {"name": "python", "weight": 1}],
                "max_questions": 8,
                "min_questions": 8,
            }
        )
    )
    fast = ["--address", address, "--out", str(tmp_path / "run")]
    stored = assess(cli_env, "simulate", "--test-file", str(definition), "--candidates", "400", "--store", *fast)
    assert stored.returncode == 0, stored.stdout + stored.stderr
    found = re.search(r"Responses stored as test (\d+)", stored.stdout)
    assert found, stored.stdout
    test_id = found.group(1)

    calibrated = assess(cli_env, "calibrate", "--test-id", test_id, "--activate", "--out", str(tmp_path / "cal"))
    assert calibrated.returncode == 0, calibrated.stdout + calibrated.stderr
    assert "Parameter set 1 stored (active)" in calibrated.stdout
    assert (tmp_path / "cal" / "items.csv").read_text().startswith("item,a,b,c,se_a,se_b,se_c,n,rmsd,anchored")

    exposure = assess(
        cli_env, "simulate", "--test-id", test_id, "--exposure-target", "0.4", "--exposure-rounds", "3",
        "--candidates", "300", *fast,
    )  # fmt: skip
    assert exposure.returncode == 0, exposure.stdout + exposure.stderr
    assert f"Exposure control stored on test {test_id}" in exposure.stdout
    control = asyncio.run(
        execute_sql(cli_env["ASSESS_DATABASE_URL"], select(Test.exposure).where(Test.id == int(test_id)))
    )
    assert control["target"] == 0.4 and control["rounds"] == 3 and control["k"]
    logged = asyncio.run(
        execute_sql(
            cli_env["ASSESS_DATABASE_URL"],
            select(func.count()).where(
                AuditEvent.action == AuditAction.PARAMETER_SET_ACTIVATED,
                AuditEvent.actor_id.is_(None),
                AuditEvent.client_address == "cli",
                AuditEvent.actor_email.endswith("(assess CLI)"),
            ),
        )
    )
    assert logged == 1, "the operator's activation is on the audit log"


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["calibrate"], "give either --responses FILE or --test-id N"),
        (["calibrate", "--test-id", "1", "--responses", "x.csv"], "give either --responses FILE or --test-id N"),
        (["calibrate", "--test-id", "999999"], "no stored responses"),
        (["simulate", "--exposure-target", "0.3"], "give --test-id"),
        (["simulate", "--store", "--mode", "live"], "--store keeps a fast run's responses"),
        (["simulate", "--test-id", "999999"], "test 999999 not found"),
    ],
)
def test_calibration_and_exposure_options_refuse_bad_input(
    cli_env: dict[str, str], arguments: list[str], message: str
) -> None:
    assert assess(cli_env, "db", "upgrade").returncode == 0
    result = assess(cli_env, *arguments)
    assert result.returncode == 2, result.stdout + result.stderr
    assert message in result.stdout
