"""Open logic synthesis of OUT/rtl/ with Yosys ``synth_xilinx``: LUT/FF/carry/DSP counts without Vivado.

The core module (not the port-padding wrapper) is synthesized out of context -- flattened,
without I/O or clock buffers -- like a block that will sit inside a larger design. Yosys's
LUT mapping is not Vivado's, so the counts are an open, reproducible reference rather than
a sign-off number; they sit next to da4ml's own estimate in the report.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import time
from pathlib import Path
from typing import Any

from ..errors import UserError
from ..parts import resolve_part
from ._proc import TimedOut, first_line, run_logged
from .emit import read_rtl_meta, rtl_dir
from .tools import find_yosys, tool_env

SYNTH_DIR = "open_synthesis"

# Cell name -> (report key, weight). A LUT-based shift register (SRL) or inverter occupies
# one LUT, as Vivado counts them; BRAM is counted in 18K blocks like parts.py's totals.
_CELL_RULES: tuple[tuple[str, str, int], ...] = (
    (r"LUT[1-6]|INV|SRL16E?|SRLC16E|SRLC32E", "lut", 1),
    (r"FD[A-Z0-9_]*", "ff", 1),
    (r"CARRY4|CARRY8", "carry", 1),
    (r"DSP48E1|DSP48E2|DSP48A1|DSP48", "dsp", 1),
    (r"RAMB18E1|RAMB18E2|RAMB18", "bram", 1),
    (r"RAMB36E1|RAMB36E2|RAMB36", "bram", 2),
    (r"MUXF7|MUXF8|MUXF9", "muxf", 1),
)


def count_cells(cells: dict[str, int]) -> dict[str, int]:
    """Fold Yosys's cell counts into the report's resource columns."""
    totals = {"lut": 0, "ff": 0, "carry": 0, "dsp": 0, "bram": 0, "muxf": 0}
    for name, count in cells.items():
        for pattern, key, weight in _CELL_RULES:
            if re.fullmatch(pattern, name):
                totals[key] += int(count) * weight
                break
    return totals


def parse_stat_json(text: str, top: str) -> dict[str, int]:
    """Cell counts from ``stat -json``: the design total, else the top module's."""
    data = json.loads(text)
    if "design" in data and "num_cells_by_type" in data["design"]:
        return dict(data["design"]["num_cells_by_type"])
    modules = data.get("modules", {})
    mod = modules.get(f"\\{top}") or modules.get(top)
    if mod is None:
        raise ValueError(f"module {top} not in stat output")
    return dict(mod["num_cells_by_type"])


def parse_stat_text(text: str) -> dict[str, int]:
    """Cell counts from plain ``stat`` (for a Yosys without ``-json``): the last block of
    ``Number of cells`` followed by indented ``NAME  COUNT`` lines."""
    blocks = re.split(r"Number of cells:\s+\d+\n", text)
    if len(blocks) < 2:
        raise ValueError("no 'Number of cells' in stat output")
    cells: dict[str, int] = {}
    for line in blocks[-1].splitlines():
        match = re.fullmatch(r"\s+\$?([A-Za-z_][\w$]*)\s+(\d+)\s*", line)
        if not match:
            break
        cells[match.group(1)] = int(match.group(2))
    return cells


def _script(meta: dict[str, Any], family: str, rtl_rel: str) -> str:
    """The Yosys script, run in OUT/open_synthesis/. Paths are relative to it: Yosys 0.23 keeps
    quotes as part of a file name, so a quoted absolute path with spaces cannot be written."""
    files = " ".join(f"{rtl_rel}/{f}" for f in meta["files"] if not f.endswith("_wrapper.v"))
    # -defer: elaborate modules only as instantiated. Without it Yosys 0.23 evaluates
    # lookup_table.v's default $readmemh("whatever.mem") at parse time and stops.
    return "\n".join([
        f"read_verilog -defer {files}",
        f"hierarchy -top {meta['top']}",
        # Workaround, Yosys 0.23 + da4ml 0.6.0: lookup_table.v marks its asynchronous-read ROM
        # (* rom_style = "distributed" *), for which Yosys 0.23's memory_libmap finds no Xilinx
        # mapping and stops ("no valid mapping found for memory"). Without the attribute the
        # ROM becomes LUT logic, which is what Vivado makes of tables this small.
        "setattr -unset rom_style",
        f"synth_xilinx -family {family} -top {meta['top']} -flatten -noiopad -noclkbuf",
        "tee -q -o stat.json stat -json",
        "tee -q -o stat.txt stat",
        "",
    ])


def synthesize(out_dir: Path, part: str, timeout_s: float) -> dict[str, Any]:
    """Run Yosys synth_xilinx on OUT/rtl/ for ``part``'s family; returns the ``open_synthesis`` section.

    Yosys failing (e.g. on corrupted Verilog) or running past ``timeout_s`` raises a
    one-line UserError; report.json is not touched.
    """
    if not timeout_s > 0:
        raise UserError(f"invalid synthesis timeout {timeout_s}; expected a positive number of seconds")
    out_dir = Path(out_dir)
    meta = read_rtl_meta(out_dir)
    full_part, info = resolve_part(part)
    env = tool_env(verilator=False, yosys=True)
    yosys = find_yosys()
    work = out_dir / SYNTH_DIR
    work.mkdir(parents=True, exist_ok=True)
    stat_json, stat_txt, log = work / "stat.json", work / "stat.txt", work / "yosys.log"
    for stale in (stat_json, stat_txt):
        stale.unlink(missing_ok=True)
    for mem in (rtl_dir(out_dir) / "src" / "memfiles").glob("*"):
        shutil.copy(mem, work / mem.name)  # $readmemh paths are relative to Yosys's cwd
    script = work / "synth.ys"
    rtl_rel = os.path.relpath(rtl_dir(out_dir), work)
    script.write_text(_script(meta, info.family, rtl_rel))

    t0 = time.perf_counter()
    try:
        rc = run_logged([str(yosys.exe), "-q", "-l", log.name, "-s", script.name], cwd=work,
                        env=env, timeout_s=timeout_s, log=work / "yosys.stdout")
    except TimedOut:
        raise UserError(
            f"Yosys synth_xilinx did not finish within {timeout_s:g} s for {meta['top']} "
            f"(da4ml estimates {meta['da4ml']['lut_estimate']:.0f} LUTs); allow it more time"
        ) from None
    synth_s = time.perf_counter() - t0
    if rc != 0 or not stat_json.exists():
        err = first_line(log, r"ERROR", first_line(work / "yosys.stdout", r"\S", f"exit code {rc}"))
        err = err.replace(f"{rtl_rel}/", "rtl/")  # name files as they sit in OUT
        raise UserError(f"Yosys could not synthesize {meta['top']} in {out_dir}: {err}")
    try:
        cells = parse_stat_json(stat_json.read_text(), meta["top"])
    except (ValueError, KeyError):
        try:
            cells = parse_stat_text(stat_txt.read_text())
        except (OSError, ValueError) as err:
            raise UserError(f"cannot read Yosys's cell statistics in {work}: {err}") from None
    return {
        "tool": "yosys synth_xilinx",
        "version": yosys.version,
        "part": full_part,
        "family": info.family,
        **count_cells(cells),
        "latency_cycles": int(meta["latency_cycles"]),
        "ii": int(meta["ii"]),
        "synth_s": round(synth_s, 3),
    }
