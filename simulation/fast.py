"""`fast` mode: the vectorized core advances a whole chunk of candidates one question at a time, and
chunks run as Ray tasks across the cluster.

Chunk k always holds the same candidates and draws from the k-th child of the run's seed, so a run's
results depend on the seed and the chunk size only, never on how many workers or nodes ran it. The selection
rule's draws are keyed per candidate (`candidate_keys`; a live attempt's key is its id), so a candidate
keyed like a live attempt and answering the same is given the same items.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import ray
from numpy.typing import NDArray

from adaptive.cat import AdaptiveTest
from adaptive.irt import Array, ItemParameters, response_probability
from simulation import personas as persona_rules
from simulation.outcome import Outcome, Reason

DEFAULT_CHUNK = 2000


def candidate_keys(seed: int, candidates: int) -> NDArray[np.uint64]:
    """Each simulated candidate's key for the selection rule's draws: the seed in the high bits, the index
    in the low ones (attempt ids, the live keys, are small numbers: no simulated key equals one)."""
    return (np.uint64(seed % 2**31 + 1) << np.uint64(32)) + np.arange(candidates, dtype=np.uint64)


@dataclass(frozen=True)
class SimulationPlan:
    test: AdaptiveTest
    duration_s: float | None = None  # the test's time limit; None: untimed
    r_max: float | None = None  # exposure cap: no fixed item given to more than this share of candidates
    # The parameters simulated candidates answer by, in pool order; None: the pool's own (the engine's
    # parameters are then the truth). Different ones simulate a pool whose parameters are not yet known.
    true_parameters: ItemParameters | None = None


def simulate_chunk(
    plan: SimulationPlan,
    true_theta: Array,
    personas: NDArray[np.int8],
    seed: np.random.SeedSequence | int,
    keys: NDArray[np.uint64],
    scripted: NDArray[np.bool_] | None = None,
) -> Outcome:
    """Run every candidate of the chunk to the end. `keys` seed each candidate's item selection; `scripted`
    (candidates, max items) fixes the answers (for comparing with the live graph); otherwise personas answer
    by the item response model, with the plan's true parameters."""
    rng = np.random.default_rng(seed)
    test, pool = plan.test, plan.test.pool
    truth = plan.true_parameters or pool.parameters
    candidates, max_items = true_theta.size, test.stopping.max_items
    state = test.begin(candidates)
    outcome = Outcome.empty(true_theta, personas, max_items)
    exposure = np.zeros(len(pool), dtype=np.int64)
    limit = None if plan.r_max is None else np.where(pool.reusable, candidates, int(plan.r_max * candidates))
    elapsed = np.zeros(candidates)
    active = np.ones(candidates, dtype=bool)
    for step in range(max_items + 1):
        done = active & test.finished(state)
        precise = test.stopping.precise(state.answered[done], state.se[done], state.theta[done])
        outcome.reason[done] = np.where(precise, Reason.PRECISION, Reason.LENGTH)
        active &= ~done
        rows = np.flatnonzero(active)
        if rows.size == 0:
            break
        chosen = test.choose(state, rows, keys[rows], capacity=None if limit is None else limit - exposure)
        spent, dropped = persona_rules.seconds_taken(personas[rows], rng)
        p = response_probability(true_theta[rows], truth.a[chosen], truth.b[chosen], truth.c[chosen])
        correct = persona_rules.answers(personas[rows], p, rng) if scripted is None else scripted[rows, step]
        late = np.zeros(rows.size, dtype=bool) if plan.duration_s is None else elapsed[rows] + spent > plan.duration_s
        outcome.reason[rows[late]] = Reason.TIME
        active[rows[late]] = False
        rows, chosen, correct = rows[~late], chosen[~late], correct[~late]
        elapsed[rows] += spent[~late]
        outcome.reconnects[rows] += dropped[~late]
        outcome.items[rows, step] = chosen
        outcome.correct[rows, step] = correct
        test.record(state, rows, chosen, correct)
        outcome.se_history[rows, step] = state.se[rows]
        np.add.at(exposure, chosen, 1)
    outcome.estimate[:] = state.theta
    outcome.se[:] = state.se
    outcome.length[:] = state.answered
    outcome.seconds[:] = elapsed
    return outcome


def simulate(
    plan: SimulationPlan,
    true_theta: Array,
    personas: NDArray[np.int8],
    seed: int,
    chunk_size: int = DEFAULT_CHUNK,
    on_progress: Callable[[int], None] = lambda done: None,
    scripted: NDArray[np.bool_] | None = None,
    local: bool | None = None,
    keys: NDArray[np.uint64] | None = None,
) -> Outcome:
    """All candidates, chunk by chunk as Ray tasks (in this process when `local`, or when Ray is not
    initialised); `on_progress` gets the number of candidates finished after each chunk. `keys` (default
    `candidate_keys(seed, ...)`) seed each candidate's item selection."""
    starts = range(0, true_theta.size, chunk_size)
    seeds = np.random.SeedSequence(seed).spawn(len(starts))
    pieces = [slice(start, start + chunk_size) for start in starts]
    keys = candidate_keys(seed, true_theta.size) if keys is None else keys

    def arguments(index: int) -> tuple[object, ...]:
        piece = pieces[index]
        answers = None if scripted is None else scripted[piece]
        return plan, true_theta[piece], personas[piece], seeds[index], keys[piece], answers

    if local or (local is None and not ray.is_initialized()):
        outcomes = []
        for index in range(len(pieces)):
            outcomes.append(simulate_chunk(*arguments(index)))  # type: ignore[arg-type]
            on_progress(outcomes[-1].size)
        return Outcome.concatenate(outcomes)
    remote_chunk = ray.remote(num_cpus=1)(simulate_chunk)
    plan_ref = ray.put(plan)
    pending = {
        remote_chunk.remote(plan_ref, *arguments(index)[1:]): index  # type: ignore[call-arg, arg-type]
        for index in range(len(pieces))
    }
    finished: dict[int, Outcome] = {}
    while pending:
        ready, _ = ray.wait(list(pending), num_returns=1)
        for ref in ready:
            index = pending.pop(ref)
            finished[index] = ray.get(ref)
            on_progress(finished[index].size)
    return Outcome.concatenate([finished[index] for index in range(len(pieces))])
