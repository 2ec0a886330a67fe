"""Print the tables of this directory's README (the dataset card) from the records themselves.

    .venv/bin/python datasets/open_flow/card_stats.py datasets/open_flow/mixed_seed0
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pandas as pd


def main(directory: str) -> None:
    path = Path(directory)
    records = [json.loads(line) for line in (path / "records.jsonl").read_text().splitlines() if line.strip()]
    failed = (path / "failed.jsonl").read_text().splitlines() if (path / "failed.jsonl").exists() else []
    df = pd.DataFrame({
        "kind": [r["design"]["kind"] for r in records],
        "index": [r["design"]["index"] for r in records],
        "weight_bits": [r["design"]["weight_bits"] for r in records],
        "stages": [r["rtl"]["pipeline_stages"] for r in records],
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
    print("pipeline stages:", df.stages.value_counts().sort_index().to_dict())
    print("\n| kind | n | mean | median | p90 | max |\n|---|---|---|---|---|---|")
    for kind, g in df.groupby("kind"):
        t = g.total_s
        print(f"| {kind} | {len(g)} | {t.mean():.0f} s | {t.median():.0f} s | {t.quantile(0.9):.0f} s | {t.max():.0f} s |")
    print(f"\nYosys share of design time: {df.synth_s.sum() / df.total_s.sum():.0%}")


if __name__ == "__main__":
    main(sys.argv[1])
