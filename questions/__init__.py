"""The embedded question source: a shipped item bank plus parametric item families.

A pure library: no Ray, no database and no LangGraph inside, so the live graph, the REST layer,
the CLI and the simulator can all use it directly.
"""

from questions.items import Item, Option
from questions.source import QuestionSource

__all__ = ["Item", "Option", "QuestionSource"]
