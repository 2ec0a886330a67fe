"""Running an external tool with a time limit, its output in a log file, and no leftovers.

Verilator builds fork make and g++, and Yosys forks abc; killing only the direct child on a
timeout would leave those running. Each tool therefore starts in its own process group
(``start_new_session``), and that group -- only processes this call started -- is ended
on timeout or interrupt.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
from collections.abc import Sequence
from pathlib import Path


class TimedOut(Exception):
    """The tool ran past its time limit and was stopped."""


def _end_group(proc: subprocess.Popen) -> None:
    for sig, wait_s in ((signal.SIGTERM, 5.0), (signal.SIGKILL, 30.0)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


def run_logged(cmd: Sequence[str], *, cwd: Path, env: dict[str, str], timeout_s: float, log: Path) -> int:
    """Run ``cmd`` with stdout+stderr into ``log``; return its exit code or raise TimedOut."""
    with open(log, "wb") as out:
        proc = subprocess.Popen(
            list(cmd), cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        try:
            return proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            _end_group(proc)
            raise TimedOut from None
        except BaseException:
            _end_group(proc)
            raise


def first_line(path: Path, pattern: str, default: str) -> str:
    """The first line of a log matching ``pattern`` (stripped), for one-line error messages."""
    regex = re.compile(pattern)
    try:
        with open(path, errors="replace") as f:
            for line in f:
                if regex.search(line):
                    return " ".join(line.split())
    except OSError:
        pass
    return default
