"""`assess`: serve the engine, migrate the database, seed the demo, mint tokens, check the bank, simulate."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from config.settings import Settings

if TYPE_CHECKING:
    from cli.server_slot import ServerSlot

app = typer.Typer(help="Actor-model assessment engine on Ray.", no_args_is_help=True)
db_app = typer.Typer(help="Database schema.", no_args_is_help=True)
bank_app = typer.Typer(help="The embedded item bank.", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(bank_app, name="bank")
console = Console()
SERVE_APPLICATION = "assess"


def _settings() -> Settings:
    try:
        return Settings()
    except ValueError as error:
        console.print(f"[red]Refusing to start with these settings:[/red] {error}")
        raise typer.Exit(2) from None


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply all migrations, then load the shipped item bank into the items table."""
    from persistence.database import Database
    from persistence.items import sync_items
    from persistence.migrate import current_revision, upgrade
    from questions.source import QuestionSource

    settings = _settings()
    upgrade(settings.database_url)
    console.print(f"Schema at revision [bold]{current_revision(settings.database_url)}[/bold].")

    async def sync() -> tuple[int, int]:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                return await sync_items(session, QuestionSource().items)
        finally:
            await database.dispose()

    inserted, updated = asyncio.run(sync())
    console.print(f"Item bank synced: {inserted} new, {updated} updated.")


@app.command()
def demo() -> None:
    """Create a published demo test with a recruiter and candidates, and print how to log in."""
    from cli.demo import seed_demo
    from persistence.database import Database
    from persistence.users import ensure_admin
    from serve_app.tokens import TokenService

    settings = _settings()
    tokens = TokenService.from_settings(settings)

    async def seed() -> tuple[Table, dict[str, str]]:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                await ensure_admin(
                    session, email=settings.admin_email, password=settings.admin_password.get_secret_value()
                )
                test, accounts = await seed_demo(session)
        finally:
            await database.dispose()
        table = Table(title=f"Demo test {test.id}: {test.title} (published)")
        for column in ("role", "email", "password"):
            table.add_column(column)
        admin_password = (
            settings.admin_password.get_secret_value() if settings.is_development else "(ASSESS_ADMIN_PASSWORD)"
        )
        table.add_row("admin", settings.admin_email, admin_password)
        tokens_by_email = {}
        for account, user in accounts:
            table.add_row(account.role.value, account.email, account.password)
            tokens_by_email[account.email] = tokens.issue(user.id, user.role, lifetime=timedelta(hours=24))
        return table, tokens_by_email

    table, tokens_by_email = asyncio.run(seed())
    console.print(table)
    console.print("Access tokens, valid for 24 hours:")
    for email, access_token in tokens_by_email.items():
        print(f"  {email}: {access_token}")  # plain print: a token must stay on one line to be copied
    base = f"http://{settings.host}:{settings.port}"
    console.print(f"Log in: curl -X POST {base}/auth/token -d 'username=alice@example.com&password=alice-demo-pass'")
    console.print(f"API docs: {base}/docs")


@app.command()
def token(
    email: Annotated[str, typer.Argument(help="The user's email")],
    minutes: Annotated[int | None, typer.Option(help="Lifetime; default ACCESS_TOKEN_EXPIRE_MINUTES")] = None,
) -> None:
    """Mint an access token for an existing user."""
    from persistence.database import Database
    from persistence.users import find_user_by_email
    from serve_app.tokens import TokenService

    settings = _settings()

    async def lookup() -> tuple[int, object, int] | None:
        database = Database(settings.database_url)
        try:
            async with database.transaction() as session:
                user = await find_user_by_email(session, email)
                return (user.id, user.role, user.token_generation) if user else None
        finally:
            await database.dispose()

    found = asyncio.run(lookup())
    if found is None:
        console.print(f"[red]No user with email {email}[/red]")
        raise typer.Exit(1)
    user_id, role, generation = found
    lifetime = timedelta(minutes=minutes) if minutes else None
    typer.echo(TokenService.from_settings(settings).issue(user_id, role, lifetime, generation))  # type: ignore[arg-type]


@bank_app.command("check")
def bank_check(seeds: Annotated[int, typer.Option(help="Variants to generate per family")] = 200) -> None:
    """Validate the shipped bank and every parametric family; exit 1 on any problem."""
    from questions.skills import SKILLS
    from questions.source import QuestionSource
    from questions.validation import check_bank, check_families

    source = QuestionSource()
    problems = check_bank(source.items, SKILLS) + check_families(source.families, SKILLS, range(seeds))
    table = Table(title="Item bank")
    for column in ("skill", "title", "bank items", "families", "difficulty 1-5"):
        table.add_column(column)
    for coverage in source.skills():
        spread = [sum(1 for i in source.items if i.skill == coverage.name and i.difficulty == d) for d in range(1, 6)]
        table.add_row(
            coverage.name,
            coverage.title,
            str(coverage.items),
            str(coverage.families),
            " ".join(map(str, spread)),
        )
    console.print(table)
    console.print(f"{len(source.items)} bank items, {len(source.families)} families, {seeds} variants each checked.")
    for problem in problems:
        console.print(f"[red]✗[/red] {problem}")
    if problems:
        raise typer.Exit(1)
    console.print("[green]The bank is sound.[/green]")


@app.command()
def client(
    token: Annotated[str, typer.Option(help="The candidate's access token")],
    test_id: Annotated[int, typer.Option(help="The test to take")],
    url: Annotated[str, typer.Option(help="The server's WebSocket base URL")] = "ws://127.0.0.1:8000",
    auto: Annotated[bool, typer.Option(help="Answer automatically instead of asking")] = False,
    accuracy: Annotated[float, typer.Option(min=0.0, max=1.0, help="With --auto: share answered correctly")] = 0.7,
    seed: Annotated[int, typer.Option(help="With --auto: random seed")] = 0,
) -> None:
    """Take an assessment in the terminal over the WebSocket protocol; exit 1 on a protocol error."""
    import random

    from cli.client import AutoAnswerer, ProtocolFailure, print_result, take_assessment

    answerer = AutoAnswerer(accuracy, random.Random(seed)) if auto else None
    endpoint = f"{url.rstrip('/')}/ws/assessment?token={token}&test_id={test_id}"
    try:
        result = asyncio.run(take_assessment(endpoint, console, answerer))
    except (ProtocolFailure, OSError) as failure:
        console.print(f"[red]Protocol error:[/red] {failure}")
        raise typer.Exit(1) from None
    print_result(console, result)


@app.command()
def simulate(
    test_file: Annotated[
        Path | None, typer.Option(help="Test definition (POST /api/tests JSON); default: demo")
    ] = None,
    candidates: Annotated[int, typer.Option(min=1, help="Simulated candidates")] = 1000,
    abilities: Annotated[str, typer.Option(help="True abilities: normal:MEAN,SD or uniform:LOW,HIGH")] = "normal:0,1",
    abilities_file: Annotated[Path | None, typer.Option(help="True abilities, one per line (overrides)")] = None,
    persona_mix: Annotated[
        str, typer.Option("--personas", help="Shares of careful, guesser, slow, disconnecting")
    ] = "careful=1",
    seed: Annotated[int, typer.Option(help="Random seed: the same seed gives the same results")] = 0,
    mode: Annotated[
        str, typer.Option(help="fast: vectorized core in Ray tasks; live: the real session actors")
    ] = "fast",
    out: Annotated[Path, typer.Option(help="Directory for results.csv, summary.json and the plots")] = Path(
        "var/simulation"
    ),
    chunk_size: Annotated[int, typer.Option(min=1, help="Candidates per Ray task (fast mode)")] = 2000,
    r_max: Annotated[float | None, typer.Option(min=0.0, max=1.0, help="Exposure cap per item (fast)")] = None,
    address: Annotated[str | None, typer.Option(help="Ray cluster address; default: start a local one")] = None,
    test_id: Annotated[
        int | None, typer.Option(help="Simulate this stored test (its rules and exposure control)")
    ] = None,
    exposure_target: Annotated[
        float | None,
        typer.Option(min=0.01, max=1.0, help="Compute Sympson-Hetter parameters for --test-id and store them"),
    ] = None,
    exposure_rounds: Annotated[int, typer.Option(min=1, max=50, help="Sympson-Hetter rounds")] = 12,
    store: Annotated[
        bool, typer.Option(help="Keep a fast run's responses as a simulated test (to calibrate from)")
    ] = False,
    true_parameters: Annotated[
        Path | None, typer.Option(help="item,a,b,c the candidates answer by (default: the engine's own)")
    ] = None,
) -> None:
    """Run simulated candidates through the adaptive engine (with the active parameter set) and report
    recovery, length and exposure."""
    from cli.simulate import SimulationRequest, load_definition, run

    if mode not in ("fast", "live"):
        console.print(f"[red]--mode must be fast or live, not {mode!r}[/red]")
        raise typer.Exit(2)
    try:
        request = SimulationRequest(
            definition=load_definition(test_file),
            candidates=candidates,
            abilities=abilities,
            abilities_file=abilities_file,
            persona_mix=persona_mix,
            seed=seed,
            mode=mode,  # type: ignore[arg-type]
            out=out,
            chunk_size=chunk_size,
            r_max=r_max,
            test_id=test_id,
            exposure_target=exposure_target,
            exposure_rounds=exposure_rounds,
            store=store,
            true_parameters=true_parameters,
        )
        run(request, console, _settings(), address)
    except ValueError as error:
        console.print(f"[red]{error}[/red]")
        raise typer.Exit(2) from None


@app.command()
def calibrate(
    responses: Annotated[
        Path | None, typer.Option(help="Long-format CSV: person,item,correct (1/0), one row per response")
    ] = None,
    test_id: Annotated[
        list[int] | None, typer.Option(help="Calibrate the stored responses of this test (repeatable)")
    ] = None,
    model: Annotated[str, typer.Option(help="1pl, 2pl or 3pl")] = "2pl",
    out: Annotated[Path, typer.Option(help="Directory for items.csv")] = Path("var/calibration"),
    anchors: Annotated[
        Path | None, typer.Option(help="item,a,b,c of items to keep fixed (their scale is the result's)")
    ] = None,
    anchored_to_active: Annotated[
        bool, typer.Option(help="With --test-id: keep the active set's items fixed, estimate the rest")
    ] = False,
    activate: Annotated[bool, typer.Option(help="With --test-id: activate the new set at once")] = False,
    note: Annotated[str, typer.Option(help="With --test-id: a note kept with the set")] = "",
) -> None:
    """Estimate item parameters by marginal maximum likelihood (EM), with standard errors and item fit, from
    a CSV file or from the stored responses of tests (then kept in the database as a new parameter set)."""
    from adaptive.mml import MODELS, MalformedResponses
    from cli import calibrate as calibration
    from domain.errors import InvalidRequest

    if model not in MODELS:
        console.print(f"[red]--model must be one of {', '.join(MODELS)}, not {model!r}[/red]")
        raise typer.Exit(2)
    if (responses is None) == (not test_id):
        console.print("[red]give either --responses FILE or --test-id N (one or more)[/red]")
        raise typer.Exit(2)
    try:
        if responses is not None:
            calibration.run(responses, model, out, anchors, console)  # type: ignore[arg-type]
        else:
            calibration.run_stored(
                _settings().database_url,
                list(test_id or []),
                model,  # type: ignore[arg-type]
                out,
                anchored_to_active,
                activate,
                note,
                console,
            )
    except (MalformedResponses, InvalidRequest) as error:
        console.print(f"[red]{escape(str(error))}[/red]")
        raise typer.Exit(2) from None


@app.command()
def hosts(
    address: Annotated[str, typer.Option(help="Ray cluster address, e.g. head:6380")],
    as_json: Annotated[bool, typer.Option("--json", help="One JSON list instead of a table")] = False,
) -> None:
    """The live session hosts of this database's registry: node, process, sessions and connections."""
    import json
    import logging

    import ray

    from actors.registry import NAMESPACE, registry_name

    settings = _settings()
    # Ray prints the cluster's own news (a node marked dead, say) to the driver's stdout: keep it off the
    # output a script parses.
    with contextlib.redirect_stdout(sys.stderr):
        ray.init(address=address, namespace=NAMESPACE, logging_level=logging.ERROR, log_to_driver=False)
        try:
            registry = ray.get_actor(registry_name(settings.database_url))
        except ValueError:
            registry = None
        rows: list[dict[str, Any]] = sorted(
            ray.get(registry.host_stats.remote()) if registry is not None else [],
            key=lambda row: (row["node_id"] or "", row["host_id"]),
        )
        ray.shutdown()
    if registry is None:
        console.print("[red]No registry for this database on that cluster (no assessment has started).[/red]")
        raise typer.Exit(1)
    if as_json:
        print(json.dumps(rows))
        return
    table = Table("host", "node", "pid", "sessions", "attached", "capacity", title="Session hosts")
    for row in rows:
        figures = ["[yellow]no answer[/yellow]", "", "", ""]
        if row["answered"]:
            figures = [str(row[name]) for name in ("pid", "sessions", "attached", "capacity")]
        table.add_row(row["host_id"], (row["node_id"] or "")[:12], *figures)
    console.print(table)


def _reachable(url: str, attempts: int = 120) -> bool:
    """`serve.run` returns when the replicas are up; HAProxy may still be loading its backends (it answers
    500 meanwhile). Say "Serving" only once a request gets through the front door."""
    import httpx

    for _ in range(attempts):
        try:
            if httpx.get(url, timeout=5).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    return False


@app.command()
def serve(
    address: Annotated[str | None, typer.Option(help="Ray cluster address; default: start a local one")] = None,
) -> None:
    """Start (or join) a Ray cluster and run the Serve application until interrupted.

    A local server first ends whatever a server on the same port left running when it was killed (see
    cli/server_slot.py), raises its open-file limit, and falls back to Serve's proxy if HAProxy cannot
    start, saying why."""
    import ray
    from ray import serve as ray_serve

    from actors.cluster import start_or_join
    from cli.server_slot import ServerSlot, raise_open_file_limit
    from generation.serving import MODEL_APPLICATION, ModelServingUnavailable, build_model_application

    settings = _settings()
    try:  # before anything starts: a missing GPU extra is a setup error, said in one line
        model = build_model_application(settings) if settings.llm_serve_source else None
    except ModelServingUnavailable as error:
        console.print(f"[red]Cannot serve the model:[/red] {escape(str(error))}")
        raise typer.Exit(2) from None
    health = f"http://{settings.host}:{settings.port}/healthz"
    slot = ServerSlot(settings.port)
    if address:
        start_or_join(address)
        _run_applications(settings, model)
        reachable = _reachable(health)
    else:
        if (holder := slot.running_pid()) is not None:
            console.print(f"[red]Another server is running on port {settings.port}[/red] (pid {holder}).")
            raise typer.Exit(1)
        if killed := slot.clean_up_leftovers():
            console.print(f"Ended what a server on port {settings.port} left running: {', '.join(killed)}.")
        console.print(f"Open files allowed: {raise_open_file_limit()}.")
        slot.claim()
        ingress = _local_ingress(settings, slot)
        try:
            reachable = _start_locally(settings, model, slot, ingress)
        except Exception as error:  # HAProxy failing makes Serve's own start raise
            if ingress != "haproxy":
                raise
            reachable, failure = False, str(error)
        else:
            failure = slot.haproxy_errors()
        if not reachable and ingress == "haproxy":
            _fall_back_to_the_proxy(slot, failure)
    if not reachable:
        console.print(f"[yellow]{health} still does not answer; serving anyway.[/yellow]")
    console.print(f"[green]Serving on http://{settings.host}:{settings.port}[/green] (docs at /docs); Ctrl-C stops.")
    stop = threading.Event()
    for stop_signal in (signal.SIGINT, signal.SIGTERM):
        signal.signal(stop_signal, lambda *_: stop.set())
    while not stop.wait(timeout=1):
        pass
    if address:  # a shared cluster: take only our application away
        console.print(f"Stopping: deleting the {SERVE_APPLICATION!r} application, then leaving the cluster.")
        ray_serve.delete(SERVE_APPLICATION)
        if model is not None:
            ray_serve.delete(MODEL_APPLICATION)
    else:
        console.print("Stopping: shutting Serve down, draining the session hosts, then the local cluster.")
        ray_serve.shutdown()
        _drain_sessions(settings)
    ray.shutdown()
    if not address:
        slot.clean_up_leftovers()  # HAProxy runs outside Ray's process tree: end it with the server
        slot.release()


def _fall_back_to_the_proxy(slot: ServerSlot, failure: str) -> NoReturn:
    """HAProxy did not come up: say why, stop what started, and start again as this same command on the
    Serve proxy (Serve reads the ingress mode once per process, so the new start is a new process image)."""
    import ray
    from ray import serve as ray_serve

    console.print("[yellow]HAProxy did not come up; serving through the Serve proxy instead.[/yellow] Why:")
    console.print(escape(failure[-2000:]))
    with contextlib.suppress(Exception):
        ray_serve.shutdown()
    ray.shutdown()
    slot.clean_up_leftovers()
    os.execve(sys.executable, [sys.executable, *sys.argv], {**os.environ, "ASSESS_INGRESS": "proxy"})


def _local_ingress(settings: Settings, slot: ServerSlot) -> Literal["haproxy", "proxy"]:
    """HAProxy when asked for (or `auto`) and able to run here; otherwise the proxy, saying why."""
    from actors.cluster import choose_ingress, haproxy_binary

    try:
        ingress = choose_ingress(settings.ingress)
    except RuntimeError as error:
        console.print(f"[yellow]{escape(str(error))}; using the Serve proxy.[/yellow]")
        return "proxy"
    binary = haproxy_binary()
    if ingress == "haproxy" and binary is not None:
        problem = slot.haproxy_problem(binary)
        if problem is not None:
            console.print(f"[yellow]HAProxy cannot start: {escape(problem)}; using the Serve proxy.[/yellow]")
            return "proxy"
    return ingress


def _start_locally(settings: Settings, model: Any, slot: ServerSlot, ingress: Literal["haproxy", "proxy"]) -> bool:
    from actors.cluster import start_or_join

    environment = slot.haproxy_environment() if ingress == "haproxy" else {}
    start_or_join(None, ingress=ingress, environment=environment, temp_dir=str(slot.ray_directory))
    console.print(f"Ingress: {'Serve direct ingress behind HAProxy' if ingress == 'haproxy' else 'Serve proxy'}.")
    _run_applications(settings, model)
    return _reachable(f"http://{settings.host}:{settings.port}/healthz", attempts=120 if ingress == "proxy" else 60)


def _run_applications(settings: Settings, model: Any) -> None:
    from ray import serve as ray_serve

    from config.settings import MODEL_ROUTE_PREFIX
    from generation.serving import MODEL_APPLICATION
    from serve_app.deployment import build_application

    ray_serve.start(http_options={"host": settings.host, "port": settings.port})
    if model is not None:
        console.print(f"Loading {settings.llm_model} from {settings.llm_serve_source} on Ray Serve LLM...")
        ray_serve.run(model, name=MODEL_APPLICATION, route_prefix=MODEL_ROUTE_PREFIX)
        console.print(f"Model served at {settings.model_base_url}.")
    ray_serve.run(build_application(settings), name=SERVE_APPLICATION, route_prefix="/")


def _drain_sessions(settings: Settings) -> None:
    """Let the session hosts finish the writes in progress before the cluster stops (see Registry.drain)."""
    import ray

    from actors.registry import NAMESPACE, registry_name

    try:
        registry = ray.get_actor(registry_name(settings.database_url), namespace=NAMESPACE)
    except ValueError:
        return  # no assessment was ever started
    drained: dict[str, int] = ray.get(registry.drain.remote(), timeout=60)  # type: ignore[assignment]
    console.print(f"Drained {drained['sessions']} sessions on {drained['hosts']} hosts; attempts stay resumable.")
