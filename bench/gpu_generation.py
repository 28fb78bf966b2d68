"""GPU generation: validated questions per second per GPU through the Ray Serve LLM deployment.

For a machine with a GPU, model weights and the `gpu` extra (`pip install -e '.[gpu]'`). It starts a
local Ray cluster, serves --model-path with Ray Serve LLM (vLLM underneath) using the same LLMConfig that
`assess serve` builds (generation/serving.py), then keeps --concurrency generations in flight for
--seconds through the project's own generator (the LangGraph draft -> review -> independent solve graph,
generation/service.py, storing into a scratch SQLite database) and prints:

- accepted questions per second, in all and per GPU;
- the acceptance rate and the rejections by stage (model, schema, flaws, duplicate, solve);
- model calls per second and their latency (p50/p99), and one generation's latency (p50/p99).

`--base-url URL` measures an OpenAI-compatible endpoint that is already running instead (vLLM, another
cluster's /llm/v1, a hosted API), with --gpus saying how many GPUs stand behind it.

    .venv/bin/python bench/gpu_generation.py --model-path /models/Qwen2.5-7B-Instruct --accelerator H100
    .venv/bin/python bench/gpu_generation.py --model-path /models/Qwen2.5-7B-Instruct --replicas 2 --concurrency 128
    .venv/bin/python bench/gpu_generation.py --base-url http://gpu-box:8000/llm/v1 --model qwen --gpus 1
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn
from rich.table import Table

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from config.settings import Settings
from generation.service import Generated, ItemGenerator
from generation.serving import MODEL_APPLICATION, ModelServingUnavailable, build_model_application
from llm.client import ChatModel
from llm.prompts import Target
from persistence.database import Database
from persistence.migrate import upgrade
from questions.source import QuestionSource

JOB = "Backend engineer: Python services on PostgreSQL, HTTP APIs, tests and on-call."
PARAMETERS = (1.0, 0.0, 0.2)


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    where = parser.add_mutually_exclusive_group(required=True)
    where.add_argument("--model-path", help="serve this local model directory (or model id) with Ray Serve LLM")
    where.add_argument("--base-url", help="measure this running OpenAI-compatible endpoint instead")
    parser.add_argument("--model", default="bench-model", help="the model name (served as / asked for)")
    parser.add_argument("--accelerator", default=None, help="Ray accelerator type, e.g. H100, A100, L4, A10G")
    parser.add_argument("--replicas", type=int, default=1, help="model replicas (min = max)")
    parser.add_argument("--gpus-per-replica", type=int, default=1, help="tensor parallel size")
    parser.add_argument("--gpus", type=int, default=None, help="GPUs behind --base-url (default 1)")
    parser.add_argument("--max-batch", type=int, default=256, help="sequences the engine batches per replica")
    parser.add_argument("--max-model-len", type=int, default=8192)
    parser.add_argument("--concurrency", type=int, default=64, help="generations in flight")
    parser.add_argument("--seconds", type=float, default=120.0, help="how long to measure")
    parser.add_argument("--port", type=int, default=8000, help="Serve's HTTP port when serving")
    parser.add_argument("--budget-s", type=float, default=60.0, help="time budget of one generation")
    return parser.parse_args()


def serve_model(arguments: argparse.Namespace) -> tuple[str, int]:
    """Deploy the model the way `assess serve` does; its base URL and the GPUs it holds."""
    import ray
    from ray import serve

    settings = Settings(  # type: ignore[call-arg]
        ASSESS_LLM_MODEL=arguments.model,
        ASSESS_LLM_SERVE_SOURCE=arguments.model_path,
        ASSESS_LLM_SERVE_ACCELERATOR=arguments.accelerator,
        ASSESS_LLM_SERVE_MIN_REPLICAS=arguments.replicas,
        ASSESS_LLM_SERVE_MAX_REPLICAS=arguments.replicas,
        ASSESS_LLM_SERVE_GPUS_PER_REPLICA=arguments.gpus_per_replica,
        ASSESS_LLM_SERVE_MAX_BATCH=arguments.max_batch,
        ASSESS_LLM_SERVE_MAX_MODEL_LEN=arguments.max_model_len,
        ASSESS_PORT=arguments.port,
    )
    application = build_model_application(settings)
    ray.init(include_dashboard=False)
    serve.start(http_options={"host": "127.0.0.1", "port": arguments.port})
    serve.run(application, name=MODEL_APPLICATION, route_prefix="/llm")
    assert settings.model_base_url is not None
    return settings.model_base_url, arguments.replicas * arguments.gpus_per_replica


async def measure(base_url: str, arguments: argparse.Namespace, console: Console) -> dict[str, Any]:
    questions = QuestionSource()
    skills = sorted({item.skill for item in questions.items})
    targets = itertools.cycle(Target(skill, difficulty, JOB) for difficulty in range(1, 6) for skill in skills)
    scratch = tempfile.TemporaryDirectory()
    url = f"sqlite+aiosqlite:///{scratch.name}/generated.db"
    upgrade(url)
    database = Database(url)
    model = ChatModel(base_url, arguments.model, timeout_s=arguments.budget_s, max_concurrency=arguments.concurrency)
    generator = ItemGenerator(model, database, [item.stem for item in questions.items], 3, arguments.budget_s)
    results: list[tuple[Generated, float]] = []
    deadline = time.monotonic() + arguments.seconds
    columns = (TextColumn("{task.description}"), BarColumn(), TextColumn("{task.fields[accepted]} accepted"))
    with Progress(*columns, TimeRemainingColumn(), console=console) as progress:
        task = progress.add_task("generating", total=arguments.seconds, accepted=0)

        async def worker() -> None:
            while time.monotonic() < deadline:
                began = time.perf_counter()
                generated = await generator.generate(next(targets), PARAMETERS, fills="bench")
                results.append((generated, time.perf_counter() - began))
                accepted = sum(1 for done, _ in results if done.outcome == "accepted")
                progress.update(task, completed=arguments.seconds - (deadline - time.monotonic()), accepted=accepted)

        began = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(arguments.concurrency)))
        elapsed = time.monotonic() - began
    await model.aclose()
    await database.dispose()
    scratch.cleanup()
    calls = [call for generated, _ in results for call in generated.provenance.get("calls", [])]
    return {
        "elapsed_s": elapsed,
        "outcomes": Counter(generated.outcome for generated, _ in results),
        "rejections": generator.counts.rejections,
        "generation_s": [seconds for _, seconds in results],
        "call_s": [call["latency_s"] for call in calls],
    }


def report(found: dict[str, Any], gpus: int, arguments: argparse.Namespace, console: Console) -> None:
    elapsed, outcomes = found["elapsed_s"], found["outcomes"]
    generated = sum(outcomes.values())
    accepted = outcomes.get("accepted", 0)

    def percentile(values: list[float], share: float) -> str:
        return f"{np.percentile(values, share) * 1000:.0f}" if values else "-"

    table = Table(title=f"{arguments.model}: {arguments.concurrency} generations in flight for {elapsed:.0f} s")
    table.add_column("measure")
    table.add_column("value", justify="right")
    rows = [
        ("accepted questions / s", f"{accepted / elapsed:.2f}"),
        (f"accepted questions / s per GPU ({gpus} GPU)", f"{accepted / elapsed / gpus:.2f}"),
        (
            "generations (accepted / rejected / timed out)",
            f"{accepted} / {outcomes.get('rejected', 0)} / {outcomes.get('timeout', 0)}",
        ),
        ("acceptance rate", f"{accepted / generated:.0%}" if generated else "-"),
        ("rejected drafts by stage", ", ".join(f"{k} {v}" for k, v in sorted(found["rejections"].items())) or "-"),
        ("model calls / s", f"{len(found['call_s']) / elapsed:.2f}"),
        ("model call latency p50 / p99 ms", f"{percentile(found['call_s'], 50)} / {percentile(found['call_s'], 99)}"),
        (
            "generation latency p50 / p99 ms",
            f"{percentile(found['generation_s'], 50)} / {percentile(found['generation_s'], 99)}",
        ),
    ]
    for row in rows:
        table.add_row(*row)
    console.print(table)


def main() -> None:
    arguments = parse()
    console = Console(width=120)
    if arguments.base_url:
        base_url, gpus = arguments.base_url, arguments.gpus or 1
    else:
        try:
            base_url, gpus = serve_model(arguments)
        except ModelServingUnavailable as error:
            console.print(f"Cannot serve the model: {error}", markup=False)
            raise SystemExit(2) from None
        console.print(f"Serving {arguments.model} at {base_url} on {gpus} GPU(s).")
    report(asyncio.run(measure(base_url, arguments, console)), gpus, arguments, console)


if __name__ == "__main__":
    main()
