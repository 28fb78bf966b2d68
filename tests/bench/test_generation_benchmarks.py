"""The generation benchmarks run as processes, briefly: bench/generation.py (waits with and without
prefetching beside the bank's, against its own scripted model server) and bench/gpu_generation.py
(measuring a running endpoint: the session's scripted server; serving needs the `gpu` extra)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def bench(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments], cwd=ROOT, capture_output=True, text=True, timeout=240, env={"PATH": "/usr/bin"}
    )


def test_the_generation_benchmark_compares_prefetching_with_on_demand_and_the_bank() -> None:
    result = bench(
        "bench/generation.py", "--candidates", "3", "--questions", "3", "--latency-s", "0.2", "--think-s", "0.4"
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = {line.split("│")[1].strip(): line for line in result.stdout.splitlines() if line.count("│") > 5}
    assert {"bank", "llm, on demand", "llm, prefetched"} <= set(rows), result.stdout
    assert "ready" in rows["llm, prefetched"] and "on_demand 9" in rows["llm, on demand"]
    assert "median wait: prefetched" in result.stdout
    assert "Started a local Ray instance" not in result.stderr, "the benchmark runs the host in process"


def test_the_gpu_benchmark_measures_a_running_endpoint(fake_model) -> None:  # type: ignore[no-untyped-def]
    result = bench(
        "bench/gpu_generation.py",
        *("--base-url", fake_model.base_url, "--model", "fake-model", "--seconds", "3", "--concurrency", "4"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    rows = dict(
        tuple(cell.strip() for cell in line.split("│")[1:3]) for line in result.stdout.splitlines() if "│" in line
    )
    assert float(rows["accepted questions / s per GPU (1 GPU)"]) > 0 and rows["acceptance rate"] == "100%"
    accepted, rejected, timed_out = map(int, rows["generations (accepted / rejected / timed out)"].split(" / "))
    assert accepted > 0 and (rejected, timed_out) == (0, 0)
    roles = set(fake_model.roles())
    assert roles == {"draft", "solve"} and len(fake_model.requests) >= 8


def test_the_gpu_benchmark_without_the_gpu_extra_says_what_to_install() -> None:
    result = bench("bench/gpu_generation.py", "--model-path", "/models/none", "--seconds", "1")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "pip install -e '.[gpu]'" in " ".join(result.stdout.split()) and "Traceback" not in result.stderr
