"""Password hashing: right and wrong passwords, an unknown account, and the pool's share of the machine.

The share is a ratio of the process's CPU time to the wall time of a burst, and an upper bound: each pool
thread rests after a hash for as long as its share requires, so a slower machine only lowers the ratio.
"""

from __future__ import annotations

import asyncio
import math
import time

from persistence import passwords


def test_a_hash_verifies_its_password_only() -> None:
    async def check() -> tuple[bool, bool, bool]:
        stored = await passwords.hash_password("a-right-password")
        return (
            await passwords.verify_password("a-right-password", stored),
            await passwords.verify_password("a-wrong-password", stored),
            await passwords.verify_password("a-right-password", None),  # no such account
        )

    assert asyncio.run(check()) == (True, False, False)


def test_a_burst_of_hashes_spends_at_most_the_pools_share_of_the_machine() -> None:
    burst = 12

    async def hash_a_burst() -> None:
        await asyncio.gather(*(passwords.verify_password("wrong", None) for _ in range(burst)))

    asyncio.run(hash_a_burst())  # the pool's threads start, and rest, before the measured burst
    time.sleep(1.0)
    wall, cpu = time.monotonic(), time.process_time()
    asyncio.run(hash_a_burst())
    wall, cpu = time.monotonic() - wall, time.process_time() - cpu
    # n hashes on one thread take at least (n - 1) rests: allow that last one, and the event loop's own work.
    per_thread = burst / math.ceil(passwords.HASHING_CORES)
    assert cpu / wall <= passwords.HASHING_CORES * per_thread / (per_thread - 1) * 1.1, (cpu, wall)
