"""The shipped item bank: one JSON file per skill under `questions/bank/`."""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

from pydantic import TypeAdapter

from questions.items import Item

BANK_DIR = Path(__file__).with_name("bank")
_ITEMS = TypeAdapter(list[Item])


def load_bank_file(path: Path) -> list[Item]:
    return _ITEMS.validate_python(json.loads(path.read_text(encoding="utf-8")))


@cache
def load_bank(directory: Path = BANK_DIR) -> tuple[Item, ...]:
    return tuple(item for path in sorted(directory.glob("*.json")) for item in load_bank_file(path))
