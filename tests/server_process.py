"""`assess serve` as a separate process tree, started and stopped (or killed) as an operator would."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
from pathlib import Path

from cli.server_slot import ServerSlot

ASSESS = str(Path(sys.executable).with_name("assess"))


class ServerProcess:
    def __init__(self, env: dict[str, str], ray_dir: str, arguments: tuple[str, ...] = ()) -> None:
        self.env = env
        self.ray_dir = ray_dir
        self.arguments = arguments
        self.process: subprocess.Popen[str] | None = None
        self.slot = ServerSlot(int(env["ASSESS_PORT"])) if "--address" not in arguments else None
        self.haproxies_before: set[int] = set()
        self.log = Path(ray_dir + ".log")

    def start(self) -> None:
        """Start `assess serve` and wait until it reports that it serves (its output goes to a log file)."""
        self.haproxies_before = haproxy_pids()
        self.log = Path(self.ray_dir + ".log")
        self.log.write_text("")
        with self.log.open("a") as sink:
            self.process = subprocess.Popen(
                [ASSESS, "serve", *self.arguments],
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        tail = subprocess.Popen(["tail", "-n", "+1", "-f", str(self.log)], stdout=subprocess.PIPE, text=True)
        try:
            assert tail.stdout is not None
            for line in tail.stdout:  # blocks until the line appears; pytest-timeout bounds a hang
                if "Serving on" in line:
                    return
                if self.process.poll() is not None:
                    break
        finally:
            tail.kill()
        raise AssertionError("the server did not start:\n" + self.log.read_text()[-5000:])

    def stop_gracefully(self) -> None:
        """SIGTERM to `assess serve`, as an orchestrator stops it: it must exit by itself, cleanly."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        assert self.process.wait(timeout=120) == 0, self.log.read_text()[-3000:]
        if self.slot is not None:  # a clean stop ends everything it started, HAProxy included
            assert self.slot.clean_up_leftovers() == [], "a graceful stop left processes running"
        self.kill_everything()

    def kill_the_server_alone(self) -> None:
        """SIGKILL to the `assess serve` process only, as the OOM killer does: nothing else is cleaned up."""
        assert self.process is not None
        self.process.kill()
        self.process.wait(timeout=60)

    def kill_everything(self) -> None:
        """SIGKILL to the server's process group and to every process of its Ray cluster."""
        if self.process is not None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(timeout=60)
        subprocess.run(["pkill", "-9", "-f", self.ray_dir], check=False)
        if self.slot is not None:  # a local server keeps its Ray cluster and HAProxy under its slot
            subprocess.run(["pkill", "-9", "-f", str(self.slot.directory) + "/"], check=False)
        for pid in haproxy_pids() - self.haproxies_before:  # Ray's HAProxy runs outside its temp dir
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


def haproxy_pids() -> set[int]:
    found = subprocess.run(["pgrep", "-f", "haproxy-serve"], capture_output=True, text=True).stdout
    return {int(pid) for pid in found.split()}
