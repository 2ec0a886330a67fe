"""Finding dataset files and reading JSON records from them one at a time.

wa-hls4ml ships each split/subset as one JSON list (``train_3layer_merged.json`` is 1.9 GB),
so records are decoded one by one from a bounded text buffer instead of ``json.load`` on the
whole file: memory stays proportional to one record, not to the file.
"""

from __future__ import annotations

import glob
import gzip
import io
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from ..compiler.errors import UserError

JSON_SUFFIXES = (".json", ".jsonl", ".ndjson")
CSV_SUFFIXES = (".csv",)
_SPLITS = ("train", "test", "val", "validation", "exemplar")
_CHUNK = 1 << 20  # characters read at a time; records are ~10-30 kB


def data_kind(path: Path) -> str | None:
    """'json', 'csv' or None from the file name (a trailing .gz is looked through)."""
    name = path.name.lower()
    if name.endswith(".gz"):
        name = name[:-3]
    if name.endswith(JSON_SUFFIXES):
        return "json"
    if name.endswith(CSV_SUFFIXES):
        return "csv"
    return None


def resolve_paths(spec: str | Path | list | tuple) -> list[Path]:
    """Files named by a path, directory (searched recursively), glob, or a list of those.

    Order is sorted and stable so that row order, and anything seeded from it, is too.
    Raises UserError for a path that does not exist, a glob or directory with no data
    files, or a named file that is neither JSON nor CSV.
    """
    specs = list(spec) if isinstance(spec, (list, tuple)) else [spec]
    if not specs:
        raise UserError("no dataset path given")
    files: list[Path] = []
    for item in specs:
        files.extend(_resolve_one(item))
    return list(dict.fromkeys(files))  # a file named twice (a glob and its folder) loads once


#: ``dataset generate``'s log of failed designs: beside the records, but not records itself, so
#: a directory of generated data loads without it (naming the file still reads it).
GENERATOR_FAILURES = "failed.jsonl"


def _resolve_one(item: str | Path) -> list[Path]:
    path = Path(item).expanduser()
    if path.is_file():
        if data_kind(path) is None:
            raise UserError(f"{path}: not a dataset file (expected .json, .jsonl or .csv, optionally .gz)")
        return [path]
    if path.is_dir():
        found = sorted(
            p for p in path.rglob("*")
            if p.is_file() and data_kind(p) is not None and p.name != GENERATOR_FAILURES
            and not any(part.startswith(".") for part in p.relative_to(path).parts)  # .ipynb_checkpoints, ...
        )
        if not found:
            raise UserError(f"{path}: directory holds no .json, .jsonl or .csv files")
        return found
    text = str(item)
    if any(ch in text for ch in "*?["):
        found = sorted(Path(p) for p in glob.glob(str(Path(text).expanduser()), recursive=True))
        found = [p for p in found if p.is_file() and data_kind(p) is not None]
        if not found:
            raise UserError(f"{text}: no .json, .jsonl or .csv files match")
        return found
    raise UserError(f"{path}: no such file or directory")


def open_text(path: Path) -> TextIO:
    """Open a possibly gzipped file as UTF-8 text."""
    if path.name.lower().endswith(".gz"):
        return io.TextIOWrapper(gzip.open(path, "rb"), encoding="utf-8")
    return open(path, encoding="utf-8")


@dataclass
class JsonItem:
    """One top-level value of a JSON file: a record candidate, or why it could not be read."""

    value: Any = None
    error: str | None = None


def iter_json_values(path: Path) -> Iterator[JsonItem]:
    """Yield each record-level JSON value of *path*, decoding one at a time.

    Understands a JSON list of records, a single record, and JSON Lines (several values
    one after another). A syntax error ends the file with one error item (what follows
    it cannot be found reliably); records before it are kept. A gzip or encoding error is
    reported the same way.
    """
    decoder = json.JSONDecoder()
    try:
        with open_text(path) as fh:
            yield from _decode_stream(fh, decoder, path)
    except (OSError, EOFError, UnicodeDecodeError) as err:
        yield JsonItem(error=f"{path}: unreadable ({type(err).__name__}: {err})")


def _decode_stream(fh: TextIO, decoder: json.JSONDecoder, path: Path) -> Iterator[JsonItem]:
    buf, pos, eof, consumed = "", 0, False, 0
    in_list = False
    started = False

    def fill(min_extra: int) -> bool:
        nonlocal buf, pos, eof, consumed
        if eof:
            return False
        chunk = fh.read(max(_CHUNK, min_extra))
        if not chunk:
            eof = True
            return False
        consumed += pos
        buf = buf[pos:] + chunk
        pos = 0
        return True

    def skip_ws() -> bool:
        """Advance past whitespace; False at end of input."""
        nonlocal pos
        while True:
            m = _WS.match(buf, pos)
            pos = m.end()
            if pos < len(buf):
                return True
            if not fill(0):
                return False

    while True:
        if not skip_ws():
            if in_list:
                yield JsonItem(error=f"{path}: truncated JSON list (no closing ']')")
            elif not started:
                yield JsonItem(error=f"{path}: empty file")  # what a run that died before writing leaves
            return
        ch = buf[pos]
        if not started:
            started = True
            if ch == "[":
                in_list = True
                pos += 1
                if not skip_ws():
                    yield JsonItem(error=f"{path}: truncated JSON list (no closing ']')")
                    return
                if buf[pos] == "]":
                    return
        elif in_list:
            if ch == "]":
                return
            if ch != ",":
                yield JsonItem(error=f"{path}: JSON syntax error at character {consumed + pos}: expected ',' or ']'")
                return
            pos += 1
            if not skip_ws():
                yield JsonItem(error=f"{path}: truncated JSON list (no closing ']')")
                return
        # Decode one value; if it runs off the end of the buffer, read more (doubling, so a
        # large record costs O(size) re-parsing overall) and try again.
        while True:
            try:
                value, end = decoder.raw_decode(buf, pos)
                break
            except json.JSONDecodeError as err:
                at_end = err.msg.startswith("Unterminated string") or err.pos >= len(buf.rstrip())
                if (at_end or err.pos >= len(buf) - 64) and fill(len(buf)):
                    continue
                if at_end:
                    reason = "truncated JSON (file ends inside a record)"
                else:
                    reason = f"JSON syntax error at character {consumed + err.pos}: {err.msg}"
                yield JsonItem(error=f"{path}: {reason}")
                return
        pos = end
        yield JsonItem(value=value)


_WS = re.compile(r"[ \t\n\r]*")


def subset_and_split(path: Path) -> tuple[str, str | None]:
    """Subset and split from a file name, as wa-hls4ml names its files.

    ``train_3layer_merged.json`` -> ('3layer', 'train'); ``test_2_20_merged.json.gz`` ->
    ('2_20', 'test'); ``wahls4ml_2layer_sample.csv`` -> ('2layer', None); a file in a
    folder named train/ val/ test/ exemplar/ takes that split.
    """
    name = path.name
    for suffix in (".gz", ".json", ".jsonl", ".ndjson", ".csv"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    split = None
    for candidate in _SPLITS:
        if name.lower().startswith(candidate + "_"):
            split, name = candidate, name[len(candidate) + 1:]
            break
    if split is None and path.parent.name.lower() in _SPLITS:
        split = path.parent.name.lower()
    if split == "validation":
        split = "val"
    name = re.sub(r"^(wa[-_]?hls4ml)[-_]", "", name, flags=re.IGNORECASE)
    name = re.sub(r"_(merged|sample)$", "", name, flags=re.IGNORECASE)
    if _ID_LIKE.match(name) and path.parent.name:
        # one record per file, named by its uuid: the folder names the subset
        parent = path.parent.name.lower() if path.parent.name.lower() not in _SPLITS else path.parent.parent.name
        name = parent or name
    return (name or path.stem), split


_ID_LIKE = re.compile(r"^[0-9a-fA-F]{8}(-?[0-9a-fA-F]{4}){3}-?[0-9a-fA-F]{12}$")
