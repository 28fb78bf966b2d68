"""What a local server keeps under its slot, and what the next start on the same port ends."""

from __future__ import annotations

import resource
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator

import psutil
import pytest
from conftest import free_port

from cli.server_slot import HAPROXY_PORTS, ServerSlot, port_is_free, raise_open_file_limit


@pytest.fixture
def slot() -> Iterator[ServerSlot]:
    slot = ServerSlot(free_port())
    yield slot
    slot.clean_up_leftovers()
    slot.release()


def leftover(path: str) -> subprocess.Popen[bytes]:
    """A process whose command line names a file under the slot, as HAProxy's (`-f <config>`) does."""
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", path])


def test_the_next_start_ends_what_a_crashed_server_left_and_nothing_else(slot: ServerSlot) -> None:
    ours = leftover(str(slot.haproxy_directory / "haproxy.cfg"))
    ray_process = leftover(str(slot.ray_directory / "session_latest" / "logs"))
    other_server = leftover(str(ServerSlot(slot.port + 1).haproxy_directory / "haproxy.cfg"))
    try:
        time.sleep(0.2)
        killed = slot.clean_up_leftovers()
        assert sorted(int(line.split()[0]) for line in killed) == sorted([ours.pid, ray_process.pid]), killed
        for process in (ours, ray_process):
            process.wait(timeout=10)  # (already reaped by the clean-up's wait)
            assert not psutil.pid_exists(process.pid)
        assert other_server.poll() is None  # another port's server is not ours to end
    finally:
        other_server.kill()
        other_server.wait()


def test_a_live_server_holds_its_slot_and_a_dead_one_does_not(slot: ServerSlot) -> None:
    assert slot.running_pid() is None
    slot.claim()
    assert slot.running_pid() is None  # this process is not an `assess serve`
    impostor = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)", "assess", "serve"])
    try:
        slot.record.write_text(f'{{"pid": {impostor.pid}}}')
        assert slot.running_pid() == impostor.pid
    finally:
        impostor.kill()
        impostor.wait()
    assert slot.running_pid() is None  # it died: the slot is free for the next start
    slot.record.write_text("not json")
    assert slot.running_pid() is None


def test_haproxy_gets_files_of_its_own_free_side_ports_and_room_for_thousands(
    slot: ServerSlot, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in HAPROXY_PORTS:
        monkeypatch.delenv(name, raising=False)
    first, second = slot.haproxy_environment(), ServerSlot(slot.port + 1).haproxy_environment()
    assert first["RAY_SERVE_HAPROXY_CONFIG_FILE_LOC"].startswith(str(slot.haproxy_directory))
    assert first["RAY_SERVE_HAPROXY_CONFIG_FILE_LOC"] != second["RAY_SERVE_HAPROXY_CONFIG_FILE_LOC"]
    for name in HAPROXY_PORTS:
        assert port_is_free(int(first[name]))
    open_files = resource.getrlimit(resource.RLIMIT_NOFILE)[0]
    assert 5_000 <= int(first["RAY_SERVE_HAPROXY_MAXCONN"]) <= open_files // 2.5  # what HAProxy accepts


def test_a_taken_side_port_or_a_broken_binary_is_said_before_anything_starts(
    slot: ServerSlot, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as taken:
        taken.bind(("0.0.0.0", 0))
        taken.listen()
        monkeypatch.setenv("RAY_SERVE_HAPROXY_STATS_PORT", str(taken.getsockname()[1]))
        problem = slot.haproxy_problem(shutil.which("true") or "/bin/true")  # a binary that runs
        assert problem is not None and "RAY_SERVE_HAPROXY_STATS_PORT" in problem
    missing = slot.haproxy_problem("/nonexistent/haproxy")
    assert missing is not None and "does not run" in missing


def test_the_open_file_limit_is_raised_to_the_hard_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(soft, 1024), hard))
        raised = raise_open_file_limit()
        assert raised == resource.getrlimit(resource.RLIMIT_NOFILE)[0]
        assert raised >= min(hard, 1 << 20) if hard != resource.RLIM_INFINITY else raised == 1 << 20
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
