"""Tests for fpgaml.compiler.synthesis: report parsing, tool discovery and the synthesis driver.

No Vivado/Vitis is needed: reports come from hand-written fixtures in the tools' real
formats (tests/fixtures/reports/README.md), and the driver tests put tiny fake
``vivado_hls`` / ``vitis-run`` / ``vitis_hls`` scripts on PATH that drop those fixtures
into the project, so the real hls4ml ``ModelGraph.build`` code path is exercised.
"""

from __future__ import annotations

import os
import shutil
import stat
import time
from pathlib import Path

import numpy as np
import pytest

from fpgaml.compiler.errors import ToolMissing, UserError
from fpgaml.compiler.synthesis import find_hls_tool, parse_synthesis_reports, require_hls_tool, run_synthesis

FIXTURES = Path(__file__).parent / "fixtures" / "reports"
CSYNTH = Path("myproject_prj") / "solution1" / "syn" / "report" / "myproject_csynth.xml"
CSYNTH_KEYS = {
    "lut", "ff", "dsp", "bram", "uram",
    "latency_cycles_min", "latency_cycles_max", "ii_min", "ii_max", "clock_period_est",
}  # fmt: skip

VIVADO_HLS_CSYNTH = {
    "lut": 24117, "ff": 4633, "dsp": 37, "bram": 0, "uram": 0,
    "latency_cycles_min": 9, "latency_cycles_max": 9, "ii_min": 1, "ii_max": 1,
    "clock_period_est": 4.352,
}  # fmt: skip
VIVADO_HLS_POST = {"lut": 16902, "ff": 3998, "dsp": 37, "bram": 0, "uram": None}

VITIS_HLS_CSYNTH = {
    "lut": 14203, "ff": 11876, "dsp": 33, "bram": 27, "uram": 0,
    "latency_cycles_min": 173, "latency_cycles_max": 175, "ii_min": 65, "ii_max": 67,
    "clock_period_est": 3.841,
}  # fmt: skip
VITIS_HLS_POST = {"lut": 11542, "ff": 10321, "dsp": 33, "bram": 27, "uram": 0}


def copy_fixture(name: str, dest: Path) -> Path:
    """Copy a fixture project so a test can damage it without touching the originals."""
    target = dest / name
    shutil.copytree(FIXTURES / name, target)
    return target


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new))


def assert_one_line_naming(exc: pytest.ExceptionInfo, *fragments: str) -> None:
    message = str(exc.value)
    assert "\n" not in message
    for fragment in fragments:
        assert fragment in message


# --------------------------------------------------------------------------------------
# parse_synthesis_reports on the fixtures
# --------------------------------------------------------------------------------------


def test_vivado_hls_fixture_exact_numbers() -> None:
    report = parse_synthesis_reports(FIXTURES / "vivado_hls")
    assert report == {**VIVADO_HLS_CSYNTH, "post_synth": VIVADO_HLS_POST}
    assert all(type(report[key]) is int for key in CSYNTH_KEYS - {"clock_period_est"})
    assert type(report["clock_period_est"]) is float


def test_vitis_hls_fixture_exact_numbers() -> None:
    report = parse_synthesis_reports(FIXTURES / "vitis_hls")
    # bram after Vivado: 'Block RAM Tile' 13.5 (36 Kb tiles) -> 27 18 Kb blocks, the csynth unit.
    assert report == {**VITIS_HLS_CSYNTH, "post_synth": VITIS_HLS_POST}


@pytest.mark.parametrize("name", ["vivado_hls", "vitis_hls"])
def test_without_vivado_synth_rpt_only_csynth_keys(name: str, tmp_path: Path) -> None:
    project = copy_fixture(name, tmp_path)
    (project / "vivado_synth.rpt").unlink()
    assert set(parse_synthesis_reports(project)) == CSYNTH_KEYS


def test_data_dependent_latency_is_none(tmp_path: Path) -> None:
    project = copy_fixture("vitis_hls", tmp_path)
    xml = project / CSYNTH
    for tag, value in [("Best-caseLatency", "173"), ("Worst-caseLatency", "175"),
                       ("Interval-min", "65"), ("Interval-max", "67")]:  # fmt: skip
        edit(xml, f"<{tag}>{value}</{tag}>", f"<{tag}>undef</{tag}>")
    report = parse_synthesis_reports(project)
    assert report["latency_cycles_min"] is None and report["latency_cycles_max"] is None
    assert report["ii_min"] is None and report["ii_max"] is None
    assert report["lut"] == 14203


# --------------------------------------------------------------------------------------
# Broken or missing reports -> one-line UserError naming the file
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize("damage", ["truncated", "empty", "not_xml"])
def test_garbled_csynth_xml_names_the_file(damage: str, tmp_path: Path) -> None:
    project = copy_fixture("vivado_hls", tmp_path)
    xml = project / CSYNTH
    text = xml.read_text()
    xml.write_text({"truncated": text[: len(text) // 2], "empty": "", "not_xml": "ERROR: [HLS 200-70] abort\n"}[damage])
    with pytest.raises(UserError) as exc:
        parse_synthesis_reports(project)
    assert_one_line_naming(exc, "myproject_csynth.xml", "malformed or truncated")


def test_missing_element_is_named(tmp_path: Path) -> None:
    project = copy_fixture("vitis_hls", tmp_path)
    edit(project / CSYNTH, "<Interval-max>67</Interval-max>", "")
    with pytest.raises(UserError) as exc:
        parse_synthesis_reports(project)
    assert_one_line_naming(exc, "myproject_csynth.xml", "Interval-max")


def test_non_numeric_resource_is_named(tmp_path: Path) -> None:
    project = copy_fixture("vivado_hls", tmp_path)
    edit(project / CSYNTH, "<LUT>24117</LUT>", "<LUT>lots</LUT>")
    with pytest.raises(UserError) as exc:
        parse_synthesis_reports(project)
    assert_one_line_naming(exc, "myproject_csynth.xml", "LUT", "'lots'")


def test_missing_csynth_report(tmp_path: Path) -> None:
    project = copy_fixture("vivado_hls", tmp_path)
    (project / CSYNTH).unlink()
    with pytest.raises(UserError) as exc:
        parse_synthesis_reports(project)
    assert_one_line_naming(exc, "myproject_csynth.xml", "not found")


def test_not_an_hls4ml_project(tmp_path: Path) -> None:
    with pytest.raises(UserError) as exc:
        parse_synthesis_reports(tmp_path)
    assert_one_line_naming(exc, "project.tcl")


def test_missing_project_file_lists_app(tmp_path: Path) -> None:
    project = copy_fixture("vitis_hls", tmp_path)
    (project / "myproject_prj" / "hls.app").unlink()
    with pytest.raises(UserError) as exc:
        parse_synthesis_reports(project)
    assert_one_line_naming(exc, "hls.app")


@pytest.mark.parametrize("name", ["vivado_hls", "vitis_hls"])
def test_truncated_vivado_synth_rpt_names_the_file(name: str, tmp_path: Path) -> None:
    project = copy_fixture(name, tmp_path)
    rpt = project / "vivado_synth.rpt"
    rpt.write_text(rpt.read_text()[:600])  # header and table of contents only
    with pytest.raises(UserError) as exc:
        parse_synthesis_reports(project)
    assert_one_line_naming(exc, "vivado_synth.rpt", "LUTs")


# --------------------------------------------------------------------------------------
# Tool discovery
# --------------------------------------------------------------------------------------


def make_tool(bin_dir: Path, name: str, body: str = "exit 0") -> Path:
    """Write an executable shell script standing in for a Xilinx launcher."""
    bin_dir.mkdir(exist_ok=True)
    tool = bin_dir / name
    tool.write_text("#!/bin/sh\n" + body + "\n")
    tool.chmod(tool.stat().st_mode | stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    return tool


@pytest.fixture
def bin_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """PATH = an empty directory (plus /usr/bin:/bin for the fake tools' cp/grep): results independent of the host."""
    path = tmp_path / "bin"
    path.mkdir()
    monkeypatch.setenv("PATH", f"{path}{os.pathsep}/usr/bin{os.pathsep}/bin")
    return path


@pytest.mark.parametrize("backend", ["vivado", "vitis", "Vitis"])
def test_find_hls_tool_none_without_tools(backend: str, bin_dir: Path) -> None:
    assert find_hls_tool(backend) is None


def test_find_hls_tool_none_on_this_machine() -> None:
    """No Xilinx tools are installed on the development machine; skip on hosts that have them."""
    if shutil.which("vivado_hls") or shutil.which("vitis-run") or shutil.which("vitis_hls"):
        pytest.skip("Xilinx HLS tools are installed here")
    assert find_hls_tool("vivado") is None
    assert find_hls_tool("vitis") is None


def test_find_hls_tool_prefers_vitis_run(bin_dir: Path) -> None:
    make_tool(bin_dir, "vitis_hls")
    assert find_hls_tool("vitis") == str(bin_dir / "vitis_hls")
    make_tool(bin_dir, "vitis-run")
    assert find_hls_tool("vitis") == str(bin_dir / "vitis-run")
    assert find_hls_tool("vivado") is None
    make_tool(bin_dir, "vivado_hls")
    assert find_hls_tool("vivado") == str(bin_dir / "vivado_hls")


def test_require_hls_tool(bin_dir: Path) -> None:
    with pytest.raises(ToolMissing) as exc:
        require_hls_tool("vitis", vsynth=True)
    assert_one_line_naming(exc, "vitis-run", "vitis_hls", "'vivado'")
    make_tool(bin_dir, "vitis_hls")
    assert require_hls_tool("vitis") == str(bin_dir / "vitis_hls")


def test_find_hls_tool_unknown_backend() -> None:
    with pytest.raises(UserError) as exc:
        find_hls_tool("quartus")
    assert_one_line_naming(exc, "quartus", "vivado", "vitis")


# --------------------------------------------------------------------------------------
# run_synthesis
# --------------------------------------------------------------------------------------


@pytest.mark.parametrize(("backend", "names"), [("vivado", ["vivado_hls"]), ("vitis", ["vitis-run", "vitis_hls"])])
def test_run_synthesis_without_tool_raises_tool_missing(
    backend: str, names: list[str], bin_dir: Path, tmp_path: Path
) -> None:
    # The tool check comes first, so no model graph is needed to reach it.
    with pytest.raises(ToolMissing) as exc:
        run_synthesis(object(), tmp_path / "prj", backend)
    assert_one_line_naming(exc, *names, "PATH")
    assert not (tmp_path / "prj").exists()


def test_run_synthesis_vsynth_needs_vivado(bin_dir: Path, tmp_path: Path) -> None:
    make_tool(bin_dir, "vivado_hls")
    with pytest.raises(ToolMissing) as exc:
        run_synthesis(object(), tmp_path / "prj", "vivado", vsynth=True)
    assert_one_line_naming(exc, "'vivado'", "vsynth")
    assert "vivado_hls" not in str(exc.value)


def tiny_graph(backend: str, output_dir: Path):
    """A real (one Dense layer) hls4ml ModelGraph whose project dir already exists.

    The directory holds the fixture's project.tcl so ModelGraph.build() skips write()
    (slow, and irrelevant here) and goes straight to the backend's tool launch.
    """
    from hls4ml.model.graph import ModelGraph

    output_dir.mkdir()
    fixture = "vivado_hls" if backend == "Vivado" else "vitis_hls"
    shutil.copy(FIXTURES / fixture / "project.tcl", output_dir / "project.tcl")
    config = {
        "Backend": backend, "OutputDir": str(output_dir), "ProjectName": "myproject",
        "Part": "xc7z020clg400-1", "ClockPeriod": 5, "IOType": "io_parallel",
        "HLSConfig": {"Model": {"Precision": "ap_fixed<16,6>", "ReuseFactor": 1, "Strategy": "Latency"}},
    }  # fmt: skip
    layers = [
        {"class_name": "InputLayer", "name": "fc1_input", "input_shape": [2]},
        {"class_name": "Dense", "name": "fc1", "inputs": ["fc1_input"], "n_in": 2, "n_out": 1,
         "weight_data": np.ones((2, 1)), "bias_data": np.zeros(1)},
    ]  # fmt: skip
    return ModelGraph.from_layer_list(config, layers)


def fake_vivado_hls(bin_dir: Path) -> None:
    """hls4ml runs: vivado_hls -f build_prj.tcl "reset=False csim=False synth=True ... vsynth=.." in the project dir."""
    fixture = FIXTURES / "vivado_hls"
    make_tool(
        bin_dir,
        "vivado_hls",
        f"""
case " $* " in *" -f build_prj.tcl"*" csim=False"*" synth=True"*) ;; *) echo "bad args: $*" >&2; exit 2;; esac
cp -r "{fixture}/myproject_prj" .
case " $* " in *" vsynth=True"*) cp "{fixture}/vivado_synth.rpt" . ;; esac""",
    )


def fake_vitis(bin_dir: Path, name: str, status: int = 0) -> None:
    """hls4ml writes the step switches to build_opt.tcl, then runs: vitis-run --tcl build_prj.tcl --mode hls."""
    fixture = FIXTURES / "vitis_hls"
    make_tool(
        bin_dir,
        name,
        f"""
grep -Eq '^ *csim +0$' build_opt.tcl && grep -Eq '^ *synth +1$' build_opt.tcl || exit 3
echo "fake {name} $*"
[ {status} -eq 0 ] || exit {status}
cp -r "{fixture}/myproject_prj" .
grep -Eq '^ *vsynth +1$' build_opt.tcl && cp "{fixture}/vivado_synth.rpt" .
exit 0""",
    )


@pytest.mark.parametrize("vsynth", [False, True])
def test_run_synthesis_vivado_through_hls4ml(vsynth: bool, bin_dir: Path, tmp_path: Path) -> None:
    fake_vivado_hls(bin_dir)
    if vsynth:
        make_tool(bin_dir, "vivado")
    project = tmp_path / "prj"
    report = run_synthesis(tiny_graph("Vivado", project), project, "vivado", vsynth=vsynth)
    expected = {**VIVADO_HLS_CSYNTH, "post_synth": VIVADO_HLS_POST} if vsynth else VIVADO_HLS_CSYNTH
    assert report == expected


@pytest.mark.parametrize("launcher", ["vitis-run", "vitis_hls"])
def test_run_synthesis_vitis(launcher: str, bin_dir: Path, tmp_path: Path) -> None:
    """vitis-run goes through hls4ml's VitisBackend.build; vitis_hls through our fallback, same build_opt.tcl."""
    fake_vitis(bin_dir, launcher)
    make_tool(bin_dir, "vivado")
    project = tmp_path / "prj"
    report = run_synthesis(tiny_graph("Vitis", project), project, "vitis", vsynth=True)
    assert report == {**VITIS_HLS_CSYNTH, "post_synth": VITIS_HLS_POST}
    assert f"fake {launcher}" in (project / "build_stdout.log").read_text()


@pytest.mark.parametrize("launcher", ["vitis-run", "vitis_hls"])
def test_run_synthesis_tool_failure_points_to_log(launcher: str, bin_dir: Path, tmp_path: Path) -> None:
    fake_vitis(bin_dir, launcher, status=1)
    project = tmp_path / "prj"
    with pytest.raises(UserError) as exc:
        run_synthesis(tiny_graph("Vitis", project), project, "vitis")
    assert_one_line_naming(exc, "build_stdout.log")


def test_run_synthesis_rejects_stale_report(bin_dir: Path, tmp_path: Path) -> None:
    """hls4ml ignores vivado_hls's exit status; a report from an earlier run must not be passed off as new."""
    make_tool(bin_dir, "vivado_hls", "exit 1")
    project = tmp_path / "prj"
    graph = tiny_graph("Vivado", project)
    shutil.copytree(FIXTURES / "vivado_hls" / "myproject_prj", project / "myproject_prj")
    old = time.time() - 3600
    os.utime(project / CSYNTH, (old, old))
    with pytest.raises(UserError) as exc:
        run_synthesis(graph, project, "vivado")
    assert_one_line_naming(exc, "myproject_csynth.xml", "not rewritten")


def test_run_synthesis_backend_mismatch(bin_dir: Path, tmp_path: Path) -> None:
    fake_vitis(bin_dir, "vitis-run")
    project = tmp_path / "prj"
    with pytest.raises(UserError) as exc:
        run_synthesis(tiny_graph("Vivado", project), project, "vitis")
    assert_one_line_naming(exc, "'vivado'", "'vitis'")
