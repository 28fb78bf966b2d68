"""Joining or starting the Ray cluster the engine runs on."""

from __future__ import annotations

import ray


def start_or_join(address: str | None = None, num_cpus: int | None = None) -> None:
    """Join the cluster at `address` (e.g. `ray://head:10001` or `head:6380`), or start a local one.

    A local cluster runs without the dashboard; Ray's GCS picks a free port, never Redis's 6379.
    """
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address)
    else:
        ray.init(num_cpus=num_cpus, include_dashboard=False)
