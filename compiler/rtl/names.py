"""Verilog module names that every tool in the flow accepts.

da4ml 0.6.0 uses the project name verbatim as the top module name (and as the prefix of
``<name>_stageN`` and ``<name>_wrapper``), without checking it. Keras model names are free
text, so a model called ``small`` produces ``module small (`` -- and ``small`` is a Verilog
charge-strength keyword: Verilator stops with "syntax error, unexpected STRENGTH keyword".
A name that collides with one of da4ml's own library modules (``mux``, ``binop``...) would
silently redefine it. So the name is derived here, once, and everything else reads it from
the RTL metadata.
"""

from __future__ import annotations

import re

# IEEE 1800-2017 keywords (a superset of IEEE 1364-2005). Verilator parses .v files as
# SystemVerilog by default, so SystemVerilog-only words (logic, class, int...) count too.
SYSTEMVERILOG_KEYWORDS = frozenset(
    """
    accept_on alias always always_comb always_ff always_latch and assert assign assume automatic
    before begin bind bins binsof bit break buf bufif0 bufif1 byte case casex casez cell chandle
    checker class clocking cmos config const constraint context continue cover covergroup
    coverpoint cross deassign default defparam design disable dist do edge else end endcase
    endchecker endclass endclocking endconfig endfunction endgenerate endgroup endinterface
    endmodule endpackage endprimitive endprogram endproperty endspecify endsequence endtable
    endtask enum event eventually expect export extends extern final first_match for force
    foreach forever fork forkjoin function generate genvar global highz0 highz1 if iff ifnone
    ignore_bins illegal_bins implements implies import incdir include initial inout input inside
    instance int integer interconnect interface intersect join join_any join_none large let
    liblist library local localparam logic longint macromodule matches medium modport module
    nand negedge nettype new nexttime nmos nor noshowcancelled not notif0 notif1 null or output
    package packed parameter pmos posedge primitive priority program property protected pull0
    pull1 pulldown pullup pulsestyle_ondetect pulsestyle_onevent pure rand randc randcase
    randsequence rcmos real realtime ref reg reject_on release repeat restrict return rnmos rpmos
    rtran rtranif0 rtranif1 s_always s_eventually s_nexttime s_until s_until_with scalared
    sequence shortint shortreal showcancelled signed small soft solve specify specparam static
    string strong strong0 strong1 struct super supply0 supply1 sync_accept_on sync_reject_on
    table tagged task this throughout time timeprecision timeunit tran tranif0 tranif1 tri tri0
    tri1 triand trior trireg type typedef union unique unique0 unsigned until until_with untyped
    use uwire var vectored virtual void wait wait_order wand weak weak0 weak1 while wildcard wire
    with within wor xnor xor
    """.split()
)

# Modules da4ml 0.6.0 copies into src/static/ for every design.
DA4ML_LIBRARY_MODULES = frozenset({"binop", "lookup_table", "multiplier", "mux", "negative", "shift_adder"})

_RESERVED = SYSTEMVERILOG_KEYWORDS | DA4ML_LIBRARY_MODULES
_MAX_LEN = 48  # leaves room for "_wrapper"/"_stageNN" and Verilator's generated C++ names


def verilog_module_name(model_name: str) -> str:
    """A plain Verilog identifier for ``model_name`` that is no keyword and no da4ml module.

    Deterministic, so re-emitting the same model gives the same file names. A reserved
    word gets ``_nn`` appended (``small`` -> ``small_nn``) rather than a prefix, so the
    name still sorts and reads like the model's own.
    """
    name = re.sub(r"[^A-Za-z0-9_]+", "_", model_name).strip("_") or "model"
    if name[0].isdigit():
        name = f"m_{name}"
    name = name[:_MAX_LEN].rstrip("_")
    if name.lower() in _RESERVED:
        name = f"{name}_nn"
    return name
