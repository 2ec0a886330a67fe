"""``fpgaml dataset generate``: sample designs, label them in workers, append one JSON line each.

The parent process samples designs (numpy only), hands them to workers (a local process
pool, or Ray), and is the only writer of ``DIR/records.jsonl`` and ``DIR/failed.jsonl``.
Each line is flushed and fsync'ed as soon as its design finishes, so a run killed at any
moment loses at most the designs in flight:

- **Resumable.** On start the finished ids (records and failures) are read back and
  skipped; a torn last line (a kill mid-write) is cut off and that design is redone.
  Design i is a pure function of (space, seed, i) (space.py), so the rest is identical.
- **One failure is one line.** A design that raises, crashes its worker or runs past
  ``timeout_s`` is written to failed.jsonl with the reason, and the run goes on; a worker
  that overran is killed (with its tools) and replaced.

Run as ``python -m fpgaml.datasets.generate --n N --out DIR ...`` or through the CLI.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import shutil
import signal
import sys
import threading
import time
from collections.abc import Generator, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..compiler.errors import ToolMissing, UserError
from .design import LABELS
from .sources import GENERATOR_FAILURES
from .space import SPACES, DesignSpec, sample_design

RECORDS = "records.jsonl"
FAILED = GENERATOR_FAILURES
LOCK = ".lock"
WORK_DIR = ".work"  # hidden: load(DIR) skips it; per-design scratch, removed after each design
DEFAULT_TIMEOUT_S = 900.0

Outcome = tuple[DesignSpec, dict[str, Any]]


@dataclass
class Summary:
    """What a run did: designs written this run, skipped as already done, and where."""

    out: Path
    requested: int
    skipped: int = 0
    ok: int = 0
    failed: int = 0
    elapsed_s: float = 0.0
    errors: list[str] = field(default_factory=list)

    def line(self) -> str:
        rate = (self.ok + self.failed) / self.elapsed_s * 60 if self.elapsed_s > 0 else 0.0
        return (f"{self.ok} labelled, {self.failed} failed, {self.skipped} already done of {self.requested} "
                f"in {self.elapsed_s:.0f} s ({rate:.1f} designs/min) -> {self.out / RECORDS}")


# --- the two jsonl files ------------------------------------------------------------------


def repair_tail(path: Path) -> None:
    """Cut a torn last line (no trailing newline) left by a kill mid-write.

    Without this the next append would be glued onto the fragment and both lines lost.
    """
    if not path.exists():
        return
    with open(path, "rb+") as fh:
        size = fh.seek(0, os.SEEK_END)
        if size == 0:
            return
        fh.seek(size - 1)
        if fh.read(1) == b"\n":
            return
        fh.seek(0)
        data = fh.read()
        fh.truncate(data.rfind(b"\n") + 1)
        fh.flush()
        os.fsync(fh.fileno())


def _line_id(line: str) -> str | None:
    try:
        value = json.loads(line)
    except json.JSONDecodeError:
        return None
    if not isinstance(value, dict):
        return None
    meta = value.get("meta_data")
    if isinstance(meta, dict) and meta.get("uuid"):
        return str(meta["uuid"])
    return str(value["design_id"]) if value.get("design_id") else None


def finished_ids(out: Path) -> set[str]:
    """Ids already written to records.jsonl or failed.jsonl (after repairing torn tails)."""
    done: set[str] = set()
    for name in (RECORDS, FAILED):
        path = out / name
        repair_tail(path)
        if path.exists():
            with open(path, encoding="utf-8", errors="replace") as fh:
                done.update(i for i in map(_line_id, fh) if i is not None)
    return done


class JsonlAppender:
    """Append-only JSON Lines file; every line is on disk (fsync) before ``write`` returns."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fh = open(path, "a", encoding="utf-8")

    def write(self, value: dict[str, Any]) -> None:
        self._fh.write(json.dumps(value, separators=(",", ":"), allow_nan=False) + "\n")
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self._fh.close()


def failure_line(spec: DesignSpec, result: dict[str, Any], label: str) -> dict[str, Any]:
    return {"design_id": spec.design_id, "index": spec.index, "space": spec.space, "seed": spec.seed,
            "label": label, "error": result.get("error", "unknown error"), "elapsed_s": result.get("elapsed_s"),
            "traceback": result.get("traceback"), "design": spec.as_dict()}


# --- checks before any work ---------------------------------------------------------------


def check_label_tools(label: str) -> None:
    """Fail in one line before sampling anything when the label's tools are absent."""
    if label == "open":
        from ..compiler.rtl.tools import find_yosys

        find_yosys()
    elif label == "vivado":
        import shutil

        if not any(shutil.which(t) for t in ("vivado_hls", "vitis_hls", "vitis-run")):
            raise ToolMissing("--label vivado needs vivado_hls or vitis_hls/vitis-run on PATH "
                              "(source <Xilinx>/Vivado/<version>/settings64.sh); use --label open without it")
    else:
        raise UserError(f"unknown label '{label}'; expected one of {', '.join(LABELS)}")


def _check_args(n: int, space: str, workers: int, timeout_s: float) -> None:
    if n < 0:
        raise UserError(f"invalid --n {n}; expected 0 or more designs")
    if space not in SPACES:
        raise UserError(f"unknown design space '{space}'; expected one of {', '.join(SPACES)}")
    if workers < 1:
        raise UserError(f"invalid --workers {workers}; expected 1 or more")
    if not timeout_s > 0:
        raise UserError(f"invalid --timeout-s {timeout_s}; expected a positive number of seconds")


# --- the run ------------------------------------------------------------------------------


def generate(
    n: int,
    out: str | Path,
    *,
    space: str = "dense",
    workers: int = 1,
    ray_address: str | None = None,
    label: str = "open",
    seed: int = 0,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    progress: bool = True,
    designs: Iterable[DesignSpec] | None = None,
) -> Summary:
    """Label designs 0..n-1 of ``space`` under ``seed`` into ``out``/records.jsonl (resumable).

    ``workers`` is the local pool's size, or the CPUs of the cluster ``ray_address="local"``
    starts (a remote cluster runs as many designs at once as it has CPUs).
    ``designs`` replaces the sampled ones (tests inject designs that must fail). Raises
    UserError/ToolMissing before any work for bad arguments or a missing tool.
    """
    _check_args(n, space, workers, timeout_s)
    check_label_tools(label)
    if ray_address:
        from .parallel import require_ray

        require_ray()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    with _exclusive(out), _sigterm_exits():
        return _run(out, n, space, seed, designs, label, timeout_s, ray_address, workers, progress)


@contextlib.contextmanager
def _sigterm_exits() -> Iterator[None]:
    """Make `kill` unwind like Ctrl-C, so the pool's clean-up stops the workers and their Yosys.

    With Python's default SIGTERM the parent dies at once and its spawned workers live on as
    orphans, still writing into the scratch directory a restarted run is using (seen: a
    restarted run recorded a sound design as failed). Only the main thread can set handlers.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def _exclusive(out: Path) -> Iterator[None]:
    """Hold DIR/.lock for the run: two writers appending to one records.jsonl would interleave.

    flock is released by the kernel when the process dies, so a killed run never blocks its resume.
    """
    import fcntl

    with open(out / LOCK, "a") as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            raise UserError(f"{out}: another `dataset generate` run is writing here") from None
        yield


def _run(out: Path, n: int, space: str, seed: int, designs: Iterable[DesignSpec] | None, label: str,
         timeout_s: float, ray_address: str | None, workers: int, progress: bool) -> Summary:
    specs = list(designs) if designs is not None else [sample_design(seed, i, space) for i in range(n)]
    done = finished_ids(out)
    todo = [s for s in specs if s.design_id not in done]
    summary = Summary(out=out, requested=len(specs), skipped=len(specs) - len(todo))
    t0 = time.perf_counter()
    # One scratch directory per run: a design still running in an orphaned worker of a killed
    # run can then never share (or delete) the directory of the same design in this run.
    # Older ones belong to dead runs (this run holds the lock): their scratch goes.
    shutil.rmtree(out / WORK_DIR, ignore_errors=True)
    work_root = out / WORK_DIR / str(os.getpid())
    work_root.mkdir(parents=True, exist_ok=True)
    if ray_address:
        from .parallel import run_ray

        outcomes = run_ray(todo, label, str(work_root), timeout_s, ray_address, workers)
    else:
        from .parallel import run_local

        outcomes = run_local(todo, label, str(work_root), timeout_s, workers)
    try:
        _write_outcomes(outcomes, out, label, summary, len(todo), progress)
    finally:
        _remove_if_empty(work_root)
        _remove_if_empty(work_root.parent)
    summary.elapsed_s = time.perf_counter() - t0
    return summary


def _remove_if_empty(path: Path) -> None:
    try:
        path.rmdir()
    except OSError:
        pass  # not empty (another run shares DIR) or already gone


def _write_outcomes(outcomes: Generator[Outcome, None, None], out: Path, label: str, summary: Summary, total: int,
                    show: bool) -> None:
    records, failed = JsonlAppender(out / RECORDS), JsonlAppender(out / FAILED)
    try:
        # closing(): on Ctrl-C or SIGTERM the pool's clean-up (stopping workers) runs now, not at GC.
        with contextlib.closing(outcomes), _progress(total, show) as advance:
            for spec, result in outcomes:
                if result.get("ok"):
                    records.write(result["record"])
                    summary.ok += 1
                else:
                    failed.write(failure_line(spec, result, label))
                    summary.failed += 1
                    summary.errors.append(f"design {spec.index} ({spec.name}): {result.get('error')}")
                advance(summary.ok, summary.failed)
    finally:
        records.close()
        failed.close()


class _progress:
    """A rich progress bar with rate and ETA (stderr), or nothing when ``show`` is False."""

    def __init__(self, total: int, show: bool) -> None:
        self.total, self.show, self._bar = total, show, None

    def __enter__(self):
        if self.show and self.total:
            from rich.console import Console
            from rich.progress import (BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn,
                                       TimeRemainingColumn)

            self._bar = Progress(
                TextColumn("labelling"), BarColumn(), MofNCompleteColumn(),
                TextColumn("{task.fields[rate]}"), TextColumn("{task.fields[status]}"),
                TimeElapsedColumn(), TextColumn("ETA"), TimeRemainingColumn(),
                console=Console(stderr=True), transient=False,
                # Designs take seconds to minutes each; rich's default 30 s speed window made
                # the ETA swing by hours between bursts, so estimate from the last hour.
                speed_estimate_period=3600,
            )
            self._bar.start()
            self._task = self._bar.add_task("designs", total=self.total, rate="", status="")
            self._t0 = time.perf_counter()
        return self.advance

    def advance(self, ok: int, failed: int) -> None:
        if self._bar is None:
            return
        elapsed = time.perf_counter() - self._t0
        done = ok + failed
        self._bar.update(self._task, completed=done, rate=f"{done / elapsed * 60:.1f}/min",
                         status=f"ok {ok} failed {failed}")

    def __exit__(self, *exc: Any) -> None:
        if self._bar is not None:
            self._bar.stop()


# --- python -m fpgaml.datasets.generate ---------------------------------------------------


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="python -m fpgaml.datasets.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--n", type=int, required=True)
    p.add_argument("--out", type=Path, required=True)
    p.add_argument("--space", default="dense", choices=SPACES)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--ray-address", default=None)
    p.add_argument("--label", default="open", choices=LABELS)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--timeout-s", type=float, default=DEFAULT_TIMEOUT_S)
    p.add_argument("--no-progress", action="store_true")
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``python -m``: exit 2 with one line on UserError/ToolMissing, as the CLI does."""
    args = _parser().parse_args(argv)
    try:
        summary = generate(args.n, args.out, space=args.space, workers=args.workers, ray_address=args.ray_address,
                           label=args.label, seed=args.seed, timeout_s=args.timeout_s,
                           progress=not args.no_progress)
    except UserError as err:  # ToolMissing is a UserError
        print(f"error: {err}", file=sys.stderr)
        return 2
    print(summary.line(), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
