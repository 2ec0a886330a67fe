"""Run HLS C synthesis on an hls4ml project and read back its reports (``fpgaml build --synth``).

hls4ml already knows how to drive the Xilinx tools: ``ModelGraph.build()`` calls the
backend's ``build()``, which runs the project's ``build_prj.tcl`` with

* Vivado backend: ``vivado_hls -f build_prj.tcl "reset=.. csim=.. synth=.. ..."`` (via
  ``os.system``, exit status ignored), and
* Vitis backend: ``vitis-run --tcl build_prj.tcl --mode hls`` after writing the step
  switches to ``build_opt.tcl`` (non-zero exit raises a bare ``Exception``).

With ``vsynth`` the same Tcl script also runs ``vivado -mode batch -source
vivado_synth.tcl``, which writes ``<project>/vivado_synth.rpt`` (``report_utilization``).

We reuse that path rather than re-implementing it, so a project synthesised by fpgaml is
byte-for-byte what ``hls4ml`` users get. What we add is what a CLI needs on top: finding
the tool *before* starting (hls4ml only finds out inside ``build()``), a one-line error
naming the missing tool, a fallback for Vitis HLS releases that ship ``vitis_hls`` but not
``vitis-run`` (hls4ml 1.3 refuses those), and a strict, typed reading of the reports.

Reports (both HLS tools use the same layout, the one ``hls4ml.report`` reads)::

    <project>/project.tcl                                   project name + backend
    <project>/<name>_prj/vivado_hls.app | hls.app           list of solutions
    <project>/<name>_prj/solution1/syn/report/<top>_csynth.xml
    <project>/vivado_synth.rpt                              only after vsynth
"""

from __future__ import annotations

import contextlib
import io
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import ToolMissing, UserError

# Launchers per backend, in order of preference. hls4ml 1.3's Vitis backend only accepts
# ``vitis-run`` (Vitis 2023.2+); ``vitis_hls`` (Vitis HLS 2020.2-2024.2) runs the same
# legacy Tcl flow, so we accept it too and launch it ourselves.
HLS_TOOLS: dict[str, tuple[str, ...]] = {
    "vivado": ("vivado_hls",),
    "vitis": ("vitis-run", "vitis_hls"),
}

# How to get each launcher on PATH, for the ToolMissing message.
_INSTALL_HINTS: dict[str, str] = {
    "vivado": "'vivado_hls' (Vivado HLS, shipped up to Vivado 2020.1; source <Xilinx>/Vivado/<version>/settings64.sh)",
    "vitis": (
        "'vitis-run' (Vitis 2023.2+) or 'vitis_hls' (Vitis HLS 2020.2-2024.2); "
        "source <Xilinx>/Vitis/<version>/settings64.sh"
    ),
}

# Log files the tools leave in the project directory; named in errors so users know where to look.
_LOG_NAMES: tuple[str, ...] = ("build_stdout.log", "vitis_hls.log", "vivado_hls.log", "vivado.log")

# Elements every real csynth.xml has and that we (and hls4ml's parser) read.
_REQUIRED_XML_PATHS: tuple[str, ...] = (
    "UserAssignments/TargetClockPeriod",
    "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod",
    "PerformanceEstimates/SummaryOfOverallLatency/Best-caseLatency",
    "PerformanceEstimates/SummaryOfOverallLatency/Worst-caseLatency",
    "PerformanceEstimates/SummaryOfOverallLatency/Interval-min",
    "PerformanceEstimates/SummaryOfOverallLatency/Interval-max",
    "AreaEstimates/Resources/BRAM_18K",
    "AreaEstimates/Resources/FF",
    "AreaEstimates/Resources/LUT",
    "AreaEstimates/AvailableResources",
)

# What the HLS tools write when a latency depends on data (variable loop bounds).
_UNDEFINED = frozenset({"undef", "?", "-", ""})


@dataclass(frozen=True)
class ReportPaths:
    """Where one project's reports are; resolved once so every error can name the exact file."""

    project_dir: Path
    csynth_xml: Path
    vivado_synth_rpt: Path | None


# --------------------------------------------------------------------------------------
# Tool discovery
# --------------------------------------------------------------------------------------


def _normalise_backend(backend: str) -> str:
    """Accept 'Vivado'/'vitis' spellings alike; reject the rest early with the valid choices."""
    name = str(backend).strip().lower()
    if name not in HLS_TOOLS:
        raise UserError(f"unknown HLS backend {backend!r} for synthesis; expected one of: {', '.join(HLS_TOOLS)}")
    return name


def find_hls_tool(backend: str) -> str | None:
    """Return the full path of the HLS launcher for *backend*, or None if none is on PATH.

    Checked up front (hls4ml only checks inside ``build()``) so ``--synth`` can fail in a
    second with a useful message instead of after writing the project. For 'vitis' the
    ``vitis-run`` launcher wins over ``vitis_hls`` because it is what hls4ml itself calls.
    """
    for tool in HLS_TOOLS[_normalise_backend(backend)]:
        found = shutil.which(tool)
        if found:
            return found
    return None


def require_hls_tool(backend: str, *, vsynth: bool = False) -> str:
    """Return the HLS launcher for *backend*, or raise ToolMissing naming every missing tool.

    Meant to be called before any slow work (conversion, C simulation) so a machine without
    Vivado/Vitis fails ``--synth`` immediately; *vsynth* also requires ``vivado``.
    """
    backend = _normalise_backend(backend)
    tool = find_hls_tool(backend)
    vivado_missing = vsynth and shutil.which("vivado") is None
    if tool is None or vivado_missing:
        raise ToolMissing(_missing_tools_message(backend, tool is None, vivado_missing))
    return tool


def _missing_tools_message(backend: str, hls_missing: bool, vivado_missing: bool) -> str:
    """One line naming every missing tool and what to put on PATH (the CLI prints it verbatim)."""
    parts = []
    if hls_missing:
        parts.append(f"C synthesis with backend '{backend}' needs {_INSTALL_HINTS[backend]} on PATH")
    if vivado_missing:
        parts.append("post-synthesis (vsynth) needs 'vivado' on PATH (source <Xilinx>/Vivado/<version>/settings64.sh)")
    return "; ".join(parts)


# --------------------------------------------------------------------------------------
# Running synthesis
# --------------------------------------------------------------------------------------


def run_synthesis(model_graph: Any, project_dir: Path, backend: str, *, vsynth: bool = False) -> dict[str, Any]:
    """C-synthesise the hls4ml project in *project_dir* and return its parsed reports.

    *model_graph* is the hls4ml ``ModelGraph`` that wrote *project_dir*; synthesis goes
    through its ``build(csim=False, synth=True, ...)`` exactly as hls4ml users run it.
    C simulation is skipped: fpgaml checks numerics itself, before synthesis. With
    *vsynth* Vivado logic synthesis also runs and the result has a ``post_synth`` entry.

    Raises ToolMissing (before touching the project) when a needed tool is not on PATH,
    and UserError when the tool ran but produced no usable report.
    """
    backend = _normalise_backend(backend)
    project_dir = Path(project_dir)
    tool = require_hls_tool(backend, vsynth=vsynth)
    _check_graph_matches(model_graph, project_dir, backend)
    started = time.time()
    if Path(tool).stem == "vitis_hls":
        _run_vitis_hls(tool, project_dir, vsynth)
    else:
        _build_with_hls4ml(model_graph, project_dir, backend, vsynth)
    return _fresh_results(project_dir, started, vsynth)


def _written_since(path: Path, started: float) -> bool:
    """True if *path* was (re)written by this run; 2 s slack covers coarse filesystem timestamps."""
    return path.stat().st_mtime >= started - 2.0


def _fresh_results(project_dir: Path, started: float, vsynth: bool) -> dict[str, Any]:
    """Parse the reports, refusing ones left over from an earlier run.

    hls4ml's Vivado backend ignores vivado_hls's exit status, so a failed run can leave the
    previous design's csynth.xml in place; reporting it would describe the wrong design.
    A vivado_synth.rpt older than this run is dropped for the same reason.
    """
    paths = locate_reports(project_dir)
    if not _written_since(paths.csynth_xml, started):
        raise UserError(f"{paths.csynth_xml} was not rewritten by this run: C synthesis failed{_log_hint(project_dir)}")
    result = parse_synthesis_reports(project_dir)
    rpt = paths.vivado_synth_rpt
    rpt_fresh = rpt is not None and _written_since(rpt, started)
    if vsynth and not rpt_fresh:
        rpt_path = project_dir / "vivado_synth.rpt"
        raise UserError(f"{rpt_path} was not written: Vivado synthesis failed{_log_hint(project_dir)}")
    if not rpt_fresh:
        result.pop("post_synth", None)
    return result


def _check_graph_matches(model_graph: Any, project_dir: Path, backend: str) -> None:
    """Refuse to synthesise a graph for another backend or directory than the caller asked for.

    hls4ml builds wherever the graph's OutputDir points, with the graph's own backend; a
    silent mismatch would synthesise one project and report on another.
    """
    graph_dir = Path(model_graph.config.get_output_dir()).resolve()
    if graph_dir != project_dir.resolve():
        raise ValueError(f"model graph writes to {graph_dir}, not to the project dir {project_dir.resolve()}")
    graph_backend = model_graph.config.backend.name.lower()
    if graph_backend != backend:
        raise UserError(
            f"the project in {project_dir} was generated for backend '{graph_backend}', "
            f"not '{backend}'; convert again with backend '{backend}'"
        )


def _build_options(vsynth: bool) -> dict[str, bool]:
    """The build_prj.tcl step switches for ``--synth``: C synthesis only (plus vsynth on request)."""
    return {
        "reset": False,
        "csim": False,
        "synth": True,
        "cosim": False,
        "validation": False,
        "export": False,
        "vsynth": vsynth,
        "fifo_opt": False,
    }


def _build_with_hls4ml(model_graph: Any, project_dir: Path, backend: str, vsynth: bool) -> None:
    """Let hls4ml launch vivado_hls / vitis-run, turning its bare Exceptions into one-line UserErrors.

    Vitis output goes to build_stdout.log/build_stderr.log (hls4ml's own option) so a failure
    can point there; the Vivado backend has no such option and its tool output reaches the
    terminal directly. hls4ml's own Python prints (report-not-found chatter from the report
    it parses after building) are dropped: we parse the reports ourselves afterwards.
    """
    options: dict[str, bool] = _build_options(vsynth)
    if backend == "vitis":
        options["log_to_stdout"] = False
    try:
        with contextlib.redirect_stdout(io.StringIO()):
            model_graph.build(**options)
    except Exception as exc:  # hls4ml raises plain Exception for a failed tool run
        hint = _log_hint(project_dir)
        raise UserError(f"{backend} synthesis failed in {project_dir}: {_first_line(exc)}{hint}") from exc


def _run_vitis_hls(tool: str, project_dir: Path, vsynth: bool) -> None:
    """Run hls4ml's Vitis build script with the older ``vitis_hls -f`` launcher.

    Mirrors VitisBackend.build(): the step switches go to build_opt.tcl (sourced by
    build_prj.tcl) and the output to build_stdout.log / build_stderr.log.
    """
    options = _build_options(vsynth)
    lines = "".join(f"    {name:<10} {int(value)}\n" for name, value in options.items())
    (project_dir / "build_opt.tcl").write_text("array set opt {\n" + lines + "}\n")
    with open(project_dir / "build_stdout.log", "w") as out, open(project_dir / "build_stderr.log", "w") as err:
        status = subprocess.run(
            [tool, "-f", "build_prj.tcl"], check=False, cwd=project_dir, stdout=out, stderr=err
        ).returncode
    if status != 0:
        raise UserError(f"vitis_hls exited with status {status} in {project_dir}{_log_hint(project_dir)}")


def _first_line(exc: BaseException) -> str:
    """Keep error messages on one line even when a tool's message spans several."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _log_hint(project_dir: Path) -> str:
    """Point at the tool logs that exist, since the real cause is in there."""
    logs = [str(project_dir / name) for name in _LOG_NAMES if (project_dir / name).is_file()]
    return f" (see {', '.join(logs)})" if logs else ""


# --------------------------------------------------------------------------------------
# Locating the reports
# --------------------------------------------------------------------------------------


def _read_project_tcl(project_dir: Path) -> tuple[str, str]:
    """Return (project_name, backend) from hls4ml's project.tcl, the same source hls4ml.report uses."""
    tcl = project_dir / "project.tcl"
    if not tcl.is_file():
        raise UserError(f"{tcl} not found: {project_dir} is not an hls4ml project directory")
    text = tcl.read_text(errors="replace")
    values = {}
    for key in ("project_name", "backend"):
        match = re.search(rf'^\s*set\s+{key}\s+"([^"]+)"', text, flags=re.MULTILINE)
        if match is None:
            raise UserError(f"{tcl}: no 'set {key} \"...\"' line")
        values[key] = match.group(1)
    return values["project_name"], values["backend"]


def _solution_names(prj_dir: Path) -> list[str]:
    """Solutions listed in the HLS project file (vivado_hls.app for Vivado HLS, hls.app for Vitis HLS)."""
    app = next((prj_dir / name for name in ("vivado_hls.app", "hls.app") if (prj_dir / name).is_file()), None)
    if app is None:
        raise UserError(f"{prj_dir}: no vivado_hls.app or hls.app; C synthesis has not been run for this project")
    try:
        root = ET.parse(app).getroot()
    except ET.ParseError as exc:
        raise UserError(f"{app}: not valid XML ({exc})") from exc
    # The root is namespaced (AutoPilot:project) but the <solution> children are not.
    names = [sol.get("name", "") for sol in root.iter() if sol.tag.rsplit("}", 1)[-1] == "solution"]
    existing = [name for name in names if name and (prj_dir / name).is_dir()]
    if not existing:
        raise UserError(f"{app}: lists no solution directory that exists under {prj_dir}")
    return existing


def locate_reports(project_dir: Path) -> ReportPaths:
    """Find the C-synthesis report (and the optional Vivado one) the way hls4ml.report does.

    Same rules as ``hls4ml.report.parse_vivado_report`` (first listed solution, ``_axi``
    suffix for the accelerator backends), but every failure names the file that is missing.
    """
    project_dir = Path(project_dir)
    if not project_dir.is_dir():
        raise UserError(f"project directory {project_dir} does not exist")
    name, backend = _read_project_tcl(project_dir)
    top = name + "_axi" if "accelerator" in backend.lower() else name
    prj_dir = project_dir / f"{name}_prj"
    if not prj_dir.is_dir():
        raise UserError(f"{prj_dir} not found: C synthesis has not been run for {project_dir}{_log_hint(project_dir)}")
    solution = _solution_names(prj_dir)[0]
    csynth = prj_dir / solution / "syn" / "report" / f"{top}_csynth.xml"
    if not csynth.is_file():
        raise UserError(f"{csynth} not found: C synthesis did not finish{_log_hint(project_dir)}")
    rpt = project_dir / "vivado_synth.rpt"
    return ReportPaths(project_dir, csynth, rpt if rpt.is_file() else None)


# --------------------------------------------------------------------------------------
# Parsing
# --------------------------------------------------------------------------------------


def _check_csynth_xml(path: Path) -> None:
    """Fail with the file name and the exact problem before hls4ml's parser sees the file.

    hls4ml.report raises a bare ParseError (no file name) on truncated XML and an
    AttributeError on a missing element; users need to know which file is broken.
    """
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise UserError(f"{path}: not a valid C synthesis report, XML is malformed or truncated ({exc})") from exc
    missing = [p for p in _REQUIRED_XML_PATHS if root.find(p) is None]
    if root.find("AreaEstimates/Resources/DSP") is None and root.find("AreaEstimates/Resources/DSP48E") is None:
        missing.append("AreaEstimates/Resources/DSP (or DSP48E)")
    if missing:
        raise UserError(f"{path}: not a complete C synthesis report, missing <{missing[0]}>")


def _check_text(path: Path) -> None:
    """hls4ml reads vivado_synth.rpt as text; a binary/corrupt file would fail there without a file name."""
    try:
        path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise UserError(f"{path}: cannot be read as a text report ({exc})") from exc


def _hls4ml_report(project_dir: Path) -> dict[str, Any]:
    """Run hls4ml's own report parser, silencing its progress prints (they would pollute CLI output)."""
    from hls4ml.report import parse_vivado_report  # imported late: hls4ml is heavy and only needed here

    with contextlib.redirect_stdout(io.StringIO()):
        report = parse_vivado_report(str(project_dir))
    return report or {}


def _count(value: Any, what: str, path: Path, *, allow_undefined: bool = False) -> int | None:
    """Parse a report count; data-dependent latencies ('undef', '?') become None, other non-numbers are errors."""
    text = "" if value is None else str(value).strip()
    if allow_undefined and text.lower() in _UNDEFINED:
        return None
    if re.fullmatch(r"\d+(?:\.0*)?", text) is None:
        raise UserError(f"{path}: {what} is {text!r}, expected a whole non-negative number")
    return int(float(text))


def _period(value: Any, what: str, path: Path) -> float:
    """Parse a clock period in ns; the reports write it as a bare number ('4.352')."""
    try:
        return float(str(value).strip())
    except ValueError:
        raise UserError(f"{path}: {what} is {value!r}, expected a number of ns") from None


def _csynth_summary(csynth: dict[str, Any], path: Path) -> dict[str, Any]:
    """Turn hls4ml's string-valued CSynthesisReport into fpgaml's typed summary.

    hls4ml already renames Vivado HLS's ``DSP48E`` to ``DSP``; URAM is absent from old
    Vivado HLS reports, hence None rather than 0.
    """
    uram = csynth.get("URAM")
    return {
        "lut": _count(csynth.get("LUT"), "LUT", path),
        "ff": _count(csynth.get("FF"), "FF", path),
        "dsp": _count(csynth.get("DSP"), "DSP", path),
        "bram": _count(csynth.get("BRAM_18K"), "BRAM_18K", path),
        "uram": None if uram is None else _count(uram, "URAM", path),
        "latency_cycles_min": _count(csynth.get("BestLatency"), "Best-caseLatency", path, allow_undefined=True),
        "latency_cycles_max": _count(csynth.get("WorstLatency"), "Worst-caseLatency", path, allow_undefined=True),
        "ii_min": _count(csynth.get("IntervalMin"), "Interval-min", path, allow_undefined=True),
        "ii_max": _count(csynth.get("IntervalMax"), "Interval-max", path, allow_undefined=True),
        "clock_period_est": _period(csynth.get("EstimatedClockPeriod"), "EstimatedClockPeriod", path),
    }


def _post_synth_summary(vsynth: dict[str, Any], path: Path) -> dict[str, Any]:
    """Turn hls4ml's VivadoSynthReport into counts in the same units as the csynth summary.

    hls4ml stores the 'Block RAM Tile' count (36 Kb tiles, can be fractional like 0.5)
    under the key 'BRAM_18K'; we report 18 Kb blocks (2 x tiles) so ``bram`` means the
    same thing before and after Vivado synthesis. 7-series parts have no URAM row -> None.
    """
    rows = {
        "LUT": "'CLB LUTs' / 'Slice LUTs'",
        "FF": "'CLB Registers' / 'Slice Registers'",
        "BRAM_18K": "'Block RAM Tile'",
        "DSP48E": "'DSPs'",
    }
    for key, row in rows.items():
        if key not in vsynth:
            raise UserError(f"{path}: no {row} row in the utilization tables; not a report_utilization report?")
    uram = vsynth.get("URAM")
    return {
        "lut": _count(vsynth["LUT"], "CLB LUTs", path),
        "ff": _count(vsynth["FF"], "CLB Registers", path),
        "dsp": _count(vsynth["DSP48E"], "DSPs", path),
        "bram": _count(_times_two(vsynth["BRAM_18K"]), "Block RAM Tile x 2", path),
        "uram": None if uram is None else _count(uram, "URAM", path),
    }


def _times_two(text: Any) -> str:
    """Double a (possibly fractional) tile count, leaving non-numbers for _count to reject."""
    try:
        return repr(float(str(text).strip()) * 2)
    except ValueError:
        return str(text)


def parse_synthesis_reports(project_dir: Path) -> dict[str, Any]:
    """Read the synthesis results of the hls4ml project in *project_dir*.

    Returns ``lut, ff, dsp, bram`` (18 Kb blocks), ``uram`` (ints; uram None when the
    report has no URAM), ``latency_cycles_min/max`` and ``ii_min/max`` (ints, None when
    the tool could not bound them) and ``clock_period_est`` (ns, float) from the HLS
    C-synthesis report. When Vivado synthesis ran (``vivado_synth.rpt`` exists) the dict
    also has ``post_synth`` with ``lut, ff, dsp, bram, uram`` from that report.

    Values come from ``hls4ml.report.parse_vivado_report``; this function adds locating
    with exact error messages, validation, int/float conversion and consistent BRAM units.
    Missing or garbled reports raise UserError naming the file.
    """
    paths = locate_reports(project_dir)
    _check_csynth_xml(paths.csynth_xml)
    if paths.vivado_synth_rpt is not None:
        _check_text(paths.vivado_synth_rpt)
    try:
        raw = _hls4ml_report(paths.project_dir)
    except Exception as exc:  # validated input should not fail; if hls4ml still chokes, say where
        raise UserError(f"{paths.project_dir}: hls4ml.report could not read the reports ({_first_line(exc)})") from exc
    if "CSynthesisReport" not in raw:
        raise UserError(f"{paths.csynth_xml}: hls4ml.report found no C synthesis report here")
    result = _csynth_summary(raw["CSynthesisReport"], paths.csynth_xml)
    if paths.vivado_synth_rpt is not None:
        result["post_synth"] = _post_synth_summary(raw.get("VivadoSynthReport", {}), paths.vivado_synth_rpt)
    return result
