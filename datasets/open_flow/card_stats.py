"""Print the tables of this directory's README (the dataset card) from the records themselves.

    .venv/bin/python datasets/open_flow/card_stats.py datasets/open_flow/mixed_seed0
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd
from fpgaml.surrogates.train import metrics


def main(directory: str) -> None:
    path = Path(directory)
    records = [json.loads(line) for line in (path / "records.jsonl").read_text().splitlines() if line.strip()]
    failed = (path / "failed.jsonl").read_text().splitlines() if (path / "failed.jsonl").exists() else []
    df = pd.DataFrame({
        "kind": [r["design"]["kind"] for r in records],
        "name": [r["design"]["name"] for r in records],
        "index": [r["design"]["index"] for r in records],
        "weight_bits": [r["design"]["weight_bits"] for r in records],
        "stages": [r["design"]["pipeline_stages"] for r in records],
        "built_stages": [r["rtl"]["pipeline_stages"] for r in records],
        "da4ml_lut": [r["rtl"]["da4ml"]["lut_estimate"] for r in records],
        "da4ml_ff": [r["rtl"]["da4ml"]["ff_estimate"] for r in records],
        "LUT (Yosys)": [r["resource_report"]["lut"] for r in records],
        "FF": [r["resource_report"]["ff"] for r in records],
        "DSP": [r["resource_report"]["dsp"] for r in records],
        "BRAM (36 Kb)": [r["resource_report"]["bram"] for r in records],
        "latency (cycles)": [r["latency_report"]["cycles_max"] for r in records],
        "parameters": [sum(layer.get("parameters", 0) for layer in r["model_config"]) for r in records],
        "total_s": [r["timing"]["total_s"] for r in records],
        "synth_s": [r["timing"]["synth_s"] for r in records],
    })
    missing = sorted(set(range(df["index"].max() + 1)) - set(df["index"]))
    print(f"{len(df)} records ({', '.join(f'{k} {v}' for k, v in df.kind.value_counts().items())}), "
          f"{len(failed)} failed; indices 0-{df['index'].max()}, missing {missing or 'none'}\n")
    print("| | min | median | max |\n|---|---|---|---|")
    for col in ("LUT (Yosys)", "FF", "DSP", "BRAM (36 Kb)", "latency (cycles)", "parameters"):
        v = df[col]
        print(f"| {col} | {v.min():,.0f} | {v.median():,.0f} | {v.max():,.0f} |")
    print("\nweight bits:", (df.weight_bits.value_counts(normalize=True).sort_index() * 100).round(0).to_dict())
    print("pipeline stages asked for:", df.stages.value_counts().sort_index().to_dict(),
          "; built with fewer:", df.name[df.built_stages != df.stages].tolist())
    print("da4ml's own estimate vs Yosys, SMAPE %:",
          {k: round(metrics(df[col].to_numpy(float), df[f"da4ml_{k}"].to_numpy(float))["smape"], 1)
           for k, col in (("lut", "LUT (Yosys)"), ("ff", "FF"))})
    print("\n| kind | n | mean | median | p90 | max |\n|---|---|---|---|---|---|")
    for kind, g in df.groupby("kind"):
        t = g.total_s
        cells = [f"{v:.0f} s" for v in (t.mean(), t.median(), t.quantile(0.9), t.max())]
        print(f"| {kind} | {len(g)} | {' | '.join(cells)} |")
    print(f"\nYosys share of design time: {df.synth_s.sum() / df.total_s.sum():.0%}")


if __name__ == "__main__":
    main(sys.argv[1])
