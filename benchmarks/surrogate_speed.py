"""How fast the surrogate answers: configurations per second batched, milliseconds per single one.

Batched: ``predict_many`` on N dense-network rows (random wa-hls4ml-like configurations, or
a dataset with --data), end to end (featurization, analytic model, OOD check, GNN, intervals),
then the same designs already featurized (model only). Single: ``predict`` on the jet_tagger
example with the reuse factor changing each call (the cached conversion is re-timed, not
re-converted), excluding the one hls4ml conversion, which is timed separately.
Targets: >= 10,000 configs/s batched, <= 5 ms per single prediction.

    .venv/bin/python benchmarks/surrogate_speed.py [--n 10000] [--repeats 5] [--data ../shared/data]
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np
import pandas as pd


def random_rows(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    widths = ["-".join(map(str, rng.choice(np.arange(8, 129, 8), size=rng.integers(3, 5)))) for _ in range(n)]
    return pd.DataFrame({
        "layer_widths": widths,
        "weight_bits": rng.choice(np.arange(2, 17, 2), size=n).astype(float),
        "reuse_factor": rng.choice([1024, 2047, 3070, 4093], size=n).astype(float),
        "strategy": "resource", "io_type": "io_parallel", "part": "xcu250-figd2104-2L-e", "target_clock": 5.0,
        "subset": "3layer",
    })


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=10_000)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--data", default=None, help="a dataset path for fpgaml.datasets.load instead of random rows")
    args = parser.parse_args()

    import torch

    from fpgaml.surrogates.features import from_row, tabulate
    from fpgaml.surrogates.model import load_surrogate
    from fpgaml.surrogates.predict import predict, predict_many

    if args.data:
        from fpgaml.datasets import load

        df = load(args.data)
        df = df[df.subset != "conv2d"].sample(args.n, replace=len(df) < args.n, random_state=0)
    else:
        df = random_rows(args.n)
    surrogate = load_surrogate()
    predict_many(df.head(100))  # warm-up: imports, weights
    t_many, t_model = [], []
    table = tabulate([from_row(r) for r in df.to_dict("records")])
    for _ in range(args.repeats):
        t0 = time.perf_counter()
        out = predict_many(df)
        t_many.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        surrogate.predict_table(table)
        t_model.append(time.perf_counter() - t0)
    n = len(df)

    import fpgaml

    jet = fpgaml.example("jet_tagger")
    t0 = time.perf_counter()
    predict(jet, part="xcu250", strategy="latency", reuse_factor=1)
    t_convert = time.perf_counter() - t0
    singles = []
    rfs = [1, 2, 4, 8, 16, 32, 64, 128]
    for i in range(200):
        t0 = time.perf_counter()
        predict(jet, part="xcu250", strategy="latency", reuse_factor=rfs[i % len(rfs)])
        singles.append(time.perf_counter() - t0)

    from fpgaml.surrogates.predict import _options, convert

    graph = convert(jet, _options(part="xcu250", strategy="latency", reuse_factor=1))
    fresh = []
    for _ in range(20):  # a new graph object each time would need a conversion; clear the cache instead
        from fpgaml.surrogates.predict import _conversions

        _conversions.clear()
        t0 = time.perf_counter()
        predict(graph)
        fresh.append(time.perf_counter() - t0)

    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads; {n:,} configurations, "
          f"{(~out.ood).mean():.0%} inside the training domain")
    print(f"{'measure':<52} {'median':>10} {'best':>10}")
    rate = lambda ts: n / np.array(ts)  # noqa: E731
    print(f"{'predict_many, end to end (configs/s)':<52} {statistics.median(rate(t_many)):>10,.0f} "
          f"{max(rate(t_many)):>10,.0f}")
    print(f"{'  model only: analytic+OOD+GNN on a built table (/s)':<52} {statistics.median(rate(t_model)):>10,.0f} "
          f"{max(rate(t_model)):>10,.0f}")
    print(f"{'predict, single, RF changes each call (ms)':<52} {1e3 * statistics.median(singles):>10.2f} "
          f"{1e3 * min(singles):>10.2f}")
    print(f"{'predict on a converted ModelGraph, uncached (ms)':<52} {1e3 * statistics.median(fresh):>10.2f} "
          f"{1e3 * min(fresh):>10.2f}")
    print(f"{'first predict incl. hls4ml conversion (ms, once)':<52} {1e3 * t_convert:>10.1f}")


if __name__ == "__main__":
    main()
