"""``info()``: what a loaded dataset covers, as plain text.

A surrogate is only as good as the region its data covers (the shared wa-hls4ml CSVs, for
instance, hold only the Resource strategy at reuse factors 1024-4093), so the first thing to
print about a dataset is where it is dense and where it is empty.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .rows import NUMERIC_COLUMNS

#: Categorical columns counted, with the heading printed for each.
COUNTED = (
    ("subset", "subset"),
    ("label_source", "label source"),
    ("strategy", "strategy"),
    ("weight_bits", "weight precision (bits)"),
    ("precision", "default precision"),
    ("part", "part"),
    ("reuse_factor", "reuse factor"),
)
MAX_VALUES = 12  # per count table; the rest are summed into one line


def info(df: pd.DataFrame) -> str:
    """Counts per subset, label source, strategy, precision, part and reuse factor, then
    the range (non-missing count, min, median, max) of every numeric column."""
    n = len(df)
    n_bad = int(df.attrs.get("n_malformed", 0))
    files = df.attrs.get("files") or {}
    lines = [f"{n:,} records" + (f" from {len(files):,} file(s)" if files else "") + f", {n_bad:,} malformed"]
    for message in (df.attrs.get("warnings") or [])[:5]:
        lines.append(f"  ! {message}")
    if n == 0:
        return "\n".join(lines)
    for column, heading in COUNTED:
        lines += ["", *_counts(df[column], heading)]
    lines += ["", *_ranges(df)]
    return "\n".join(lines)


def _label(value: object) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _counts(series: pd.Series, heading: str) -> list[str]:
    counts = series.value_counts(dropna=False, sort=True)
    labels = ["(missing)" if pd.isna(v) else _label(v) for v in counts.index]
    shown = list(zip(labels, counts.to_numpy()))
    if len(shown) > MAX_VALUES:
        rest = sum(int(c) for _, c in shown[MAX_VALUES - 1:])
        shown = shown[: MAX_VALUES - 1] + [(f"({len(labels) - MAX_VALUES + 1} others)", rest)]
    width = max(len(heading), *(len(label) for label, _ in shown))
    total = max(int(counts.sum()), 1)
    out = [f"{heading:<{width}}  {'records':>9}  {'share':>6}"]
    out += [f"{label:<{width}}  {int(c):>9,}  {100 * int(c) / total:>5.1f}%" for label, c in shown]
    return out


def _ranges(df: pd.DataFrame) -> list[str]:
    rows = []
    for column in NUMERIC_COLUMNS:
        values = df[column].to_numpy(dtype=float)
        present = values[~np.isnan(values)]
        if present.size == 0:
            rows.append((column, "0", "", "", ""))
            continue
        rows.append((column, f"{present.size:,}", _num(present.min()), _num(float(np.median(present))),
                     _num(present.max())))
    width = max(len(r[0]) for r in rows)
    out = [f"{'column':<{width}}  {'present':>9}  {'min':>10}  {'median':>10}  {'max':>10}"]
    out += [f"{c:<{width}}  {p:>9}  {lo:>10}  {mid:>10}  {hi:>10}" for c, p, lo, mid, hi in rows]
    return out


def _num(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e10:
        return f"{int(value):,}"
    return f"{value:.4g}"
