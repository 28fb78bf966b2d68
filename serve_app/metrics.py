"""Prometheus metrics (prometheus-client): this ingress replica's own, and the cluster's as the registry
last saw them.

The replica's registry holds HTTP requests, WebSocket connections, messages and error frames, and the
answer round trip. The cluster's figures (live sessions and attached connections per host, session
hosts, the sweep, attempts finalized by deadline, question generation) come from one registry call per
scrape, which reads what the hosts answered to the last sweep's pings (no host is called), and are
rendered by `ClusterFigures`, so every replica's /metrics shows the same cluster.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, ProcessCollector, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.registry import Collector

from generation.service import LATENCY_BUCKETS_S

ROUND_TRIP_BUCKETS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)
ERROR_FRAME_PREFIX = '{"type":"error"'


class ReplicaMetrics:
    def __init__(self, open_connections: Callable[[], dict[str, int]]) -> None:
        """`open_connections` gives this replica's open WebSockets by endpoint at scrape time."""
        self.registry = CollectorRegistry()
        ProcessCollector(registry=self.registry)  # the replica's memory, CPU and start time
        self.requests = Counter(
            "assess_http_requests_total",
            "HTTP requests by method, route template and status",
            ("method", "route", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            "assess_http_request_duration_seconds",
            "HTTP request latency by route template",
            ("method", "route"),
            registry=self.registry,
        )
        self._connections = Gauge(
            "assess_ws_connections",
            "Open WebSocket connections on this replica, by endpoint",
            ("endpoint",),
            registry=self.registry,
        )
        self._open_connections = open_connections
        self.messages = Counter(
            "assess_ws_messages_total",
            "WebSocket frames received, by endpoint and message type (invalid, binary and rate_limited included)",
            ("endpoint", "type"),
            registry=self.registry,
        )
        self.error_frames = Counter(
            "assess_ws_error_frames_total",
            "Protocol error frames sent, by error code",
            ("code",),
            registry=self.registry,
        )
        self.answer_round_trip = Histogram(
            "assess_answer_round_trip_seconds",
            "From a submit_answer frame received to its answer_feedback sent (committed in between)",
            buckets=ROUND_TRIP_BUCKETS_S,
            registry=self.registry,
        )

    def observe(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def message_received(self, endpoint: str, kind: str) -> None:
        self.messages.labels(endpoint, kind).inc()

    def frame_sent(self, frame: str) -> None:
        if frame.startswith(ERROR_FRAME_PREFIX):
            self.error_frames.labels(str(json.loads(frame).get("code"))).inc()

    def render(self, cluster: dict[str, Any] | None) -> bytes:
        """This replica's metrics, then the cluster's (`None` when the registry did not answer in time)."""
        self._connections.clear()
        for endpoint, count in self._open_connections().items():
            self._connections.labels(endpoint).set(count)
        figures = CollectorRegistry()
        figures.register(ClusterFigures(cluster))
        return generate_latest(self.registry) + generate_latest(figures)


class ClusterFigures(Collector):
    """The registry's `metrics_snapshot` as Prometheus metric families."""

    def __init__(self, snapshot: dict[str, Any] | None) -> None:
        self.snapshot = snapshot

    def collect(self) -> Iterator[Metric]:
        available = GaugeMetricFamily(
            "assess_cluster_figures_available", "1 when the registry answered this scrape in time, else 0"
        )
        available.add_metric([], 0 if self.snapshot is None else 1)
        yield available
        if self.snapshot is None:
            return
        hosts = [host for host in self.snapshot["hosts"] if host["answered"]]
        sweep = self.snapshot["sweep"]
        sessions = GaugeMetricFamily(
            "assess_live_sessions", "Live assessment sessions held, per session host", labels=("host_id", "node_id")
        )
        attached = GaugeMetricFamily(
            "assess_attached_connections",
            "Assessment connections attached to their sessions, per session host",
            labels=("host_id", "node_id"),
        )
        for host in hosts:
            sessions.add_metric([host["host_id"], host["node_id"]], host["sessions"])
            attached.add_metric([host["host_id"], host["node_id"]], host["attached"])
        yield sessions
        yield attached
        yield GaugeMetricFamily(
            "assess_session_hosts", "Session host actors alive", value=self.snapshot["session_hosts"]
        )
        yield GaugeMetricFamily(
            "assess_session_hosts_not_answering",
            "Session hosts that did not answer the last sweep's ping in time (starting, busy or hung)",
            value=len(self.snapshot["hosts"]) - len(hosts),
        )
        if self.snapshot["age_s"] is not None:
            yield GaugeMetricFamily(
                "assess_cluster_figures_age_seconds",
                "Seconds since the registry's last sweep, which brought the per-host figures",
                value=self.snapshot["age_s"],
            )
        yield GaugeMetricFamily(
            "assess_sweep_duration_seconds", "Duration of the registry's last sweep", value=sweep.get("seconds", 0.0)
        )
        yield CounterMetricFamily("assess_sweeps", "Registry sweeps since it started", value=sweep.get("number", 0))
        yield CounterMetricFamily(
            "assess_attempts_finalized_by_deadline",
            "Attempts the registry's sweep finalized because their deadline passed, since it started",
            value=sweep.get("expired_total", 0),
        )
        yield from self._generation(hosts)

    @staticmethod
    def _generation(hosts: list[dict[str, Any]]) -> Iterator[Metric]:
        stats = [host["generation"] for host in hosts if host.get("generation")]
        outcomes = CounterMetricFamily(
            "assess_generations", "Question generations by outcome (accepted, rejected, timeout)", labels=("outcome",)
        )
        totals: dict[str, int] = {}
        for stat in stats:
            for outcome, count in stat["outcomes"].items():
                totals[outcome] = totals.get(outcome, 0) + count
        for outcome, count in sorted(totals.items()):
            outcomes.add_metric([outcome], count)
        yield outcomes
        buckets = [0] * (len(LATENCY_BUCKETS_S) + 1)
        seconds = 0.0
        for stat in stats:
            buckets = [mine + theirs for mine, theirs in zip(buckets, stat["latency"]["buckets"], strict=True)]
            seconds += stat["latency"]["sum_s"]
        cumulative, running = [], 0
        for bound, count in zip([*map(str, LATENCY_BUCKETS_S), "+Inf"], buckets, strict=True):
            running += count
            cumulative.append((bound, running))
        latency = HistogramMetricFamily(
            "assess_generation_duration_seconds", "Time to generate (and validate) one question, any outcome"
        )
        latency.add_metric([], cumulative, sum_value=seconds)
        yield latency
