"""``load()``: dataset files -> one pandas DataFrame, one row per synthesized design.

Other people's data is messy, and a 680,000-record load must not die on record 412,907:
missing report fields become NaN, a record that cannot be read is counted and described in
``df.attrs`` (and one summary warning), and only problems with the request itself (a path
that does not exist, a file that is neither JSON nor CSV) raise UserError.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pandas as pd

from ..compiler.errors import UserError
from .rows import COLUMNS, CSV_REQUIRED, NUMERIC_COLUMNS, TEXT_COLUMNS, csv_frame, record_row
from .schema import MalformedRecord, normalize_record
from .sources import data_kind, iter_json_values, open_text, resolve_paths, subset_and_split

_BATCH = 50_000  # rows held as Python objects before becoming a typed frame
_CSV_CHUNK = 200_000
MAX_WARNINGS = 100  # messages kept in df.attrs['warnings']; the count is always exact


class DatasetWarning(UserWarning):
    """Some records could not be read; the load went on without them."""


class _Problems:
    """Malformed-record count and the first MAX_WARNINGS messages."""

    def __init__(self) -> None:
        self.count = 0
        self.messages: list[str] = []

    def add(self, message: str, count: int = 1) -> None:
        self.count += count
        if len(self.messages) < MAX_WARNINGS:
            self.messages.append(message)


def load(path_or_glob: str | Path | list | tuple) -> pd.DataFrame:
    """Read wa-hls4ml / fpgaml JSON records and flattened wa-hls4ml CSVs into one table.

    *path_or_glob*: a file, a directory (searched recursively for .json, .jsonl, .csv, each
    optionally .gz), a glob ('data/**/*.json'), or a list of those. Columns are
    ``rows.COLUMNS`` (text as pandas strings, numbers as float64 with NaN for missing);
    see datasets/README.md for their meaning.

    ``df.attrs``: ``n_malformed`` (records skipped), ``warnings`` (what was wrong, first
    100), ``files`` ({path: rows read}). Raises UserError when a path does not exist or
    names no dataset files.
    """
    files = resolve_paths(path_or_glob)
    problems = _Problems()
    frames: list[pd.DataFrame] = []
    per_file: dict[str, int] = {}
    for path in files:
        before = sum(len(f) for f in frames)
        if data_kind(path) == "csv":
            frames.extend(_csv_frames(path, problems))
        else:
            frames.extend(_json_frames(path, problems))
        per_file[str(path)] = sum(len(f) for f in frames) - before
    df = pd.concat(frames, ignore_index=True) if frames else _typed(pd.DataFrame(columns=list(COLUMNS)))
    df.attrs.update(n_malformed=problems.count, warnings=problems.messages, files=per_file)
    if problems.count:
        warnings.warn(
            f"{problems.count} malformed record(s) skipped; first: {problems.messages[0]}",
            DatasetWarning,
            stacklevel=2,
        )
    return df


def _json_frames(path: Path, problems: _Problems) -> Iterator[pd.DataFrame]:
    subset, split = subset_and_split(path)
    rows: list[dict] = []
    index = 0
    for item in iter_json_values(path):
        if item.error is not None:
            problems.add(item.error)
            continue
        values = item.value if isinstance(item.value, list) else [item.value]  # JSONL of lists, too
        for value in values:
            try:
                rows.append(record_row(normalize_record(value), str(path), subset, split))
            except MalformedRecord as err:
                problems.add(f"{path}: record {index}: {err}")
            index += 1
            if len(rows) >= _BATCH:
                yield _typed(pd.DataFrame.from_records(rows, columns=list(COLUMNS)))
                rows = []
    if rows:
        yield _typed(pd.DataFrame.from_records(rows, columns=list(COLUMNS)))


def _csv_frames(path: Path, problems: _Problems) -> Iterator[pd.DataFrame]:
    subset, split = subset_and_split(path)
    try:
        with open_text(path) as fh:
            reader = pd.read_csv(fh, chunksize=_CSV_CHUNK, dtype={"model_name": str, "model_file": str,
                                                                  "model_string": str, "strategy": str})
            for i, chunk in enumerate(reader):
                if i == 0:
                    missing = [c for c in CSV_REQUIRED if c not in chunk.columns]
                    if missing:
                        raise UserError(f"{path}: not a flattened wa-hls4ml CSV (no column {', '.join(missing)})")
                bad = _unreadable_csv_rows(chunk)
                if bad.any():
                    for row_no in np.flatnonzero(bad)[:5]:
                        problems.add(f"{path}: row {i * _CSV_CHUNK + int(row_no) + 2}: non-numeric label or setting",
                                     count=0)
                    problems.count += int(bad.sum())
                    chunk = chunk[~bad]
                yield _typed(csv_frame(chunk, str(path), subset, split))
    except pd.errors.EmptyDataError:
        raise UserError(f"{path}: empty CSV file") from None
    except pd.errors.ParserError as err:
        raise UserError(f"{path}: not a readable CSV ({str(err).splitlines()[0]})") from None


def _unreadable_csv_rows(chunk: pd.DataFrame) -> np.ndarray:
    """Rows whose numbers are text (not merely empty): those are malformed, not missing."""
    bad = np.zeros(len(chunk), dtype=bool)
    for column in ("rf", "prec", "LUT_hls", "FF_hls", "DSP_hls", "BRAM_18K_hls", "BestLatency_hls"):
        values = chunk[column]
        coerced = pd.to_numeric(values, errors="coerce")
        bad |= (coerced.isna() & values.notna()).to_numpy()
    return bad


def _typed(df: pd.DataFrame) -> pd.DataFrame:
    """Fixed dtypes whatever the source, so frames concatenate without object columns."""
    for column in TEXT_COLUMNS:
        df[column] = df[column].astype("string")
    for column in NUMERIC_COLUMNS:
        df[column] = pd.to_numeric(df[column], errors="coerce").astype("float64")
    return df[list(COLUMNS)]
