"""Merging one section into OUT/report.json without ever leaving a half-written file.

The RTL steps (emit, simulate, synthesize) each run on their own, possibly long after the
build, and any of them can fail; whatever the earlier steps recorded must survive. So a
section is merged into the existing report and the result replaces the old file in one
``os.replace`` (atomic on POSIX within one directory).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..errors import UserError

REPORT_NAME = "report.json"


def _default_mode() -> int:
    """0o666 less the umask: what a plain open() would have given (mkstemp uses 0o600)."""
    umask = os.umask(0)
    os.umask(umask)
    return 0o666 & ~umask


def read_report(out_dir: Path) -> dict[str, Any]:
    """The report as a dict ({} when there is none yet); a corrupt one is refused, not replaced."""
    path = Path(out_dir) / REPORT_NAME
    if not path.exists():
        return {}
    try:
        report = json.loads(path.read_text())
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise UserError(f"{path}: not valid JSON ({err}); not overwriting it") from None
    if not isinstance(report, dict):
        raise UserError(f"{path}: expected a JSON object, found {type(report).__name__}; not overwriting it")
    return report


def update_report(out_dir: Path, section: str, data: dict[str, Any]) -> dict[str, Any]:
    """Set ``report[section] = data`` in OUT/report.json (created if absent); returns the new report."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    report = read_report(out_dir)
    report[section] = data
    target = out_dir / REPORT_NAME
    fd, tmp = tempfile.mkstemp(prefix=f".{REPORT_NAME}.", suffix=".tmp", dir=out_dir)
    try:
        os.chmod(tmp, target.stat().st_mode & 0o777 if target.exists() else _default_mode())
        with os.fdopen(fd, "w") as f:
            json.dump(report, f, indent=2)
            f.write("\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return report


def markdown_sections(report: dict[str, Any]) -> list[str]:
    """report.md lines for the RTL sections present (rtl, rtl_sim, open_synthesis), for the
    report writer to append; kept here so the markdown follows the dicts these steps return."""
    lines: list[str] = []
    rtl = report.get("rtl")
    if rtl:
        est = rtl["da4ml"]
        timing = "combinational" if not rtl["pipelined"] else (
            f"{rtl['pipeline_stages']} stages, latency {rtl['latency_cycles']} cycles, II {rtl['ii']}")
        lines += ["## RTL (da4ml)", "",
                  f"Top module `{rtl['top']}` (port wrapper `{rtl['wrapper']}`), {timing}. "
                  f"Input {rtl['inputs']['elements']} x {rtl['inputs']['slot_type']}, output "
                  f"{rtl['outputs']['elements']} x {rtl['outputs']['slot_type']}. da4ml {est['version']} estimate: "
                  f"{est['lut_estimate']:.0f} LUTs, {est['ff_estimate']} FFs.", ""]
    sim = report.get("rtl_sim")
    if sim:
        verdict = "**bit-exact**" if sim["mismatches"] == 0 else f"**{sim['mismatches']} mismatching vectors**"
        lines += ["## RTL simulation", "",
                  f"{sim['n_vectors']} vectors on {sim['simulator']} {sim['simulator_version']}: {verdict} "
                  f"(build {sim['build_s']:.1f} s, run {sim['run_s']:.1f} s).", ""]
    syn = report.get("open_synthesis")
    if syn:
        cols = ["lut", "ff", "carry", "muxf", "dsp", "bram", "latency_cycles", "ii", "synth_s"]
        lines += [f"## Open synthesis ({syn['tool']} {syn['version']}, {syn['part']})", "",
                  "| " + " | ".join(cols) + " |", "|" + "---|" * len(cols),
                  "| " + " | ".join(str(syn[c]) for c in cols) + " |", ""]
    return lines
