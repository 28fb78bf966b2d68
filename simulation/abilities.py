"""True abilities of simulated candidates: a distribution ("normal:0,1", "uniform:-3,3") or a file."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from adaptive.irt import Array


def draw(spec: str, candidates: int, rng: np.random.Generator) -> Array:
    kind, _, arguments = spec.partition(":")
    try:
        values = [float(value) for value in arguments.split(",")] if arguments else []
    except ValueError:
        raise ValueError(f"bad ability distribution {spec!r}") from None
    if kind == "normal":
        mean, sd = values or [0.0, 1.0]
        if sd <= 0:
            raise ValueError("the normal distribution needs a positive sd")
        return rng.normal(mean, sd, candidates)
    if kind == "uniform":
        low, high = values or [-3.0, 3.0]
        if high <= low:
            raise ValueError("the uniform distribution needs low < high")
        return rng.uniform(low, high, candidates)
    raise ValueError(f"unknown ability distribution {spec!r}: use normal:MEAN,SD or uniform:LOW,HIGH")


def read(path: Path) -> Array:
    """One true ability per line (a header line and blank lines are skipped; a CSV takes the first column)."""
    values: list[float] = []
    for number, line in enumerate(path.read_text().splitlines(), start=1):
        field = line.split(",")[0].strip()
        if not field:
            continue
        try:
            values.append(float(field))
        except ValueError:
            if values or number > 1:
                raise ValueError(f"{path}:{number}: not a number: {field!r}") from None
    if not values:
        raise ValueError(f"{path} holds no abilities")
    array = np.array(values)
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{path} holds a value that is not finite")
    return array
