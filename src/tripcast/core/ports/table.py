"""The tabular payload that flows through the ports.

The core never looks inside a table: it only counts rows and hands tables from one
port to the next. The shipped adapters use pandas DataFrames with the canonical
trip schema (``tripcast.data_engineering.tlc.schema``).
"""

from typing import Any, TypeAlias

Table: TypeAlias = Any
