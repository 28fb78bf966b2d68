"""The garbage collector of a long-lived server process (an ingress replica, a session host).

Such a process builds hundreds of thousands of objects once at start-up (imported modules, the compiled
graph, the item bank, the web app) and keeps them for its whole life. Left to the collector, every older
generation's pass walks all of them again, and the live path allocates enough to trigger such passes
many times a second. `settle_after_startup` moves what exists so far into the permanent generation
(`gc.freeze`, as CPython's documentation recommends for servers) and lets the young generation grow
larger between collections; reference counting still frees almost everything a message allocates.
"""

from __future__ import annotations

import gc

YOUNG_GENERATION_THRESHOLD = 10_000  # allocations between young collections (CPython's default: 700)


def settle_after_startup() -> None:
    gc.collect()
    gc.freeze()
    _, middle, old = gc.get_threshold()
    gc.set_threshold(YOUNG_GENERATION_THRESHOLD, middle, old)
