"""Writing a run to disk: one CSV row per candidate, the summary as JSON, and the plots."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # files only, no display
import matplotlib.pyplot as plt
import numpy as np

from adaptive.pool import ItemPool
from simulation.outcome import Outcome, Reason
from simulation.personas import Persona
from simulation.summary import Summary

RESULTS = "results.csv"
SUMMARY = "summary.json"
COLUMNS = ("candidate", "persona", "true_theta", "estimate", "se", "length", "reason", "seconds", "reconnects", "items")
PLOTS = ("estimate_vs_true.png", "se_by_items.png", "exposure.png")


def write_results(path: Path, outcome: Outcome, pool: ItemPool) -> None:
    with path.open("w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(COLUMNS)
        for row in range(outcome.size):
            items = ";".join(pool.ids[entry] for entry in outcome.items[row] if entry >= 0)
            writer.writerow(
                [
                    row,
                    Persona(int(outcome.persona[row])).name.lower(),
                    f"{outcome.true_theta[row]:.4f}",
                    f"{outcome.estimate[row]:.4f}",
                    f"{outcome.se[row]:.4f}",
                    int(outcome.length[row]),
                    Reason(int(outcome.reason[row])).finish_reason.value,
                    f"{outcome.seconds[row]:.1f}",
                    int(outcome.reconnects[row]),
                    items,
                ]
            )


def write_summary(path: Path, summary: Summary, settings: dict[str, object]) -> None:
    path.write_text(json.dumps({"settings": settings, **summary.as_dict()}, indent=2) + "\n")


def write_plots(directory: Path, outcome: Outcome, pool: ItemPool) -> list[Path]:
    paths = [directory / name for name in PLOTS]
    figure, axes = plt.subplots(figsize=(6, 6))
    axes.scatter(outcome.true_theta, outcome.estimate, s=4, alpha=0.3)
    low, high = float(outcome.true_theta.min()), float(outcome.true_theta.max())
    axes.plot([low, high], [low, high], color="black", linewidth=1)
    axes.set(xlabel="true ability", ylabel="estimated ability", title="Estimate against true ability")
    figure.savefig(paths[0], dpi=110, bbox_inches="tight")
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(7, 4.5))
    steps = np.arange(1, outcome.se_history.shape[1] + 1)
    answered = ~np.isnan(outcome.se_history)
    counts = answered.sum(axis=0)
    mean_se = np.where(counts > 0, np.nansum(outcome.se_history, axis=0) / np.maximum(counts, 1), np.nan)
    axes.plot(steps, mean_se, marker="o", markersize=3)
    axes.set(xlabel="items administered", ylabel="mean standard error", title="Standard error by test length")
    twin = axes.twinx()
    twin.bar(steps, counts / outcome.size, alpha=0.15, color="grey")
    twin.set_ylabel("share still testing")
    figure.savefig(paths[1], dpi=110, bbox_inches="tight")
    plt.close(figure)

    figure, axes = plt.subplots(figsize=(7, 4.5))
    rates = np.bincount(outcome.items[outcome.items >= 0], minlength=len(pool))[~pool.reusable] / outcome.size
    axes.hist(rates, bins=20)
    axes.set(xlabel="exposure rate (share of candidates)", ylabel="items", title="Item exposure")
    figure.savefig(paths[2], dpi=110, bbox_inches="tight")
    plt.close(figure)
    return paths
