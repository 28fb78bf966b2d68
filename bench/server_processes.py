"""The server side of a benchmark run: every process of the Ray cluster the benchmark started (GCS, raylet,
Serve's controller and proxy, ingress replicas, the registry, the session hosts) and Serve's HAProxy: the
descendants of the benchmark's own process, which started the cluster with `ray.init`. Another cluster on
the machine (a test run) is not counted.

CPU and resident memory are summed over all of them, so a figure per answer or per session counts what
the whole server spends, not one process."""

from __future__ import annotations

import os
from collections.abc import Callable

import psutil


def server_processes() -> list[psutil.Process]:
    return psutil.Process(os.getpid()).children(recursive=True)


def cpu_seconds() -> float:
    """User + system CPU so far of every server process."""
    total = 0.0
    for process in server_processes():
        try:
            times = process.cpu_times()
            total += times.user + times.system
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total


def role_of(process: psutil.Process) -> str:
    """What a server process is, for a per-role breakdown: Ray names its worker processes `ray::<actor>`."""
    try:
        command = " ".join(process.cmdline()) or process.name()
    except (psutil.NoSuchProcess, psutil.AccessDenied):
        return "gone"
    if command.startswith("ray::"):
        return command.split()[0].removeprefix("ray::").split(".")[0]
    for known in ("gcs_server", "raylet", "haproxy", "dashboard", "log_monitor", "runtime_env"):
        if known in command:
            return known
    return "other"


def _summed_by_role(measure: Callable[[psutil.Process], float]) -> dict[str, float]:
    totals: dict[str, float] = {}
    for process in server_processes():
        try:
            value = measure(process)
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
        role = role_of(process)
        totals[role] = totals.get(role, 0.0) + value
    return totals


def cpu_seconds_by_role() -> dict[str, float]:
    """User + system CPU so far of the server processes, summed per role (see `role_of`)."""
    return _summed_by_role(lambda process: sum(process.cpu_times()[:2]))


def rss_bytes_by_role() -> dict[str, float]:
    """Resident memory of the server processes, summed per role."""
    return _summed_by_role(lambda process: process.memory_info().rss)


def pids_of_role(role: str) -> set[int]:
    """The server processes of one role now (several HAProxy pids over a run mean it was reloaded)."""
    return {process.pid for process in server_processes() if role_of(process) == role}


def rss_bytes() -> int:
    """Resident memory of every server process."""
    total = 0
    for process in server_processes():
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total
