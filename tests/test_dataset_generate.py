"""`dataset generate` on real tools: open labels load back, a killed run resumes without loss or
duplicates, a failing design costs one line in failed.jsonl, and the Ray path works.

Designs come from the ``tiny`` space (4..8-wide, one hidden layer, 2-3 bit weights): Yosys
takes ~3 s on each, so the whole file stays well under three minutes on two cores.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from fpgaml.compiler.rtl.tools import missing_tools
from fpgaml.datasets.generate import FAILED, RECORDS, finished_ids, generate, repair_tail
from fpgaml.datasets.space import SPACES, design_id, sample_design

_MISSING = missing_tools(verilator=False, yosys=True)
needs_yosys = pytest.mark.skipif(bool(_MISSING), reason="; ".join(_MISSING))


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()] if path.exists() else []


def _ids(path: Path) -> list[str]:
    return [r["meta_data"]["uuid"] if "meta_data" in r else r["design_id"] for r in _lines(path)]


def test_designs_are_a_pure_function_of_seed_and_index() -> None:
    for space in SPACES:
        later_first = [sample_design(5, i, space) for i in reversed(range(6))][::-1]
        assert later_first == [sample_design(5, i, space) for i in range(6)]
        assert sample_design(5, 0, space).design_id == design_id(space, 5, 0)
    assert sample_design(5, 0, "dense") != sample_design(6, 0, "dense")
    assert len({design_id(s, 0, 0) for s in SPACES}) == len(SPACES)  # spaces never share ids
    dense = [sample_design(0, i, "dense") for i in range(200)]
    assert all(1 <= len(d.hidden) <= 3 and all(4 <= w <= 64 for w in d.hidden) for d in dense)
    assert {d.weight_bits for d in dense} == set(range(2, 9))


def test_torn_last_line_is_cut_and_its_design_redone(tmp_path: Path) -> None:
    path = tmp_path / RECORDS
    path.write_text('{"meta_data": {"uuid": "a"}}\n{"meta_data": {"uu')
    repair_tail(path)
    assert path.read_text() == '{"meta_data": {"uuid": "a"}}\n'
    (tmp_path / FAILED).write_text('{"design_id": "b", "error": "x"}\n')
    assert finished_ids(tmp_path) == {"a", "b"}


@needs_yosys
def test_open_labels_load_back(tmp_path: Path) -> None:
    from fpgaml.datasets import load
    from fpgaml.surrogates.features import from_row

    summary = generate(4, tmp_path, space="tiny", seed=11, progress=False)
    assert (summary.ok, summary.failed) == (4, 0), summary.errors
    df = load(tmp_path)  # the run's directory: records.jsonl, not the (empty) failed.jsonl
    assert len(df) == 4 and df.attrs["n_malformed"] == 0
    assert (df["label_source"] == "yosys").all()
    # every record carries the design graph the surrogates featurize, with its da4ml stages
    specs = [from_row(row) for row in df.to_dict("records")]
    assert all(spec.pipeline_stages >= 1 and spec.strategy == "other" for spec in specs)
    assert all(layer.n_nonzero > 0 for spec in specs for layer in spec.layers if layer.has_weights)
    assert (df["lut"] > 0).all() and (df["cycles_min"] >= 2).all()
    assert sorted(df["record_id"]) == sorted(design_id("tiny", 11, i) for i in range(4))
    assert df["layer_widths"].notna().all() and (df["strategy"] == "distributed_arithmetic").all()
    record = _lines(tmp_path / RECORDS)[0]
    assert set(record["tool_versions"]) == {"yosys", "da4ml"}
    assert record["hls_config"]["Model"]["ReuseFactor"] == 1
    again = generate(4, tmp_path, space="tiny", seed=11, progress=False)  # nothing left to do
    assert (again.skipped, again.ok, again.failed) == (4, 0, 0)


@needs_yosys
def test_killed_run_resumes_without_loss_or_duplicates(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "fpgaml.datasets.generate", "--n", "3", "--space", "tiny", "--seed", "3",
           "--out", str(tmp_path), "--no-progress"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True)
    records = tmp_path / RECORDS
    try:
        deadline = time.monotonic() + 120
        while not _lines_safe(records) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert _lines_safe(records), "no record within 120 s"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # the generator and its worker: the group we started
        proc.wait()
    with open(records, "a") as fh:
        fh.write('{"meta_data": {"uuid": "torn')  # what a kill in the middle of a write leaves
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    labelled, skipped = (int(v) for v in re.search(r"(\d+) labelled, 0 failed, (\d+) already done", done.stderr).groups())
    assert skipped >= 1 and labelled + skipped == 3  # the restart redid only what the kill lost
    expected = sorted(design_id("tiny", 3, i) for i in range(3))
    ids = _ids(records) + _ids(tmp_path / FAILED)
    assert sorted(ids) == expected  # every design exactly once, the torn line gone
    assert not _lines(tmp_path / FAILED)


def _lines_safe(path: Path) -> list[str]:
    return [line for line in path.read_text().splitlines() if line.endswith("}")] if path.exists() else []


@needs_yosys
def test_failing_and_timed_out_designs_are_recorded_and_the_run_goes_on(tmp_path: Path) -> None:
    good, bad = sample_design(0, 0, "tiny"), sample_design(0, 1, "tiny")
    bad = dataclasses.replace(bad, extra={"build_options": {"reuse_factor": 0}})
    summary = generate(2, tmp_path, designs=[bad, good], progress=False)
    assert (summary.ok, summary.failed) == (1, 1)
    (failure,) = _lines(tmp_path / FAILED)
    assert failure["design_id"] == bad.design_id and "reuse factor 0" in failure["error"]
    assert _ids(tmp_path / RECORDS) == [good.design_id]

    slow = sample_design(0, 2, "tiny")
    summary = generate(1, tmp_path, designs=[slow], timeout_s=0.01, progress=False)
    assert (summary.ok, summary.failed) == (0, 1)
    assert "TimedOut" in _lines(tmp_path / FAILED)[-1]["error"]
    assert not (tmp_path / ".work").exists()  # the killed design's scratch is not left behind


@needs_yosys
def test_ray_local_cluster(tmp_path: Path) -> None:
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=1, include_dashboard=False, log_to_driver=False, configure_logging=False)
    try:
        summary = generate(2, tmp_path, space="tiny", seed=21, ray_address="local", progress=False)
    finally:
        ray.shutdown()
    assert (summary.ok, summary.failed) == (2, 0), summary.errors
    assert sorted(_ids(tmp_path / RECORDS)) == sorted(design_id("tiny", 21, i) for i in range(2))


@needs_yosys
def test_a_second_writer_on_the_same_directory_is_refused(tmp_path: Path) -> None:
    import fcntl

    from fpgaml.compiler.errors import UserError

    with open(tmp_path / ".lock", "a") as held:
        fcntl.flock(held, fcntl.LOCK_EX | fcntl.LOCK_NB)
        with pytest.raises(UserError, match="another `dataset generate` run"):
            generate(1, tmp_path, space="tiny", progress=False)
    assert not (tmp_path / RECORDS).exists()
