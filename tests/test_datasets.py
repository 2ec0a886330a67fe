"""fpgaml.datasets: the wa-hls4ml record format, the loader and info().

Record fixtures are hand-written in the real format (tests/fixtures/wahls4ml/README.md);
the shared CSVs are the real public data and are read in place, never copied.
"""

from __future__ import annotations

import gzip
import json
import math
import shutil
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from fpgaml.compiler.errors import UserError
from fpgaml.datasets import (
    COLUMNS,
    NUMERIC_COLUMNS,
    TEXT_COLUMNS,
    DatasetWarning,
    MalformedRecord,
    Precision,
    info,
    load,
    normalize_record,
    parse_precision,
)
from fpgaml.datasets import sources

from conftest import FIXTURES, run_cli

WAHLS4ML = FIXTURES / "wahls4ml"
SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "data"
SHARED_ROWS = {"wahls4ml_conv2d.csv": 42, "wahls4ml_3layer.csv": 10_001, "wahls4ml_2layer_sample.csv": 7_434}


def _load_quiet(*args, **kwargs) -> pd.DataFrame:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DatasetWarning)
        return load(*args, **kwargs)


def _row(df: pd.DataFrame, record_id: str) -> pd.Series:
    rows = df[df["record_id"] == record_id]
    assert len(rows) == 1, f"{record_id}: {len(rows)} rows"
    return rows.iloc[0]


def _assert_values(row: pd.Series, expected: dict) -> None:
    for column, value in expected.items():
        got = row[column]
        if value is None:
            assert pd.isna(got), f"{column}: expected missing, got {got!r}"
        elif isinstance(value, float):
            assert isinstance(got, (float, np.floating)) and got == value, f"{column}: {got!r} != {value!r}"
        else:
            assert got == value, f"{column}: {got!r} != {value!r}"


# --- parse_precision / normalize_record ---

@pytest.mark.parametrize(
    "text, expected",
    [
        ("fixed<16,6>", (16, 6, True)),
        ("ap_fixed<16,6>", (16, 6, True)),
        ("fixed<2, 1>", (2, 1, True)),
        ("ufixed<4,1,RND_CONV,SAT,0>", (4, 1, False)),
        ("ap_ufixed<8,0>", (8, 0, False)),
        ("fixed<8,-2>", (8, -2, True)),
        ("ap_int<8>", (8, 8, True)),
        ("uint<4>", (4, 4, False)),
        ("auto", None),
        ("", None),
        (None, None),
        ({"default": "fixed<16,6>"}, None),
        ("float", None),
        ("fixed<16>", None),
    ],
)
def test_parse_precision(text, expected) -> None:
    got = parse_precision(text)
    assert got == (None if expected is None else Precision(*expected))
    if got is not None:
        assert got.total_bits == expected[0] and got.signed is expected[2]


def test_normalize_record_variants() -> None:
    raw_2_20 = json.loads((WAHLS4ML / "test_2_20_merged.json").read_text())[0]
    rec = normalize_record(raw_2_20)
    assert rec["meta_data"]["uuid"] == "2_20_000417"  # from model_id
    assert rec["vivado_version"] == "2019.1"  # from backend_version
    assert rec["backend"] == "VivadoAccelerator"
    assert rec["label_source"] == "vivado-synth"
    assert rec["resource_report"] == {"lut": 10392.0, "ff": 4230.0, "dsp": 85.0, "bram": 0.0, "uram": None}
    assert rec["hls_resource_report"]["uram"] is None  # "N/A"
    assert rec["latency_report"]["estimated_clock"] == 4.371

    raw_3layer = json.loads((WAHLS4ML / "train_3layer_merged.json").read_text())
    assert normalize_record(raw_3layer[0])["resource_report"]["bram"] == 5.0  # "2.5" tiles -> 18 Kb blocks
    empty = normalize_record(raw_3layer[1])
    assert empty["resource_report"] == dict.fromkeys(("lut", "ff", "dsp", "bram", "uram"))
    assert empty["latency_report"]["interval_min"] is None

    conv = normalize_record(json.loads((WAHLS4ML / "conv2d_record.json").read_text()))
    assert conv["synthesis_info"] == {"status": "completed"}  # unknown keys are kept
    assert conv["model_config"][1]["parameters"] == 448


@pytest.mark.parametrize(
    "raw, message",
    [
        (None, "expected an object"),
        ([1, 2], "expected an object"),
        ({"meta_data": {}}, "neither a model_config"),
        ({"model_config": "Dense"}, "neither a model_config"),
        ({"model_config": [], "hls_config": "x"}, "hls_config is a str"),
        ({"model_config": [{"name": "no_class"}]}, "no class_name"),
        ({"model_config": [], "resource_report": ["1"]}, "resource_report is a list"),
        ({"model_config": [], "resource_report": {"lut": "lots"}}, "resource_report.lut"),
        ({"model_config": [], "latency_report": {"cycles_max": "soon"}}, "latency_report.cycles_max"),
        ({"model_config": [], "label_source": "quartus"}, "label_source"),
    ],
)
def test_normalize_record_rejects(raw, message: str) -> None:
    with pytest.raises(MalformedRecord, match=message):
        normalize_record(raw)


def test_label_source_sets_stored_bram_unit() -> None:
    base = {"model_config": [], "resource_report": {"bram": "3"}}
    assert normalize_record(base)["resource_report"]["bram"] == 6.0  # vivado-synth: tiles
    assert normalize_record({**base, "label_source": "yosys"})["resource_report"]["bram"] == 6.0
    assert normalize_record({**base, "label_source": "vivado-hls"})["resource_report"]["bram"] == 3.0
    assert normalize_record({**base, "hls_resource_report": {"BRAM_18K": "3"}})["hls_resource_report"]["bram"] == 3.0


# --- load(): wa-hls4ml JSON and fpgaml records ---

@pytest.fixture(scope="module")
def fixture_df() -> pd.DataFrame:
    with pytest.warns(DatasetWarning, match="5 malformed"):
        return load(WAHLS4ML)


def test_fixture_folder_counts(fixture_df: pd.DataFrame) -> None:
    df = fixture_df
    assert list(df.columns) == list(COLUMNS)
    assert len(df) == 8
    assert df.attrs["n_malformed"] == 5
    assert len(df.attrs["warnings"]) == 5
    assert any("truncated JSON" in w for w in df.attrs["warnings"])
    assert any("record 2: record is a NoneType" in w for w in df.attrs["warnings"])
    files = {Path(p).name: n for p, n in df.attrs["files"].items()}
    assert files == {"broken_resource.json": 1, "conv2d_record.json": 1, "fpgaml_records.jsonl": 2,
                     "test_2_20_merged.json": 1, "train_3layer_merged.json": 2, "val_latency_merged.json.gz": 1}
    for column in NUMERIC_COLUMNS:
        assert df[column].dtype == np.float64, column
    for column in TEXT_COLUMNS:
        assert isinstance(df[column].dtype, pd.StringDtype), column


def test_full_3layer_record(fixture_df: pd.DataFrame) -> None:
    row = _row(fixture_df, "6f0c1c2e-3b7a-4d55-9a61-0c2d8f7e1a01")
    _assert_values(row, {
        "subset": "3layer", "split": "train", "model_name": "dense_16_32_16_8_4b",
        "artifacts_file": "6f0c1c2e-3b7a-4d55-9a61-0c2d8f7e1a01.tar.gz", "label_source": "vivado-synth",
        "part": "xcu250-figd2104-2L-e", "backend": None, "tool_version": "2023.2", "hls4ml_version": "0.8.1",
        "strategy": "resource", "io_type": None, "precision": "fixed<16,6>", "layer_widths": "16-32-16-8",
        "activations": None,
        "reuse_factor": 1024.0, "precision_bits": 16.0, "precision_int_bits": 6.0, "weight_bits": 4.0,
        "n_layers": 3.0, "n_params": 1208.0, "d_in": 16.0, "d_out": 8.0,
        "lut": 5600.0, "ff": 5665.0, "dsp": 0.0, "bram": 5.0, "uram": 0.0,
        "hls_lut": 1296.0, "hls_ff": 7012.0, "hls_dsp": 0.0, "hls_bram": 6.0, "hls_uram": 0.0,
        "cycles_min": 1347.0, "cycles_max": 1350.0, "interval_min": 1348.0, "interval_max": 1351.0,
        "target_clock": 5.0, "estimated_clock": 3.682,
    })


def test_empty_resource_report_is_nan_not_zero(fixture_df: pd.DataFrame) -> None:
    row = _row(fixture_df, "0d9b7d61-58a4-4d6f-b3c5-7be2f4d0c2aa")
    _assert_values(row, {
        "lut": None, "ff": None, "dsp": None, "bram": None, "uram": None,
        "hls_lut": 15874.0, "hls_bram": 8.0, "cycles_max": 2591.0, "interval_min": None, "interval_max": None,
        "weight_bits": 8.0, "reuse_factor": 2047.0,
    })


def test_2_20_variant(fixture_df: pd.DataFrame) -> None:
    row = _row(fixture_df, "2_20_000417")
    _assert_values(row, {
        "subset": "2_20", "split": "test", "model_name": "model_417", "backend": "VivadoAccelerator",
        "tool_version": "2019.1", "part": "xc7z020clg400-1", "strategy": "latency",
        "precision": "ap_fixed<16,6>", "precision_bits": 16.0, "weight_bits": None,
        "n_layers": 2.0, "n_params": 285.0, "layer_widths": "8-20-5", "activations": "relu|softmax",
        "lut": 10392.0, "dsp": 85.0, "uram": None, "hls_dsp": 110.0, "hls_uram": None,
        "cycles_min": 9.0, "interval_max": 1.0,
    })


def test_conv2d_single_record_file(fixture_df: pd.DataFrame) -> None:
    row = _row(fixture_df, "5c647285-9ecb-4079-abcb-0000000000c2")
    _assert_values(row, {
        "subset": "conv2d_record", "split": None, "tool_version": "2024.2", "strategy": "resource",
        "io_type": "io_stream", "weight_bits": 8.0, "n_layers": 2.0, "n_params": 41418.0,
        "d_in": 3.0, "d_out": 10.0, "layer_widths": "3-4096-10", "activations": "relu|softmax",
        "bram": 235.0, "uram": 15.0, "hls_bram": 240.0, "cycles_max": 1255150.0, "estimated_clock": 5.821,
    })


def test_gzipped_latency_record(fixture_df: pd.DataFrame) -> None:
    row = _row(fixture_df, "a3e1f7c0-22b9-4c1e-8d0f-5f3a9c7b1d42")
    _assert_values(row, {
        "subset": "latency", "split": "val", "strategy": "latency", "reuse_factor": 1.0,
        "weight_bits": 16.0, "n_layers": 3.0, "n_params": 3301.0, "activations": "relu|tanh",
        "layer_widths": "64-32-32-5", "dsp": 212.0, "hls_dsp": 251.0, "cycles_min": 7.0, "interval_min": 1.0,
    })


def test_fpgaml_records(fixture_df: pd.DataFrame) -> None:
    _assert_values(_row(fixture_df, "fpgaml-0001"), {
        "subset": "fpgaml-dev", "label_source": "yosys", "tool_version": "0.40", "io_type": "io_parallel",
        "artifacts_file": None, "weight_bits": 6.0, "lut": 812.0, "bram": 1.0, "uram": None,
        "hls_lut": None, "cycles_min": None,
    })
    _assert_values(_row(fixture_df, "fpgaml-0002"), {
        "label_source": "vivado-hls", "tool_version": "2024.1", "lut": 1404.0, "bram": 3.0, "hls_bram": 3.0,
        "interval_max": 2.0,
    })


def test_truncated_file_keeps_records_before_the_cut(fixture_df: pd.DataFrame) -> None:
    _assert_values(_row(fixture_df, "b7c2d9e4-1111-4a2b-9c3d-000000000001"), {"lut": 4102.0, "bram": 2.0})
    assert not (fixture_df["record_id"] == "b7c2d9e4-1111-4a2b-9c3d-000000000002").any()


def test_paths_globs_lists_and_gz(tmp_path: Path) -> None:
    one = _load_quiet(WAHLS4ML / "train_3layer_merged.json")
    assert len(one) == 2 and one.attrs["n_malformed"] == 0
    by_glob = _load_quiet(str(WAHLS4ML / "*_merged.json*"))
    assert sorted(by_glob["subset"]) == ["2_20", "3layer", "3layer", "latency"]
    as_list = _load_quiet([WAHLS4ML / "conv2d_record.json", str(WAHLS4ML / "val_latency_merged.json.gz")])
    assert len(as_list) == 2

    # A JSON list compressed as a whole, and one record per file named by its uuid.
    gz = tmp_path / "resource" / "test_resource_merged.json.gz"
    gz.parent.mkdir()
    with gzip.open(gz, "wt", encoding="utf-8") as fh:
        fh.write((WAHLS4ML / "train_3layer_merged.json").read_text())
    per_file = tmp_path / "conv2d_run" / "5c647285-9ecb-4079-abcb-0000000000c2.json"
    per_file.parent.mkdir()
    shutil.copy(WAHLS4ML / "conv2d_record.json", per_file)
    df = _load_quiet(tmp_path)
    assert sorted(zip(df["subset"], df["split"].fillna("-"))) == [
        ("conv2d_run", "-"), ("resource", "test"), ("resource", "test")]


@pytest.mark.parametrize("chunk", [7, 1 << 20])
def test_streaming_decoder_across_buffer_boundaries(tmp_path: Path, monkeypatch, chunk: int) -> None:
    monkeypatch.setattr(sources, "_CHUNK", chunk)
    cases = {
        "list.json": ('[{"a": 1, "s": "hello world"}, {"b": [1,2,3]} ,\n {"c": {"d": "x"}}]', 3, None),
        "lines.jsonl": ('{"a": 1}\n{"b": 2}\n\n{"c": "a longer string value"}\n', 3, None),
        "single.json": ('  {"a": {"b": [1, 2, {"c": 3}]}}  ', 1, None),
        "empty_list.json": (" [ ] ", 0, None),
        "cut.json": ('[{"a": 1}, {"b": "abc', 1, "truncated JSON"),
        "unclosed.json": ('[{"a": 1}, {"b": 2}', 2, "no closing"),
        "syntax.json": ('[{"a": 1}, {"b": tru}, {"c": 2}]', 1, "syntax error at character 17"),
        "empty.json": ("", 0, "empty file"),
    }
    for name, (text, n_values, error) in cases.items():
        path = tmp_path / name
        path.write_text(text)
        items = list(sources.iter_json_values(path))
        values = [i for i in items if i.error is None]
        errors = [i.error for i in items if i.error is not None]
        assert len(values) == n_values, name
        assert (errors == []) if error is None else (len(errors) == 1 and error in errors[0]), (name, errors)


def test_large_list_streams_with_bounded_memory(tmp_path: Path, monkeypatch) -> None:
    """Many records through a small buffer: every one decoded, none lost at chunk edges."""
    monkeypatch.setattr(sources, "_CHUNK", 4096)
    records = json.loads((WAHLS4ML / "train_3layer_merged.json").read_text())
    path = tmp_path / "train_big_merged.json"
    with path.open("w") as fh:
        fh.write("[\n" + ",\n".join(json.dumps(records[i % 2], indent=4) for i in range(400)) + "\n]\n")
    df = _load_quiet(path)
    assert len(df) == 400 and df.attrs["n_malformed"] == 0
    assert df["lut"].isna().sum() == 200 and df["hls_lut"].notna().all()


@pytest.mark.parametrize(
    "spec, message",
    [
        ("definitely/not/here.json", "no such file or directory"),
        ("definitely/not/*.json", "no .json, .jsonl or .csv files match"),
        ([], "no dataset path given"),
    ],
)
def test_bad_paths_are_user_errors(spec, message: str) -> None:
    with pytest.raises(UserError, match=message):
        load(spec)


def test_unsupported_and_empty_inputs(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("hello")
    with pytest.raises(UserError, match="not a dataset file"):
        load(tmp_path / "notes.txt")
    with pytest.raises(UserError, match="directory holds no"):
        load(tmp_path)
    (tmp_path / "empty_list.json").write_text("[]")
    df = load(tmp_path / "empty_list.json")
    assert len(df) == 0 and list(df.columns) == list(COLUMNS) and df.attrs["n_malformed"] == 0
    assert "0 records" in info(df)


# --- load(): the flattened wa-hls4ml CSVs ---

_CSV_HEADER = ("model_name,d_in,d_out,prec,model_file,model_string,rf,strategy,TargetClockPeriod_hls,"
               "EstimatedClockPeriod_hls,BestLatency_hls,WorstLatency_hls,IntervalMin_hls,IntervalMax_hls,"
               "BRAM_18K_hls,DSP_hls,FF_hls,LUT_hls,URAM_hls,rf_times_precision,hls_synth_success")


def test_csv_mapping_and_malformed_rows(tmp_path: Path) -> None:
    path = tmp_path / "wahls4ml_2layer_sample.csv"
    path.write_text("\n".join([
        _CSV_HEADER,
        "/output/2layer_run_vsynth_2023-2/raw_reports/dense_104_128_104_14b,104,104,14,"
        "f373e1cf-0a05-401d-b6ec-7a141345021e.tar.gz,104-128-104,2047,resource,5.00,3.770,3331,3333,3331,3333,"
        "1.5,16,21371,40660,0,28658,TRUE",
        "/output/2layer_run_vsynth_2023-2/raw_reports/dense_8_8_8_2b,8,8,2,"
        "0000aaaa-0a05-401d-b6ec-7a141345021e.tar.gz,8-8-8,1024,resource,5.00,,834,836,834,836,,0,2820,2972,,2048,TRUE",
        "/output/2layer_run_vsynth_2023-2/raw_reports/dense_8_8_8_4b,8,8,4,"
        "1111bbbb-0a05-401d-b6ec-7a141345021e.tar.gz,8-8-8,1024,resource,5.00,3.2,834,836,834,836,1,0,2820,many,0,"
        "4096,TRUE",
    ]) + "\n")
    with pytest.warns(DatasetWarning, match="1 malformed"):
        df = load(path)
    assert len(df) == 2 and df.attrs["n_malformed"] == 1
    assert "row 4" in df.attrs["warnings"][0]
    _assert_values(df.iloc[0], {
        "subset": "2layer", "split": None, "record_id": "f373e1cf-0a05-401d-b6ec-7a141345021e",
        "model_name": "dense_104_128_104_14b", "label_source": "vivado-synth", "part": "xcu250-figd2104-2L-e",
        "tool_version": "2023.2", "strategy": "resource", "io_type": "io_parallel", "layer_widths": "104-128-104",
        "reuse_factor": 2047.0, "weight_bits": 14.0, "n_layers": 2.0, "n_params": 26856.0,
        "d_in": 104.0, "d_out": 104.0, "lut": 40660.0, "ff": 21371.0, "dsp": 16.0, "bram": 3.0, "uram": 0.0,
        "hls_lut": None, "hls_bram": None, "cycles_min": 3331.0, "cycles_max": 3333.0,
        "interval_min": None, "interval_max": None, "target_clock": 5.0, "estimated_clock": 3.77,
        "precision": None, "precision_bits": None,
    })
    _assert_values(df.iloc[1], {"estimated_clock": None, "bram": None, "uram": None, "lut": 2972.0})


def test_csv_without_the_columns_is_a_user_error(tmp_path: Path) -> None:
    path = tmp_path / "other.csv"
    path.write_text("a,b\n1,2\n")
    with pytest.raises(UserError, match="not a flattened wa-hls4ml CSV"):
        load(path)


@pytest.mark.skipif(not SHARED.is_dir(), reason=f"{SHARED} is absent")
def test_shared_csvs() -> None:
    df = load(SHARED / "wahls4ml_3layer.csv")
    assert len(df) == 10_001

    df = load(SHARED)
    assert df.attrs["n_malformed"] == 0
    files = {Path(p).name: n for p, n in df.attrs["files"].items()}
    assert files == SHARED_ROWS
    assert df["subset"].value_counts().to_dict() == {"3layer": 10_001, "2layer": 7_434, "conv2d": 42}
    for column in NUMERIC_COLUMNS:
        assert df[column].dtype == np.float64, column
    for column in ("lut", "ff", "dsp", "bram", "uram", "cycles_min", "cycles_max", "target_clock",
                   "estimated_clock", "reuse_factor", "weight_bits", "n_layers", "d_in", "d_out"):
        assert df[column].notna().all(), column
    assert df["label_source"].eq("vivado-synth").all() and df["strategy"].eq("resource").all()
    assert df["interval_min"].isna().all() and df["hls_lut"].isna().all()
    # BRAM tiles doubled to 18 Kb blocks: every value whole.
    assert (df["bram"] % 1 == 0).all()
    assert set(df.loc[df["subset"] != "conv2d", "reuse_factor"]) == {1024.0, 2047.0, 3070.0, 4093.0}
    assert df.loc[df["subset"] == "3layer", "n_layers"].eq(3).all()
    assert df.loc[df["subset"] == "2layer", "n_layers"].eq(2).all()
    assert df["n_params"].notna().sum() == 10_001 + 7_434
    assert df["tool_version"].eq("2023.2").all()
    first = _row(df, "6135aca7-cec6-4010-8e7a-0b8def707f81")  # first data row of wahls4ml_3layer.csv
    _assert_values(first, {"layer_widths": "104-48-104-104", "n_params": 21056.0, "lut": 32468.0,
                           "bram": 20.0, "cycles_max": 2920.0, "estimated_clock": 4.002})

    text = info(df)
    assert "17,477 records from 3 file(s), 0 malformed" in text
    for line in ("3layer", "10,001"), ("2layer", "7,434"), ("conv2d", "42"), ("vivado-synth", "17,477"):
        assert any(line[0] in row and line[1] in row for row in text.splitlines()), line


# --- info() ---

def test_info_mentions_counts(fixture_df: pd.DataFrame) -> None:
    text = info(fixture_df)
    lines = text.splitlines()
    assert lines[0] == "8 records from 6 file(s), 5 malformed"

    def count(heading: str, label: str) -> int:
        start = next(i for i, line in enumerate(lines) if line.startswith(heading))
        for line in lines[start + 1:]:
            if not line.strip():
                break
            if line.split()[0] == label:
                return int(line.split()[1].replace(",", ""))
        raise AssertionError(f"{label} not under {heading}")

    assert count("subset", "3layer") == 2
    assert count("subset", "2_20") == 1
    assert count("label source", "vivado-synth") == 6
    assert count("label source", "yosys") == 1
    assert count("strategy", "latency") == 4
    assert count("weight precision", "8") == 2
    assert count("weight precision", "(missing)") == 3
    assert count("part", "xc7z020clg400-1") == 2
    assert count("reuse factor", "8192") == 1
    lut = next(line for line in lines if line.startswith("lut "))
    assert lut.split() == ["lut", "7", "812", "5,600", "63,301"]
    assert any("truncated JSON" in line for line in lines)


def test_info_folds_long_tails() -> None:
    df = pd.DataFrame({c: [None] * 30 for c in TEXT_COLUMNS} | {c: [math.nan] * 30 for c in NUMERIC_COLUMNS})
    df["reuse_factor"] = np.arange(30, dtype=float)
    for c in TEXT_COLUMNS:
        df[c] = df[c].astype("string")
    text = info(df)
    assert "(19 others)" in text and "30 records, 0 malformed" in text


# --- CLI (once fpgaml/cli.py mounts the dataset sub-app) ---

def test_cli_dataset_info() -> None:
    probe = run_cli("dataset", "--help", timeout=120)
    if probe.returncode != 0:
        pytest.skip("`fpgaml dataset` is not wired into fpgaml/cli.py yet")
    result = run_cli("dataset", "info", str(WAHLS4ML), timeout=120)
    assert result.returncode == 0, result.stderr
    assert "8 records from 6 file(s), 5 malformed" in result.stdout
    missing = run_cli("dataset", "info", "no/such/file.json", timeout=120)
    assert missing.returncode == 2
    assert "no such file or directory" in missing.stderr
