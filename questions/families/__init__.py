"""Parametric item families: templates that produce unlimited fresh variants, each with a computed key.

`FAMILIES` holds one instance of every family; `FAMILIES_BY_NAME` indexes them by `name` (the prefix of
their item ids, "<name>-<seed>").
"""

from __future__ import annotations

from questions.families.base import ItemFamily
from questions.families.binary_search_steps import BinarySearchStepsFamily
from questions.families.chmod_octal import ChmodOctalFamily, ChmodUmaskFamily
from questions.families.descriptive_stats import DescriptiveStatsFamily
from questions.families.http_status import HttpStatusAdvancedFamily, HttpStatusCommonFamily
from questions.families.loop_complexity import LoopComplexityFamily
from questions.families.number_base import NumberBaseFamily
from questions.families.python_trace import PythonTraceBasicFamily, PythonTraceNestedFamily
from questions.families.regex_match import RegexMatchFamily
from questions.families.sql_row_count import SqlJoinRowCountFamily, SqlRowCountFamily

FAMILIES: tuple[ItemFamily, ...] = (
    PythonTraceBasicFamily(),
    PythonTraceNestedFamily(),
    SqlRowCountFamily(),
    SqlJoinRowCountFamily(),
    LoopComplexityFamily(),
    NumberBaseFamily(),
    HttpStatusCommonFamily(),
    HttpStatusAdvancedFamily(),
    RegexMatchFamily(),
    ChmodOctalFamily(),
    ChmodUmaskFamily(),
    DescriptiveStatsFamily(),
    BinarySearchStepsFamily(),
)

FAMILIES_BY_NAME: dict[str, ItemFamily] = {family.name: family for family in FAMILIES}

__all__ = ["FAMILIES", "FAMILIES_BY_NAME", "ItemFamily"]
