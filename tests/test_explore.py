"""Design-space exploration: the surrogate sweep, its bookkeeping (percentages, fits, Pareto),
the plot, the CLI command's input checks, and one real build of the best Pareto design."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from typer.testing import CliRunner

from fpgaml.compiler.errors import UserError
from fpgaml.compiler.explore import RESOURCES, explore, pareto_mask, validate, write_pareto_png
from fpgaml.compiler.parts import PARTS

RFS = [1, 2, 4, 8, 16, 32, 64]


@pytest.fixture(scope="module")
def jet_tagger():
    import fpgaml

    return fpgaml.example("jet_tagger")


@pytest.fixture(scope="module")
def sweep(jet_tagger):
    return explore(jet_tagger, reuse_factor=RFS, strategy="latency", part="xcu250")


def test_one_row_per_configuration_with_intervals(sweep):
    assert len(sweep) == 7
    assert sweep["reuse_factor"].tolist() == RFS
    for t in ("lut", "ff", "dsp", "bram", "latency_cycles", "ii"):
        assert (sweep[f"{t}_low"] <= sweep[t]).all() and (sweep[t] <= sweep[f"{t}_high"]).all(), t
    assert sweep["ood"].dtype == bool and sweep["ood_reason"].map(lambda r: isinstance(r, str)).all()


def test_percentages_follow_the_part_totals(sweep):
    part = PARTS["xcu250"]
    for target, field in RESOURCES.items():
        total = getattr(part, field)
        np.testing.assert_allclose(sweep[f"{target}_pct"], 100 * sweep[target] / total)
        np.testing.assert_allclose(sweep[f"{target}_pct_high"], 100 * sweep[f"{target}_high"] / total)
    np.testing.assert_allclose(sweep["resource_pct"], sweep[[f"{t}_pct" for t in RESOURCES]].max(axis=1))
    assert sweep.attrs["fit_on"] == "high"
    assert (sweep["fits"] == (sweep["resource_pct_high"] <= 100)).all()


def test_pareto_rows_exist_and_are_not_dominated(sweep):
    front = sweep[sweep["pareto"]]
    assert len(front) >= 1
    for _, row in front.iterrows():
        dominated = ((sweep["resource_pct"] <= row["resource_pct"]) & (sweep["latency_cycles"] <= row["latency_cycles"])
                     & ((sweep["resource_pct"] < row["resource_pct"]) | (sweep["latency_cycles"] < row["latency_cycles"])))
        assert not dominated.any()


def test_pareto_mask_definition():
    cost = np.array([1.0, 2.0, 2.0, 3.0, np.nan, 1.0])
    latency = np.array([10.0, 5.0, 6.0, 5.0, 1.0, 10.0])
    # (2,6) is dominated by (2,5); (3,5) by (2,5); NaN never on the front; equal points both kept.
    assert pareto_mask(cost, latency).tolist() == [True, True, False, False, False, True]


def test_reuse_factor_trends_the_surrogate_predicts(sweep):
    # jet_tagger under the latency strategy: more reuse -> fewer multipliers (DSPs, and LUTs while
    # multipliers dominate; at high RF the input muxes grow back), more cycles, II = RF.
    assert (np.diff(sweep["dsp"]) <= 0).all() and sweep["dsp"].iloc[0] > 2 * sweep["dsp"].iloc[-1]
    small_rf = sweep[sweep["reuse_factor"] <= 8]
    assert (np.diff(small_rf["lut"]) < 0).all() and sweep["lut"].iloc[-1] < sweep["lut"].iloc[0] / 2
    assert (np.diff(sweep["latency_cycles"]) > 0).all()
    assert sweep["ii"].tolist() == [float(rf) for rf in RFS]
    # A 16-bit dense net maps multiplications to DSPs, so DSPs fall with reuse.
    dense = explore("16-64-32-32-5", reuse_factor=RFS, precision="ap_fixed<16,6>", part="xcu250")
    assert (np.diff(dense["dsp"]) <= 0).all() and dense["dsp"].iloc[0] > dense["dsp"].iloc[-1]


def test_invalid_reuse_factor_is_a_row_not_a_crash(jet_tagger):
    # hls4ml's resource strategy needs RF to divide the layer sizes; 3 does not (16x64 -> 1, 2, 4, ...).
    df = explore(jet_tagger, reuse_factor=[1, 3], strategy="resource", part="xcu250")
    bad = df[df["reuse_factor"] == 3].iloc[0]
    assert np.isnan(bad["lut"]) and "not valid" in bad["ood_reason"]
    assert not bad["fits"] and not bad["pareto"]
    with pytest.raises(UserError, match="could not price any"):
        explore(jet_tagger, reuse_factor=[3], strategy="resource", part="xcu250")
    with pytest.raises(UserError, match="unknown strategy"):
        explore(jet_tagger, reuse_factor=[1], strategy="fastest")


def test_png_is_written_and_valid(sweep, tmp_path):
    path = write_pareto_png(sweep, tmp_path / "pareto.png", "xcu250")
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    assert 600 <= width <= 3000 and 400 <= height <= 3000
    assert 20_000 < len(data) < 2_000_000


def _call(tmp_path, **overrides):
    from fpgaml.explore_cli import explore_command

    args = dict(model="16-64-32-32-5", example=None, reuse_factor="1,2", precision=None, strategy="latency",
                part="xcu250", io=None, clock_period=None, fit_on="high", out=tmp_path / "ex", validate_k=0,
                force=False)
    args.update(overrides)
    return explore_command(**args)


@pytest.mark.parametrize("overrides, message", [
    ({"model": None}, "exactly one of MODEL or --example"),
    ({"example": "jet_tagger"}, "exactly one of MODEL or --example"),
    ({"reuse_factor": "1,x"}, "invalid --reuse-factor"),
    ({"reuse_factor": "0"}, "invalid --reuse-factor"),
    ({"precision": ["ap_fixed<16,6>,ap_fixed<8,3>"]}, "separate them with ';'"),
    ({"strategy": "fastest"}, "unknown strategy"),
    ({"part": "xc9999"}, "unknown part"),
    ({"validate_k": -1}, "invalid --validate"),
])
def test_cli_bad_input_raises_user_error(tmp_path, overrides, message):
    with pytest.raises(UserError, match=message):
        _call(tmp_path, **overrides)


def test_cli_writes_csv_and_png_and_needs_force(tmp_path):
    import typer

    from fpgaml.explore_cli import explore_command

    app = typer.Typer()
    app.command("explore")(explore_command)
    app.command("other")(lambda: None)  # two commands, so "explore" is addressed by name as in fpgaml's app
    out = tmp_path / "ex"
    args = ["explore", "16-64-32-32-5", "--reuse-factor", "1,2,4", "--strategy", "latency,resource",
            "--precision", "ap_fixed<16,6>;ap_fixed<8,3>", "--part", "xczu7ev", "--out", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    assert (out / "explore.csv").read_text().count("\n") == 1 + 12
    assert (out / "pareto.png").stat().st_size > 20_000
    assert "Pareto-optimal" in result.output
    again = CliRunner().invoke(app, args)
    assert isinstance(again.exception, UserError) and "--force" in str(again.exception)
    assert CliRunner().invoke(app, [*args, "--force"]).exit_code == 0


def test_validate_builds_the_best_pareto_design(tmp_path):
    import fpgaml
    from fpgaml.compiler.rtl import missing_tools

    model = fpgaml.example("tiny_mlp")
    df = explore(model, reuse_factor=[1, 2], part="xcu250")
    checked = validate(model, df, 1, tmp_path / "val")
    assert len(checked) == 1
    row = checked.iloc[0]
    assert bool(row["csim_bit_exact"]) is True and row["csim_n_samples"] == 1000
    best = df[df["pareto"]].sort_values("latency_cycles").iloc[0]  # fastest fitting Pareto design goes first
    assert row["reuse_factor"] == best["reuse_factor"] and row["pred_lut"] == best["lut"]
    assert "C-sim" in row["measured_by"]
    if not missing_tools(verilator=False, yosys=True):
        assert row["open_lut"] > 0 and "da4ml" in row["open_tool"]
    with pytest.raises(UserError, match="invalid k"):
        validate(model, df, 0, tmp_path / "val2")
