"""Our `fast` simulator against catsim, side by side in one run, on the same item parameters, the same
true abilities and the same rules: 2PL, maximum information, a fixed start at theta 0, stop at SE 0.3 or
40 items, maximum-likelihood estimates (ours: MLE with an EAP fallback for all-right/all-wrong patterns;
catsim: its bounded numerical search with Dodd's heuristic).

Printed: candidates per second for catsim, for our core in one process and for our core in Ray tasks over
the local cluster, the speed ratios, and each side's RMSE, bias and mean length. Goals: at least 100 times
catsim's speed with an RMSE within 0.02 of catsim's.

    .venv/bin/python bench/sim_vs_catsim.py                  # 2,000 catsim candidates, 25x as many for ours
    .venv/bin/python bench/sim_vs_catsim.py --catsim-candidates 2000 --items 500
"""

import argparse
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from adaptive.cat import AdaptiveTest  # noqa: E402
from adaptive.estimation import MLE  # noqa: E402
from adaptive.irt import ItemParameters  # noqa: E402
from adaptive.pool import ItemPool  # noqa: E402
from adaptive.stopping import StoppingRule  # noqa: E402
from simulation.fast import SimulationPlan, simulate  # noqa: E402
from simulation.outcome import Outcome  # noqa: E402


def run_catsim(items: ItemParameters, true_theta: np.ndarray, seed: int) -> tuple[float, np.ndarray, np.ndarray]:
    from catsim.estimation import NumericalSearchEstimator
    from catsim.initialization import FixedPointInitializer
    from catsim.selection import MaxInfoSelector
    from catsim.simulation import Simulator
    from catsim.stopping import MinErrorStopper

    bank = np.column_stack([items.a, items.b, items.c, np.ones(len(items))])
    simulator = Simulator(bank, true_theta, seed=seed)
    started = time.perf_counter()
    simulator.simulate(
        FixedPointInitializer(0.0), MaxInfoSelector(), NumericalSearchEstimator(), MinErrorStopper(0.3, max_items=40)
    )
    seconds = time.perf_counter() - started
    lengths = np.array([len(given) for given in simulator.administered_items])
    return seconds, np.array(simulator.latest_estimations), lengths


def run_ours(plan: SimulationPlan, true_theta: np.ndarray, seed: int, local: bool) -> tuple[float, Outcome]:
    careful = np.zeros(true_theta.size, dtype=np.int8)
    started = time.perf_counter()
    outcome = simulate(plan, true_theta, careful, seed, chunk_size=5000, local=local)
    return time.perf_counter() - started, outcome


def describe(
    name: str, candidates: int, seconds: float, estimate: np.ndarray, truth: np.ndarray, lengths: np.ndarray
) -> float:
    error = estimate - truth
    rate = candidates / seconds
    rmse = float(np.sqrt(np.mean(error**2)))
    print(
        f"{name:<26} {candidates:>8} {seconds:>9.2f} {rate:>12,.0f} {rmse:>7.3f} {error.mean():>+7.3f} "
        f"{lengths.mean():>7.2f}"
    )
    return rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=300, help="item bank size (2PL)")
    parser.add_argument("--catsim-candidates", type=int, default=2000)
    parser.add_argument("--scale", type=int, default=25, help="our candidates = scale x catsim's (same abilities)")
    parser.add_argument("--seed", type=int, default=1)
    arguments = parser.parse_args()

    rng = np.random.default_rng(arguments.seed)
    items = ItemParameters.of(a=rng.lognormal(0.2, 0.25, arguments.items), b=rng.normal(0, 1, arguments.items))
    true_theta = rng.normal(0, 1, arguments.catsim_candidates)
    ours_theta = np.tile(true_theta, arguments.scale)  # the same abilities, each taken `scale` times
    plan = SimulationPlan(AdaptiveTest(ItemPool.of_parameters(items), StoppingRule(max_items=40, se_target=0.3), MLE()))

    print(f"{arguments.items} 2PL items; maximum information; start at 0; stop at SE 0.3 or 40 items\n")
    print(f"{'':<26} {'cands':>8} {'seconds':>9} {'cands/s':>12} {'RMSE':>7} {'bias':>7} {'length':>7}")
    seconds, estimate, lengths = run_catsim(items, true_theta, arguments.seed)
    catsim_rate = describe("catsim 0.21", true_theta.size, seconds, estimate, true_theta, lengths)
    catsim_rmse = float(np.sqrt(np.mean((estimate - true_theta) ** 2)))

    seconds, outcome = run_ours(plan, ours_theta, arguments.seed, local=True)
    one_process = describe(
        "ours, fast, one process", outcome.size, seconds, outcome.estimate, ours_theta, outcome.length
    )

    import ray

    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    try:
        run_ours(plan, ours_theta[:5000], arguments.seed, local=False)  # warm the workers up
        seconds, outcome = run_ours(plan, ours_theta, arguments.seed, local=False)
    finally:
        ray.shutdown()
    on_ray = describe("ours, fast, Ray tasks", outcome.size, seconds, outcome.estimate, ours_theta, outcome.length)
    our_rmse = float(np.sqrt(np.mean((outcome.estimate - ours_theta) ** 2)))

    print()
    print(f"speed ratio, one process / catsim: {one_process / catsim_rate:,.0f}x")
    print(f"speed ratio, Ray tasks / catsim:   {on_ray / catsim_rate:,.0f}x   (goal: at least 100x)")
    print(f"RMSE difference, ours - catsim:    {our_rmse - catsim_rmse:+.3f}  (goal: within 0.02)")


if __name__ == "__main__":
    main()
