"""Simulated candidates' behaviour: how they answer and how long they take.

careful        answers by the item response model at their true ability, about 45 s a question
guesser        picks an option at random (one in four right), about 10 s a question
slow           answers like careful but takes about 150 s a question, so long tests run out of time
disconnecting  answers like careful; one question in ten their connection drops and they come back
               about 60 s later (the live mode really drops and resumes the session)
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np
from numpy.typing import NDArray

from adaptive.irt import Array


class Persona(IntEnum):
    CAREFUL = 0
    GUESSER = 1
    SLOW = 2
    DISCONNECTING = 3


@dataclass(frozen=True)
class Behaviour:
    guesses: bool
    median_seconds: float
    drop_probability: float = 0.0
    reconnect_seconds: float = 60.0


BEHAVIOUR = {
    Persona.CAREFUL: Behaviour(guesses=False, median_seconds=45.0),
    Persona.GUESSER: Behaviour(guesses=True, median_seconds=10.0),
    Persona.SLOW: Behaviour(guesses=False, median_seconds=150.0),
    Persona.DISCONNECTING: Behaviour(guesses=False, median_seconds=45.0, drop_probability=0.1),
}
GUESS_PROBABILITY = 0.25
_TIME_SPREAD = 0.35  # lognormal sigma of the time per question


def parse_mix(text: str) -> dict[Persona, float]:
    """ "careful=0.7,guesser=0.1,slow=0.1,disconnecting=0.1" (shares, normalised) -> {persona: share}."""
    shares: dict[Persona, float] = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        name, _, value = part.partition("=")
        try:
            persona = Persona[name.strip().upper()]
            share = float(value) if value else 1.0
        except (KeyError, ValueError):
            known = ", ".join(p.name.lower() for p in Persona)
            raise ValueError(f"bad persona share {part!r}: use name=share with names from {known}") from None
        if share < 0:
            raise ValueError(f"persona share must not be negative: {part!r}")
        shares[persona] = share
    total = sum(shares.values())
    if total <= 0:
        raise ValueError("persona shares must add up to more than zero")
    return {persona: share / total for persona, share in shares.items()}


def assign(mix: dict[Persona, float], candidates: int, rng: np.random.Generator) -> NDArray[np.int8]:
    personas = np.array(list(mix), dtype=np.int8)
    return rng.choice(personas, size=candidates, p=np.array(list(mix.values())))  # type: ignore[no-any-return]


def _column(personas: NDArray[np.int8], attribute: str) -> Array:
    return np.array([getattr(BEHAVIOUR[Persona(code)], attribute) for code in range(len(Persona))])[personas]


def answers(personas: NDArray[np.int8], p_correct: Array, rng: np.random.Generator) -> NDArray[np.bool_]:
    """Right or wrong per candidate, given each one's model probability of a right answer."""
    p = np.where(_column(personas, "guesses").astype(bool), GUESS_PROBABILITY, p_correct)
    return rng.random(p.shape) < p  # type: ignore[no-any-return]


def seconds_taken(personas: NDArray[np.int8], rng: np.random.Generator) -> tuple[Array, NDArray[np.bool_]]:
    """Time spent on one question per candidate (reconnection time included), and who dropped meanwhile."""
    spent = _column(personas, "median_seconds") * np.exp(_TIME_SPREAD * rng.standard_normal(personas.shape))
    dropped = rng.random(personas.shape) < _column(personas, "drop_probability")
    return spent + np.where(dropped, _column(personas, "reconnect_seconds"), 0.0), dropped
