"""The server side of a benchmark run on this machine: every process of the Ray cluster (GCS, raylet,
Serve's controller and proxy, ingress replicas, the registry, the session hosts) and Serve's HAProxy.

CPU and resident memory are summed over all of them, so a figure per answer or per session counts what
the whole server spends, not one process."""

from __future__ import annotations

import os

import psutil


def server_processes() -> list[psutil.Process]:
    found = []
    for process in psutil.process_iter(["cmdline", "name"]):
        if process.pid == os.getpid():
            continue
        command = " ".join(process.info["cmdline"] or [])
        if "ray" in command or "haproxy" in command or (process.info["name"] or "").startswith("ray::"):
            found.append(process)
    return found


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


def rss_bytes() -> int:
    """Resident memory of every server process."""
    total = 0
    for process in server_processes():
        try:
            total += process.memory_info().rss
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            continue
    return total
