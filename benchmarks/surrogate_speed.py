"""How fast the surrogate answers: configurations per second batched, milliseconds per single one.

Batched: ``predict_many`` on N dense-network rows (random wa-hls4ml-like configurations, or
a dataset with --data), end to end (featurization, analytic model, OOD check, GNN, intervals),
then the same designs already featurized (model only). Single: ``predict`` on the jet_tagger
example with the reuse factor changing each call (the cached conversion is re-timed, not
re-converted), excluding the one hls4ml conversion, which is timed separately.
Targets: >= 10,000 configs/s batched, <= 5 ms per single prediction.

When rule4ml can run (installed here by `pip install -e ".[bench]"`, or in the Python given by
--rule4ml-python, then as a subprocess), it is timed in the same run through
benchmarks/rule4ml_worker.py (see rule4ml_compare.py for what it is given): single predictions
on a float Keras model of the jet tagger's architecture, 16-64-32-32-5 (ReLU, softmax;
ap_fixed<16,6>, Latency, alveo-u250 = xcu250, hls4ml 1.1.0, Vivado 2023.2), the reuse factor
changing each call; and batched, the first --rule4ml-n of the same configurations (rule4ml's
predict takes many models at one configuration per call, so they go in one call per
configuration), with one torch thread. It also prints both estimators' numbers for that jet
tagger at RF 1 and 4. Without rule4ml: one line says why.

    .venv/bin/python benchmarks/surrogate_speed.py [--n 10000] [--repeats 5] [--data ../shared/data]
        [--rule4ml-python OTHER/bin/python] [--rule4ml-n 100]
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
    parser.add_argument("--rule4ml-python", default=None,
                        help="a Python with rule4ml, run as a subprocess (default: this one, if it has rule4ml)")
    parser.add_argument("--rule4ml-n", type=int, default=100, help="configurations in rule4ml's batched timing")
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

    graph, _ = convert(jet, _options(part="xcu250", strategy="latency", reuse_factor=1))
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
    rate = lambda ts: n / np.array(ts)
    print(f"{'predict_many, end to end (configs/s)':<52} {statistics.median(rate(t_many)):>10,.0f} "
          f"{max(rate(t_many)):>10,.0f}")
    print(f"{'  model only: analytic+OOD+GNN on a built table (/s)':<52} {statistics.median(rate(t_model)):>10,.0f} "
          f"{max(rate(t_model)):>10,.0f}")
    print(f"{'predict, single, RF changes each call (ms)':<52} {1e3 * statistics.median(singles):>10.2f} "
          f"{1e3 * min(singles):>10.2f}")
    print(f"{'predict on a converted ModelGraph, uncached (ms)':<52} {1e3 * statistics.median(fresh):>10.2f} "
          f"{1e3 * min(fresh):>10.2f}")
    print(f"{'first predict incl. hls4ml conversion (ms, once)':<52} {1e3 * t_convert:>10.1f}")
    rule4ml_section(df.head(args.rule4ml_n), args.rule4ml_python)


JET = [16, 64, 32, 32, 5]


def jet_design(reuse_factor: int, hls4ml_version: str | None = "1.1.0", vivado_version: str | None = "2023.2") -> dict:
    """The jet tagger as rule4ml_worker takes it (Latency, ap_fixed<16,6>, xcu250)."""
    return {"id": f"jet_rf{reuse_factor}_{hls4ml_version or 'all'}", "widths": JET, "hidden_activation": "relu",
            "output_activation": "softmax", "precision": "ap_fixed<16,6>", "reuse_factor": reuse_factor,
            "strategy": "latency", "board": "alveo-u250", "hls4ml_version": hls4ml_version,
            "vivado_version": vivado_version}


def rule4ml_section(rows: pd.DataFrame, python: str | None) -> None:
    """rule4ml timed beside fpgaml (worker subprocess), and both on the jet tagger at RF 1 and 4."""
    from rule4ml_compare import RULE4ML_TARGETS, call_rule4ml, rule4ml_designs

    designs, _ = rule4ml_designs(rows)
    versions = (("1.1.0", "2023.2"), ("0.8.1", "2023.2"), (None, None))
    report = [jet_design(rf, h, v) for rf in (1, 4) for h, v in versions]
    single = {**jet_design(1), "reuse_factors": [1, 2, 4, 8, 16, 32, 64, 128], "calls": 24}
    try:
        out = call_rule4ml({"threads": 1, "designs": designs, "report": report, "single": single}, python)
    except RuntimeError as exc:
        print(f"rule4ml: not run ({exc})")
        return
    timing, singles = out["timing"], out["single"]["seconds"]
    n = timing["n_designs"]
    rates = [n / t for t in timing["predict_s"]]
    batched = f"rule4ml {out['rule4ml_version']}, batched (configs/s; {n} configs, {timing['n_calls']} calls)"
    print(f"{batched:<52} {statistics.median(rates):>10,.1f} {max(rates):>10,.1f}")
    print(f"{'rule4ml predict, single, RF changes each call (ms)':<52} {1e3 * statistics.median(singles):>10.2f} "
          f"{1e3 * min(singles):>10.2f}")
    print(f"{'rule4ml startup: imports + loading estimators (ms)':<52} "
          f"{1e3 * (timing['import_s'] + timing['load_s']):>10.1f}")
    print(f"{'  (+ building Keras models for the batch, ms/config)':<52} {1e3 * timing['build_s'] / n:>10.2f}")

    import keras
    from fpgaml.surrogates.predict import predict

    keras.utils.set_random_seed(0)
    inputs = keras.Input(shape=(JET[0],))
    x = inputs
    for width in JET[1:-1]:
        x = keras.layers.Dense(width, activation="relu")(x)
    float_jet = keras.Model(inputs, keras.layers.Dense(JET[-1], activation="softmax")(x), name="jet_float")
    cols = [t for t in RULE4ML_TARGETS if t != "bram"]
    names = {"lut": "LUT", "ff": "FF", "dsp": "DSP", "latency_cycles": "CYCLES"}
    print("\njet tagger 16-64-32-32-5, ap_fixed<16,6>, Latency, io_parallel, xcu250 (rule4ml: alveo-u250), 5 ns")
    print(f"{'estimator':<50}{'RF':>4}" + "".join(f"{c:>15}" for c in cols) + "  source")
    for rf in (1, 4):
        for h, v, label in (("1.1.0", "2023.2", "hls4ml 1.1.0, Vivado 2023.2"),
                            ("0.8.1", "2023.2", "hls4ml 0.8.1, Vivado 2023.2"),
                            (None, None, "mean of all its hls4ml/Vivado versions")):
            values = out.get("report", {}).get(jet_design(rf, h, v)["id"])
            shown = "".join(f"{values[names[c]]:>15,.0f}" for c in cols) if values else "  failed"
            print(f"{'rule4ml, ' + label:<50}{rf:>4}{shown}  v2 GNN")
        for model, label in (("16-64-32-32-5", "fpgaml, width string (weights unknown)"),
                             (float_jet, "fpgaml, float Keras (glorot, seed 0), hls4ml 1.3.0")):
            est = predict(model, part="xcu250", strategy="latency", reuse_factor=rf, precision="ap_fixed<16,6>")
            source = est.source + (" (outside training data)" if est.ood else "")
            print(f"{label:<50}{rf:>4}" + "".join(f"{est[c].value:>15,.0f}" for c in cols) + f"  {source}")
    print("reference (issue #6): Vivado HLS reports about 3,900 DSPs for this design at RF 1")


if __name__ == "__main__":
    main()
