"""Password hashing with Argon2id (argon2-cffi), the OWASP-recommended memory-hard hash.

Hashing is deliberately slow (tens of milliseconds of CPU and 64 MiB each), so it never runs on an event
loop: a burst of logins would stall every socket the process serves. It runs on a small pool of threads
(argon2-cffi releases the GIL while it hashes) of half the machine's cores (at least one, at most four), so
a burst queues there instead of taking every core, and all the memory, from the candidates' answers.
"""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_hasher = PasswordHasher()
_hashing = ThreadPoolExecutor(max_workers=max(1, min(4, (os.cpu_count() or 1) // 2)), thread_name_prefix="argon2")

# Verified against when the user does not exist, so a missing account costs the same time as a wrong password.
_DUMMY_HASH = _hasher.hash("no-such-user-dummy-password")


def _verify(password: str, password_hash: str | None) -> bool:
    try:
        return _hasher.verify(password_hash or _DUMMY_HASH, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


async def hash_password(password: str) -> str:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _hasher.hash, password)


async def verify_password(password: str, password_hash: str | None) -> bool:
    return await asyncio.get_running_loop().run_in_executor(_hashing, _verify, password, password_hash)


def needs_rehash(password_hash: str) -> bool:
    return _hasher.check_needs_rehash(password_hash)
