"""fpgaml.datasets: synthesis-result records (wa-hls4ml's JSON format) and their loader.

``load(paths) -> DataFrame`` reads wa-hls4ml / fpgaml JSON records and the flattened
wa-hls4ml CSVs into one table; ``info(df) -> str`` says what that table covers. Importing
this package imports pandas (~0.3 s), so the CLI imports it inside the dataset commands only.
See datasets/README.md for the record schema, the columns and the data's licence.
"""

from __future__ import annotations

from .info import info
from .load import DatasetWarning, load
from .rows import COLUMNS, NUMERIC_COLUMNS, TEXT_COLUMNS
from .schema import (
    LABEL_SOURCES,
    MalformedRecord,
    Precision,
    Record,
    activation_name,
    normalize_record,
    parse_precision,
)

__all__ = [
    "COLUMNS",
    "DatasetWarning",
    "LABEL_SOURCES",
    "MalformedRecord",
    "NUMERIC_COLUMNS",
    "Precision",
    "Record",
    "TEXT_COLUMNS",
    "activation_name",
    "info",
    "load",
    "normalize_record",
    "parse_precision",
]
