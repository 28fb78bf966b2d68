"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended memory-hard hash.

Hashing is deliberately slow (tens of milliseconds of CPU and 19 MiB each), so it never runs on an event
loop: a burst of logins would stall every socket the process serves. It runs on a small pool of threads
(argon2-cffi releases the GIL while it hashes) at the lowest scheduling priority (nice 19), which spends at
most `HASHING_CORES`: each thread rests after a hash for as long as its share requires. Priority alone did
not protect the candidates' answers from a storm of logins (bench/login_storm.py: 1.4-2 times their p99
with a thread hashing without pause at nice 19, or even as SCHED_IDLE): a memory-hard hash takes the
caches and the memory bandwidth whatever its priority. A login can wait a moment; an answer should not.
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

# OWASP's Argon2id configuration (Password Storage Cheat Sheet): 19 MiB, two passes, one lane. argon2-cffi's
# default (64 MiB, three passes, four lanes) cost 275 ms of CPU per login here against 36 ms, and a flood of
# wrong logins from many addresses (bench/login_storm.py) spent the machine on it. Stored hashes made with
# other parameters still verify, and are rehashed with these at their next login.
_hasher = PasswordHasher(time_cost=2, memory_cost=19_456, parallelism=1)

T = TypeVar("T")


# At most a quarter of the cores this process may run on (its CPU affinity: a container's cpuset, where
# os.cpu_count() would count the host's), and at least half of one.
HASHING_CORES = max(
    0.5, len(os.sched_getaffinity(0)) / 4 if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1) / 4
)
_HASHING_THREADS = math.ceil(HASHING_CORES)
_REST_PER_CPU_SECOND = _HASHING_THREADS / HASHING_CORES - 1  # a thread's rest after each second of hashing


class _HashingThread(threading.local):
    rested_at = 0.0  # when this thread may hash again


_thread = _HashingThread()


def _lowest_priority() -> None:
    with contextlib.suppress(OSError):  # Linux schedules threads one by one; elsewhere they keep the default
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 19)


def _within_share(work: Callable[..., T], *arguments: Any) -> T:
    """Run one hash on a pool thread, first resting for as long as its last hash requires, so that the pool
    spends at most `HASHING_CORES` however many logins wait."""
    time.sleep(max(0.0, _thread.rested_at - time.monotonic()))
    started = time.thread_time()
    try:
        return work(*arguments)
    finally:
        _thread.rested_at = time.monotonic() + (time.thread_time() - started) * _REST_PER_CPU_SECOND


_hashing = ThreadPoolExecutor(max_workers=_HASHING_THREADS, thread_name_prefix="argon2", initializer=_lowest_priority)

# Verified against when the user does not exist, so a missing account costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("no-such-user-dummy-password")


def _verify(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _within_share, _hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _within_share, _verify, password, password_hash)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
