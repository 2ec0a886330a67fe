"""rule4ml's side of the benchmarks: dense designs in (JSON), rule4ml's predictions and timings out.

It imports neither fpgaml nor anything of this project, so it runs in whichever Python has
rule4ml (the project's, after ``pip install -e ".[bench]"``, or any other); ``rule4ml_compare.py``
and ``surrogate_speed.py`` import it when rule4ml is importable in their own Python, or call it
as a subprocess with ``--rule4ml-python``.

    python benchmarks/rule4ml_worker.py REQUEST.json RESPONSE.json

Request: ``{"threads": 1, "repeats": 1, "designs": [DESIGN, ...], "report": [DESIGN, ...], "single":
DESIGN + {"reuse_factors": [...], "calls": 20}}``, every section optional: ``designs`` are predicted
in batches and timed, ``report`` designs are predicted once each, untimed, ``single`` times one
call at a time. A DESIGN: ``id``, ``widths`` ([16, 64, 32, 32, 5]),
``hidden_activation`` / ``output_activation`` (null: none, as in wa-hls4ml's dense networks),
``precision`` ("ap_fixed<16,6>"), ``reuse_factor``, ``strategy``, ``board`` (rule4ml's name,
e.g. "alveo-u250"), ``hls4ml_version`` and ``vivado_version`` (null: rule4ml predicts every version
it knows, and this worker takes the mean of those rows).

Each design becomes a Keras functional model (InputLayer + Dense layers) and goes through
rule4ml's public API, ``MultiModelWrapper.load_default_models()`` + ``predict(models,
hls_configs=..., hls4ml_versions=..., vivado_versions=...)``. That call predicts the product
models x configs, so designs are grouped by configuration and each group is one batched call.
Timed: building the Keras models (our adapter, not rule4ml) and the ``predict`` calls.

Response: ``{"rule4ml_version", "torch_threads", "predictions": {id: {"BRAM", "DSP", "FF", "LUT",
"CYCLES", "INTERVAL"}}, "report": {id: {...}}, "errors": {id: message}, "timing": {...}, "single":
{"seconds": [...]}}``. rule4ml's own units: BRAM as it learned it (see rule4ml_compare.py).
"""

from __future__ import annotations

import json
import os
import sys
import time
from collections import defaultdict
from typing import Any

TARGETS = ("BRAM", "DSP", "FF", "LUT", "CYCLES", "INTERVAL")


def available() -> str | None:
    """None when rule4ml can be imported here, else why not (one line)."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    try:
        import rule4ml  # noqa: F401
        from rule4ml.models.wrappers import MultiModelWrapper  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - any import failure means "not available"
        return f"{type(exc).__name__}: {exc}".splitlines()[0]
    return None


def _keras_model(design: dict, name: str) -> Any:
    import keras

    widths = [int(w) for w in design["widths"]]
    hidden, output = design.get("hidden_activation"), design.get("output_activation")
    inputs = keras.Input(shape=(widths[0],), name=f"{name}_input")
    x = inputs
    for i, width in enumerate(widths[1:]):
        last = i == len(widths) - 2
        x = keras.layers.Dense(width, activation=(output if last else hidden) or None, name=f"{name}_dense_{i}")(x)
    model = keras.Model(inputs, x, name=name)
    model.build((None, widths[0]))
    return model


def _config_key(design: dict) -> tuple:
    return (str(design["board"]), str(design["strategy"]).lower(), str(design["precision"]),
            int(design["reuse_factor"]), design.get("hls4ml_version"), design.get("vivado_version"))


def _hls_config(key: tuple) -> dict:
    board, strategy, precision, rf, _, _ = key
    return {"board": board, "model": {"strategy": strategy, "precision": precision, "reuse_factor": rf}}


class Estimator:
    """rule4ml's default estimators (v2 GNN), loaded once."""

    def __init__(self, threads: int = 1) -> None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
        t0 = time.perf_counter()
        import torch  # before rule4ml: the thread count must be set before the first op

        if threads:
            torch.set_num_threads(int(threads))
        import rule4ml
        from rule4ml.models.wrappers import MultiModelWrapper

        self.import_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        self.wrapper = MultiModelWrapper()
        self.wrapper.load_default_models()
        self.load_s = time.perf_counter() - t0
        self.version = getattr(rule4ml, "__version__", "?")
        self.threads = torch.get_num_threads()

    def predict_group(self, models: list, key: tuple) -> dict[str, dict[str, float]]:
        """One rule4ml call: every model at one configuration. {model name: {target: value}}."""
        kwargs: dict[str, Any] = {"hls_configs": [_hls_config(key)], "round_digits": 6}
        if key[4] is not None:
            kwargs["hls4ml_versions"] = [str(key[4])]
        if key[5] is not None:
            kwargs["vivado_versions"] = [str(key[5])]
        frame = self.wrapper.predict(models, **kwargs)
        out: dict[str, dict[str, float]] = {}
        # Without a version rule4ml predicts every version it knows: the mean of those rows.
        for name, rows in frame.groupby("Model", observed=True):
            out[str(name)] = {t: float(rows[t].astype(float).mean()) for t in TARGETS if t in rows}
        return out


def run(request: dict) -> dict:
    """Predict and time what ``request`` asks (see the module docstring)."""
    est = Estimator(request.get("threads", 1))
    response: dict[str, Any] = {"rule4ml_version": est.version, "torch_threads": est.threads,
                                "predictions": {}, "errors": {},
                                "timing": {"import_s": est.import_s, "load_s": est.load_s}}
    designs = request.get("designs") or []
    if designs:
        t0 = time.perf_counter()
        models, groups = {}, defaultdict(list)
        for i, design in enumerate(designs):
            name = f"m{i}"
            models[name] = (design, _keras_model(design, name))
            groups[_config_key(design)].append(name)
        build_s = time.perf_counter() - t0
        predict_s = []
        for _ in range(max(1, int(request.get("repeats", 1)))):
            t0 = time.perf_counter()
            for key, names in groups.items():
                try:
                    result = est.predict_group([models[n][1] for n in names], key)
                except Exception as exc:  # noqa: BLE001 - reported per design, the rest still counts
                    for n in names:
                        response["errors"][str(models[n][0]["id"])] = f"{type(exc).__name__}: {exc}"[:300]
                    continue
                for n in names:
                    if n in result:
                        response["predictions"][str(models[n][0]["id"])] = result[n]
            predict_s.append(time.perf_counter() - t0)
        response["timing"].update(build_s=build_s, predict_s=predict_s, n_designs=len(designs),
                                  n_calls=len(groups))
    report = request.get("report") or []
    if report:  # predicted once, untimed (e.g. the jet tagger's numbers for a table)
        response["report"] = {}
        for i, design in enumerate(report):
            try:
                result = est.predict_group([_keras_model(design, f"r{i}")], _config_key(design))
                response["report"][str(design["id"])] = result[f"r{i}"]
            except Exception as exc:  # noqa: BLE001
                response["errors"][str(design["id"])] = f"{type(exc).__name__}: {exc}"[:300]
    single = request.get("single")
    if single:
        # One design, one rule4ml call each time, the reuse factor changing each call (as the
        # fpgaml single-prediction timing does). The model is built once: a caller has it already.
        model = _keras_model(single, "single")
        rfs = [int(r) for r in single.get("reuse_factors") or [single["reuse_factor"]]]
        times = []
        for i in range(int(single.get("calls", 20)) + 1):
            key = _config_key({**single, "reuse_factor": rfs[i % len(rfs)]})
            t0 = time.perf_counter()
            est.predict_group([model], key)
            if i:  # the first call warms up TensorFlow/torch
                times.append(time.perf_counter() - t0)
        response["single"] = {"seconds": times, "reuse_factors": rfs}
    return response


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: python benchmarks/rule4ml_worker.py REQUEST.json RESPONSE.json", file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    why = available()
    import_s = time.perf_counter() - t0
    if why is not None:
        with open(argv[1], "w") as f:
            json.dump({"error": f"rule4ml not importable in {sys.executable}: {why}"}, f)
        return 3
    with open(argv[0]) as f:
        request = json.load(f)
    response = run(request)
    response["timing"]["import_s"] = import_s  # tensorflow, keras, torch, rule4ml
    with open(argv[1], "w") as f:
        json.dump(response, f)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
