"""GET /metrics parsed with prometheus-client's own parser: every sample by name and labels."""

from __future__ import annotations

from typing import Any

from prometheus_client.parser import text_string_to_metric_families

Samples = dict[tuple[str, frozenset[tuple[str, str]]], float]
METRICS_TOKEN = "scrape-token-for-tests-0123456789"  # the test servers' ASSESS_METRICS_TOKEN
SCRAPE_HEADERS = {"Authorization": f"Bearer {METRICS_TOKEN}"}


def scrape(server: Any) -> Samples:
    with server.client() as client:
        response = client.get("/metrics", headers=SCRAPE_HEADERS)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain; version=")
    return {
        (sample.name, frozenset(sample.labels.items())): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def value(samples: Samples, name: str, **labels: str) -> float:
    """The sample's value (0 when it is absent, as a counter nobody touched yet)."""
    return samples.get((name, frozenset(labels.items())), 0.0)


def total(samples: Samples, name: str, **labels: str) -> float:
    """The sum over every sample of this name whose labels include these."""
    wanted = set(labels.items())
    return sum(found for (sample, have), found in samples.items() if sample == name and wanted <= have)
