"""The open RTL flow: HGQ2 model -> Verilog (da4ml) -> cocotb/Verilator check -> Yosys counts.

Each step reads only OUT/ and returns a dict for one report.json section (``rtl``,
``rtl_sim``, ``open_synthesis``); none writes report.json, so a failing step never
costs the sections already there. :func:`update_report` merges one section atomically.
"""

from .emit import emit_rtl, read_rtl_meta
from .names import verilog_module_name
from .report_io import read_report, update_report
from .sim import simulate
from .synth import synthesize
from .tools import find_verilator, find_yosys, missing_tools, tool_env

__all__ = [
    "emit_rtl",
    "find_verilator",
    "find_yosys",
    "missing_tools",
    "read_report",
    "read_rtl_meta",
    "simulate",
    "synthesize",
    "tool_env",
    "update_report",
    "verilog_module_name",
]
