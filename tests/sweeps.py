"""Watching the registry's sweep from a test: each pass's report, collected as the passes happen."""

from __future__ import annotations

import asyncio
from typing import Any


async def watch_sweeps(registry: Any, reports: list[dict[str, float]]) -> None:
    """Append every new pass's report to `reports` until cancelled (polls every 0.2 s)."""
    while True:
        report = await registry.sweep_report.remote()
        if report and (not reports or report["number"] != reports[-1]["number"]):
            reports.append(report)
        await asyncio.sleep(0.2)
