"""The open RTL flow on real tools: da4ml -> cocotb on Verilator -> Yosys synth_xilinx.

The model is a tiny 8-8-4 HGQ2 MLP named ``small`` -- a Verilog keyword, so every test
that builds it also checks that module names are sanitized. Tests that need Verilator or
Yosys are skipped (with the reason) only when those tools are absent.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from fpgaml.compiler.errors import UserError
from fpgaml.compiler.rtl import emit_rtl, simulate, synthesize, update_report, verilog_module_name
from fpgaml.compiler.rtl.report_io import markdown_sections, read_report
from fpgaml.compiler.rtl.tools import missing_tools

_MISSING = missing_tools()
needs_tools = pytest.mark.skipif(bool(_MISSING), reason="open RTL flow tools absent: " + "; ".join(_MISSING))


def _tiny_mlp(name: str, table: bool = False):
    from fpgaml.compiler.examples import tiny_mlp
    from fpgaml.compiler.frontends.tensorflow_runtime import import_keras_quietly

    import_keras_quietly()
    return tiny_mlp(name, lookup_table=table)


@pytest.fixture(scope="module")
def small():
    from fpgaml.compiler.frontends.keras_model import wrap_keras_model

    return wrap_keras_model(_tiny_mlp("small"))


def test_module_names_are_plain_verilog_identifiers() -> None:
    assert verilog_module_name("small") == "small_nn"  # charge-strength keyword
    assert verilog_module_name("logic") == "logic_nn"  # SystemVerilog keyword
    assert verilog_module_name("mux") == "mux_nn"  # da4ml's own library module
    assert verilog_module_name("jet_tagger") == "jet_tagger"
    assert verilog_module_name("3-layer net") == "m_3_layer_net"
    assert verilog_module_name("---") == "model"


def test_unsupported_layer_names_the_layer(tmp_path: Path) -> None:
    from fpgaml.compiler.frontends.keras_model import wrap_keras_model
    from fpgaml.compiler.frontends.tensorflow_runtime import import_keras_quietly

    import_keras_quietly()
    import keras

    inp = keras.Input((4,))
    model = keras.Model(inp, keras.layers.Dense(2, name="plain_dense")(inp), name="float_mlp")
    with pytest.raises(UserError, match=r"layer 'plain_dense' of class Dense is not supported by da4ml"):
        emit_rtl(wrap_keras_model(model), tmp_path / "out", latency_cutoff=None, clock_period=None)


def test_update_report_merges_one_section_and_refuses_corrupt_json(tmp_path: Path) -> None:
    update_report(tmp_path, "rtl", {"top": "x"})
    update_report(tmp_path, "rtl_sim", {"mismatches": 0})
    assert read_report(tmp_path) == {"rtl": {"top": "x"}, "rtl_sim": {"mismatches": 0}}
    assert not [p for p in tmp_path.iterdir() if p.name != "report.json"]  # no temp files left
    (tmp_path / "report.json").write_text("{not json")
    with pytest.raises(UserError, match="not valid JSON"):
        update_report(tmp_path, "open_synthesis", {})
    assert (tmp_path / "report.json").read_text() == "{not json"


def test_sim_without_rtl_is_a_user_error(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="no RTL design found"):
        simulate(tmp_path, None, 10, 0)


@needs_tools
def test_small_pipelined_end_to_end(small, tmp_path: Path) -> None:
    out = tmp_path / "out"
    meta = emit_rtl(small, out, latency_cutoff=None, clock_period=4.0, pipeline_stages=2)
    assert meta["top"] == "small_nn" and (out / "rtl" / "src" / "small_nn_wrapper.v").is_file()
    assert meta["pipelined"] and meta["latency_cycles"] == meta["pipeline_stages"] + 1
    assert meta["inputs"]["elements"] == 8 and meta["outputs"]["elements"] == 4
    assert meta["da4ml"]["lut_estimate"] > 0
    update_report(out, "rtl", meta)

    sim = simulate(out, None, 256, seed=11)  # None: reload the model from OUT alone
    assert sim["n_vectors"] == 256 and sim["mismatches"] == 0, sim
    assert sim["simulator"] == "verilator" and sim["build_s"] > 0
    update_report(out, "rtl_sim", sim)

    syn = synthesize(out, "xcvu13p", timeout_s=300)
    assert syn["lut"] > 0 and syn["ff"] > 0 and syn["family"] == "xcup"
    assert syn["latency_cycles"] == meta["latency_cycles"] and syn["ii"] == 1
    report = update_report(out, "open_synthesis", syn)
    assert set(report) == {"rtl", "rtl_sim", "open_synthesis"}
    assert json.loads((out / "report.json").read_text()) == report
    assert "**bit-exact**" in "\n".join(markdown_sections(report))


@needs_tools
def test_combinational_with_lookup_table(tmp_path: Path) -> None:
    """No clock, and a ROM read by $readmemh: memory files must reach both tools' working dirs."""
    from fpgaml.compiler.frontends.keras_model import wrap_keras_model

    loaded = wrap_keras_model(_tiny_mlp("table_mlp", table=True))
    out = tmp_path / "out"
    meta = emit_rtl(loaded, out, latency_cutoff=None, clock_period=None)
    assert not meta["pipelined"] and meta["latency_cycles"] == 0
    assert list((out / "rtl" / "src" / "memfiles").glob("*.mem"))
    sim = simulate(out, loaded, 200, seed=5)
    assert sim["n_vectors"] == 200 and sim["mismatches"] == 0, sim
    syn = synthesize(out, "xc7z020", timeout_s=300)
    assert syn["lut"] > 0 and syn["ff"] == 0 and syn["family"] == "xc7"


@needs_tools
def test_corrupted_verilog_is_a_one_line_user_error(small, tmp_path: Path) -> None:
    out = tmp_path / "out"
    meta = emit_rtl(small, out, latency_cutoff=2, clock_period=None)
    update_report(out, "rtl", meta)
    before = (out / "report.json").read_text()
    stage0 = out / "rtl" / "src" / "small_nn_stage0.v"
    stage0.write_text(stage0.read_text().replace("endmodule", "this is not verilog;\nendmodule"))

    yosys_line = r"^Yosys could not synthesize small_nn .*rtl/src/small_nn_stage0\.v.*ERROR"
    with pytest.raises(UserError, match=yosys_line) as syn_err:
        synthesize(out, "xcvu13p", timeout_s=120)
    with pytest.raises(UserError, match=r"^Verilator could not build the RTL .*%Error.*small_nn_stage0\.v") as sim_err:
        simulate(out, small, 20, seed=0)
    for err in (syn_err, sim_err):
        assert "\n" not in str(err.value)
    assert (out / "report.json").read_text() == before  # failures never touch report.json


@needs_tools
def test_yosys_timeout_is_a_user_error(small, tmp_path: Path) -> None:
    out = tmp_path / "out"
    emit_rtl(small, out, latency_cutoff=None, clock_period=None)
    with pytest.raises(UserError, match=r"Yosys synth_xilinx did not finish within 0\.2 s"):
        synthesize(out, "xc7z020", timeout_s=0.2)
    shutil.rmtree(out)


@needs_tools
def test_cli_build_sim_synth_keeps_every_section(tmp_path: Path) -> None:
    """The user's path: `fpgaml build --flow rtl`, then `fpgaml sim`, then `fpgaml synth`."""
    from conftest import run_cli

    _tiny_mlp("small").save(tmp_path / "small.keras")
    out = tmp_path / "out"
    proc = run_cli("build", tmp_path / "small.keras", "--flow", "rtl", "--pipeline-stages", "2", "-o", out)
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("sim", out, "--vectors", "200")
    assert proc.returncode == 0, proc.stderr
    proc = run_cli("synth", out, "--part", "xczu7ev")
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["flow"] == "rtl" and report["model"]["n_params"] > 0 and report["rtl"]["top"] == "small_nn"
    assert report["rtl_sim"]["n_vectors"] == 200 and report["rtl_sim"]["mismatches"] == 0
    assert report["open_synthesis"]["lut"] > 0 and report["open_synthesis"]["latency_cycles"] == 3
    assert report["open_synthesis"]["family"] == "xcup"
    # the build's estimate is the open-flow surrogate's, for this very circuit
    estimate = report["estimate"]
    assert "open RTL flow, 2 stages" in estimate["config"]["strategy"], estimate
    lut, latency = estimate["estimates"]["lut"], estimate["estimates"]["latency_cycles"]
    assert latency["value"] == report["open_synthesis"]["latency_cycles"]
    assert lut["low"] <= report["open_synthesis"]["lut"] <= lut["high"]
    markdown = (out / "report.md").read_text()
    assert "**bit-exact**" in markdown and "Open synthesis" in markdown
    proc = run_cli("sim", tmp_path / "nowhere")
    assert proc.returncode == 2 and proc.stderr.startswith("error: ")
