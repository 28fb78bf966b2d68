"""One local `assess serve` per port on a machine: what it started, recorded so that the next start on the same
port cleans up after a crash, and the HAProxy files and side ports that are its own.

A server killed with SIGKILL (the OOM killer, an operator) runs no clean-up: Ray's head processes may
outlive it, and Serve's HAProxy, a child of a Ray worker, does outlive it and keeps the public port and its
stats and metrics ports bound. So each local server keeps everything it starts under a directory of its own,
named by its port (`/tmp/assess-<port>/`): Ray's temp dir (sessions, sockets, logs) and HAProxy's files
(config, admin socket, state). Those paths appear in the command line of every process it started, Ray's and
HAProxy's, so the next start on the same port finds and ends whatever a crashed predecessor left, and two
servers on one machine never share a file; HAProxy's stats and metrics ports are picked free for the same
reason.
"""

from __future__ import annotations

import contextlib
import json
import os
import resource
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import psutil

# Serve's HAProxy settings (ray.serve._private.constants) that name files and ports on this machine.
HAPROXY_FILES = {
    "RAY_SERVE_HAPROXY_CONFIG_FILE_LOC": "haproxy.cfg",
    "RAY_SERVE_HAPROXY_SOCKET_PATH": "admin.sock",
    "RAY_SERVE_HAPROXY_SERVER_STATE_BASE": "",
    "RAY_SERVE_HAPROXY_SERVER_STATE_FILE": "server-state",
    "RAY_SERVE_HAPROXY_METRICS_SOCKET_PATH": "metrics.sock",
}
HAPROXY_PORTS = ("RAY_SERVE_HAPROXY_STATS_PORT", "RAY_SERVE_HAPROXY_METRICS_PORT")
# Open connections HAProxy accepts: it refuses to start unless the open-file limit covers about 2.5 file
# descriptors per connection (client side, replica side, its own), so the limit decides.
HAPROXY_MAXCONN = 50_000
HAPROXY_FILES_PER_CONNECTION = 3
HAPROXY_SPARE_FILES = 1_000
WANTED_OPEN_FILES = 1 << 20
LEFTOVER_EXIT_S = 10.0


@dataclass(frozen=True)
class ServerSlot:
    port: int

    @property
    def directory(self) -> Path:
        # Short: Serve puts HAProxy's sockets under <this>/hap/<56-character node id>/, and HAProxy takes
        # socket paths of at most 97 bytes.
        return Path(tempfile.gettempdir()) / f"assess-{self.port}"

    @property
    def record(self) -> Path:
        return self.directory / "server.json"

    @property
    def haproxy_directory(self) -> Path:
        return self.directory / "hap"

    @property
    def ray_directory(self) -> Path:
        """Ray's temp dir for this server (short: Unix socket paths inside it are limited to 107 bytes)."""
        return self.directory / "ray"

    def running_pid(self) -> int | None:
        """The pid of a live `assess serve` that holds this slot, if one does."""
        pid = self._recorded().get("pid")
        if not isinstance(pid, int) or pid == os.getpid():
            return None
        try:
            command = " ".join(psutil.Process(pid).cmdline())
        except (psutil.NoSuchProcess, psutil.AccessDenied):
            return None
        return pid if "assess" in command and "serve" in command else None

    def clean_up_leftovers(self) -> list[str]:
        """Kill what a previous server on this port left running; returns what was killed, in words."""
        mark = str(self.directory) + os.sep
        leftovers = [process for process in _processes() if mark in _command(process)]
        for process in leftovers:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()
        psutil.wait_procs(leftovers, timeout=LEFTOVER_EXIT_S)
        return [f"{process.pid} ({_command(process)[:60]})" for process in leftovers]

    def claim(self) -> None:
        """Record this server as the slot's holder."""
        self.directory.mkdir(parents=True, exist_ok=True)
        self.record.write_text(json.dumps({"pid": os.getpid(), "started_at": time.time()}))

    def release(self) -> None:
        self.record.unlink(missing_ok=True)

    def haproxy_environment(self) -> dict[str, str]:
        """Serve's HAProxy settings for this server: files in its own directory, free side ports (unless
        the environment names them), and a connection limit for thousands of candidates."""
        self.haproxy_directory.mkdir(parents=True, exist_ok=True)
        environment = {
            name: str(self.haproxy_directory / file) if file else str(self.haproxy_directory)
            for name, file in HAPROXY_FILES.items()
        }
        for name in HAPROXY_PORTS:
            environment[name] = os.environ.get(name) or str(free_port())
        open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        fitting = max(256, (open_files - HAPROXY_SPARE_FILES) // HAPROXY_FILES_PER_CONNECTION)
        environment["RAY_SERVE_HAPROXY_MAXCONN"] = os.environ.get(
            "RAY_SERVE_HAPROXY_MAXCONN", str(min(HAPROXY_MAXCONN, fitting))
        )
        return environment

    def haproxy_problem(self, binary: str) -> str | None:
        """Why HAProxy could not serve here (None when it can): a binary that does not run, or a side port
        already taken."""
        try:
            subprocess.run([binary, "-v"], capture_output=True, check=True, timeout=10)
        except (OSError, subprocess.SubprocessError) as error:
            return f"{binary} does not run ({error})"
        for name in HAPROXY_PORTS:
            port = int(os.environ.get(name) or 0)
            if port and not port_is_free(port):
                return f"{name}={port} is in use"
        return None

    def haproxy_errors(self) -> str:
        """The last lines HAProxy wrote to its error logs in this server's directory."""
        logs = sorted(self.haproxy_directory.rglob("*.stderr.log"), key=lambda path: path.stat().st_mtime)
        return logs[-1].read_text(errors="replace")[-2000:] if logs else "(HAProxy wrote no error log)"

    def _recorded(self) -> dict[str, object]:
        try:
            recorded = json.loads(self.record.read_text())
        except (OSError, ValueError):
            return {}
        return recorded if isinstance(recorded, dict) else {}


def raise_open_file_limit() -> int:
    """Raise this process's soft limit on open files to the hard limit (inherited by the Ray cluster it
    starts, and by HAProxy): each candidate holds a socket or two. Returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = WANTED_OPEN_FILES if hard == resource.RLIM_INFINITY else min(hard, WANTED_OPEN_FILES)
    if soft < wanted:
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)[0]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def port_is_free(port: int) -> bool:
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return False
        return True


def _processes() -> list[psutil.Process]:
    own = {os.getpid(), os.getppid()}
    return [process for process in psutil.process_iter(["cmdline"]) if process.pid not in own]


def _command(process: psutil.Process) -> str:
    return " ".join(process.info.get("cmdline") or [])
