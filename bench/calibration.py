"""Our item calibration (adaptive/mml.py) beside girth's on the same simulated data, side by side in one run.

Three data sets, 2PL items (a ~ lognormal(0, 0.25), b ~ N(0, 1)) and standard normal abilities:

- 1,000 persons x 50 items, complete;
- 20,000 persons x 100 items, complete;
- 20,000 persons taking an adaptive 20-item test from a pool of 300: each item chosen by maximum
  information at the running EAP estimate, at random among the 20 most informative (randomesque exposure
  control), so items are answered mostly by persons near their difficulty, as in CAT data; the items given
  to fewer than 100 persons are left out of both calibrations (too few responses identify nothing).

Printed per data set and estimator: seconds, and the RMSE of a and b against the true parameters (c is 0
for both, the 2PL). Goal: RMSE within 0.02 of girth's on a and b, and at least as fast.

    .venv/bin/python bench/calibration.py
    .venv/bin/python bench/calibration.py --skip-girth-above 1000000   # girth only on smaller data
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adaptive.mml import GRID, Responses, calibrate  # noqa: E402

POOL_ITEMS, TEST_LENGTH, RANDOMESQUE, MIN_GIVEN = 300, 20, 20, 100


@dataclass
class DataSet:
    name: str
    a: np.ndarray
    b: np.ndarray
    answers: np.ndarray  # items x persons, right = 1, wrong = 0
    answered: np.ndarray  # items x persons


def two_pl(a: np.ndarray, b: np.ndarray, theta: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-a[:, None] * (theta[None, :] - b[:, None])))


def complete(name: str, persons: int, items: int, rng: np.random.Generator) -> DataSet:
    a, b, theta = rng.lognormal(0, 0.25, items), rng.normal(0, 1, items), rng.normal(0, 1, persons)
    answers = (rng.random((items, persons)) < two_pl(a, b, theta)).astype(np.int64)
    return DataSet(name, a, b, answers, np.ones_like(answers, dtype=bool))


def adaptive(persons: int, rng: np.random.Generator) -> DataSet:
    """An adaptive test for every person at once: EAP on the grid after each answer, then the next item."""
    a, b, theta = rng.lognormal(0, 0.25, POOL_ITEMS), rng.normal(0, 1, POOL_ITEMS), rng.normal(0, 1, persons)
    p_grid = two_pl(a, b, GRID)  # items x nodes
    log_posterior = np.tile(-0.5 * GRID**2, (persons, 1))
    answered = np.zeros((POOL_ITEMS, persons), dtype=bool)
    answers = np.zeros((POOL_ITEMS, persons), dtype=np.int64)
    everyone = np.arange(persons)
    for _ in range(TEST_LENGTH):
        weights = np.exp(log_posterior - log_posterior.max(axis=1, keepdims=True))
        estimate = (weights * GRID).sum(axis=1) / weights.sum(axis=1)
        p = two_pl(a, b, estimate)
        information = np.where(answered, -np.inf, a[:, None] ** 2 * p * (1 - p))
        top = np.argpartition(-information, RANDOMESQUE, axis=0)[:RANDOMESQUE]
        chosen = top[rng.integers(0, RANDOMESQUE, persons), everyone]
        right = rng.random(persons) < 1 / (1 + np.exp(-a[chosen] * (theta - b[chosen])))
        answered[chosen, everyone] = True
        answers[chosen, everyone] = right
        log_posterior += np.where(right[:, None], np.log(p_grid[chosen]), np.log1p(-p_grid[chosen]))
    used = answered.sum(axis=1) >= MIN_GIVEN  # too few responses identify nothing, for either estimator
    name = f"{persons:,} x {TEST_LENGTH}-of-{POOL_ITEMS} adaptive ({used.sum()} items given {MIN_GIVEN}+ times)"
    return DataSet(name, a[used], b[used], answers[used], answered[used])


def ours(data: DataSet) -> tuple[float, np.ndarray, np.ndarray]:
    items, persons = np.nonzero(data.answered)
    responses = Responses.of(
        (str(person), str(item), bool(data.answers[item, person])) for item, person in zip(items, persons, strict=True)
    )
    began = time.perf_counter()
    calibration = calibrate(responses, "2pl")
    seconds = time.perf_counter() - began
    order = np.array([int(item_id) for item_id in calibration.item_ids])
    a, b = np.empty(len(order)), np.empty(len(order))
    a[order], b[order] = calibration.a, calibration.b
    return seconds, a, b


def girth(data: DataSet) -> tuple[float, np.ndarray, np.ndarray]:
    from girth import INVALID_RESPONSE, twopl_mml

    matrix = np.where(data.answered, data.answers, INVALID_RESPONSE)
    began = time.perf_counter()
    result = twopl_mml(matrix)
    return time.perf_counter() - began, result["Discrimination"], result["Difficulty"]


def rmse(estimate: np.ndarray, truth: np.ndarray) -> float:
    return float(np.sqrt(np.mean((estimate - truth) ** 2)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--skip-girth-above", type=int, default=None, help="responses above which girth is skipped")
    arguments = parser.parse_args()
    rng = np.random.default_rng(arguments.seed)
    console = Console(width=170)
    data_sets = [
        complete("1,000 x 50 complete", 1000, 50, rng),
        complete("20,000 x 100 complete", 20000, 100, rng),
        adaptive(20000, rng),
    ]
    table = Table(title="2PL calibration: ours (adaptive/mml.py) and girth 0.8.0 on the same data")
    for column in ("data", "estimator", "seconds", "RMSE a", "RMSE b", "speed vs girth", "RMSE a, b minus girth's"):
        table.add_column(column, justify="right")
    for data in data_sets:
        with console.status(f"{data.name}: ours"):
            our_seconds, our_a, our_b = ours(data)
        our_rmse_a, our_rmse_b = rmse(our_a, data.a), rmse(our_b, data.b)
        table.add_row(data.name, "ours", f"{our_seconds:.2f}", f"{our_rmse_a:.3f}", f"{our_rmse_b:.3f}")
        if arguments.skip_girth_above is not None and data.answered.sum() > arguments.skip_girth_above:
            table.add_row(data.name, "girth", "skipped", "", "")
            continue
        with console.status(f"{data.name}: girth"):
            their_seconds, their_a, their_b = girth(data)
        table.add_row(
            data.name,
            "girth",
            f"{their_seconds:.2f}",
            f"{rmse(their_a, data.a):.3f}",
            f"{rmse(their_b, data.b):.3f}",
            f"{their_seconds / our_seconds:.1f}x",
            f"{our_rmse_a - rmse(their_a, data.a):+.3f}, {our_rmse_b - rmse(their_b, data.b):+.3f}",
        )
    console.print(table)


if __name__ == "__main__":
    main()
