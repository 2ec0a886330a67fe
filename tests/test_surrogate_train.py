"""Training and evaluating surrogates for real, on the committed open-flow records (Yosys labels).

Few epochs: these check the machinery (both architectures learn from the same featurizer, the
weights reload safely and answer, training resumes from its checkpoint, evaluation scores
the held-out split), not the accuracy, which surrogates/README.md reports from full runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from fpgaml.datasets import load
from fpgaml.surrogates.model import RTL_NAME, Surrogate
from fpgaml.surrogates.train import evaluate, train

RECORDS = Path(__file__).resolve().parents[1] / "datasets" / "open_flow" / "mixed_seed0" / "records.jsonl"


@pytest.fixture(scope="module")
def records() -> pd.DataFrame:
    df = load(RECORDS)
    assert (df.label_source == "yosys").all() and df.design_graph.notna().all()
    return df


@pytest.mark.parametrize("arch", ["gnn", "transformer"])
def test_train_reload_predict_and_resume(records, tmp_path, arch):
    out = train(records, arch=arch, out_dir=tmp_path, epochs=2, hidden=16, layers=1, progress=False)
    meta = json.loads((out / f"{RTL_NAME}.json").read_text())
    assert meta["network"]["arch"] == arch and meta["training"]["label_source"] == ["yosys"]
    assert "open-flow" in meta["citation"]
    state = torch.load(out / f"{RTL_NAME}.pt", weights_only=True)
    assert all(isinstance(v, torch.Tensor) for v in state.values())
    metrics = pd.read_csv(out / "metrics.csv", index_col="target")
    assert metrics.loc["lut", "n"] > 10 and 0 <= metrics.loc["lut", "smape_%"] < 200
    assert (out / "parity.png").stat().st_size > 10_000

    surrogate = Surrogate.load(out, RTL_NAME)
    from fpgaml.surrogates.features import tabulate_rows

    table, where, failed = tabulate_rows(records)
    assert not failed and len(where) == len(records)
    pred = surrogate.predict_table(table)
    inside = ~pred.ood
    assert inside.mean() > 0.5, [r for r in pred.reasons if r][:3]
    assert set(pred.source[inside]) == {arch}
    assert np.isfinite(pred.value).all() and (pred.low <= pred.value).all() and (pred.value <= pred.high).all()
    # da4ml circuits: latency is the stage count asked for + 1, exactly, except where da4ml
    # built fewer stages (a circuit too shallow to cut; one record of the 1,000)
    lat, built = pred.analytic[:, 4], records.cycles_max.to_numpy()[where]
    same = lat == built
    assert same.mean() > 0.99 and (lat[~same] > built[~same]).all()

    history = json.loads((out / "history.json").read_text())
    again = train(records, arch=arch, out_dir=tmp_path, epochs=2, hidden=16, layers=1, progress=False)
    assert json.loads((again / "history.json").read_text()) == history  # resumed: no epoch redone

    table = evaluate(records, out, split="test")
    assert table.loc["lut", "n"] == metrics.loc["lut", "n"]
    assert table.loc["lut", "smape_%"] == pytest.approx(metrics.loc["lut", "smape_%"])
