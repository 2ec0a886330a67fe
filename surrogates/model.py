"""A trained surrogate: analytic coefficients + learned corrections + its domain and intervals.

Stored as two files side by side: ``NAME.pt``, a plain ``state_dict`` of tensors (loaded with
``torch.load(..., weights_only=True)``, so opening a weights file never runs code), and
``NAME.json``, everything else (feature list, analytic coefficients, training domain,
split-conformal interval widths, held-out metrics, data citation).
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..compiler.errors import UserError
from .analytic import TARGETS, AnalyticModel, totals
from .features import EDGE_FEATURES, GLOBAL_FEATURES, NODE_FEATURES, NodeTable
from .ood import Domain

WEIGHTS_DIR = Path(__file__).resolve().parent / "weights"
DEFAULT_NAME = "wahls4ml_dense"  # HLS designs: trained on wa-hls4ml's Vivado results
RTL_NAME = "openflow_yosys"  # da4ml RTL circuits: trained on our open-flow dataset (Yosys labels)
FORMAT = 1
UNCALIBRATED_Q = 0.7  # log1p half-width (x/ 2) for a target the data never measured (II)
OOD_MIN_Q = 0.5  # outside the domain: at least x/ 1.65, and twice the analytic model's own error
WIDTH_SCALE_OOD = 2.0
#: Where a model's labels came from, by label source ('vivado-synth': the shared wa-hls4ml CSVs).
CITATIONS = {
    "vivado-synth": "wa-hls4ml: A Benchmark and Surrogate Models for hls4ml Resource and Latency Estimation (2025); "
                    "data: Vivado/Vitis HLS 2023.2 results for xcu250 at 5 ns, flattened CSVs from jdweitz/wa-hls4ml "
                    "(data/), licence CC-BY-NC-4.0",
    "yosys": "fpgaml open-flow dataset (datasets/open_flow: HGQ2 networks -> da4ml 0.6.0 Verilog -> Yosys 0.23 "
             "synth_xilinx), made with `fpgaml dataset generate --label open`",
}


@dataclass
class Prediction:
    """Arrays for a batch of designs, in TARGETS order."""

    value: np.ndarray  # [designs, T]
    low: np.ndarray
    high: np.ndarray
    analytic: np.ndarray
    ood: np.ndarray  # [designs] bool
    reasons: list[list[str]]
    calibrated: np.ndarray  # [T] bool: interval width measured on held-out data
    source: np.ndarray  # [designs] 'analytic', or the network ('gnn', 'transformer') that corrected it


@dataclass
class Surrogate:
    analytic: AnalyticModel
    network: Any | None  # a ResidualCostModel (GNN or transformer), or None: analytic only
    domain: Domain
    q_network: np.ndarray  # [T] conformal half-widths (log1p space), NaN: uncalibrated
    q_analytic: np.ndarray
    meta: dict = field(default_factory=dict)

    # --- inference ---

    def predict_table(self, table: NodeTable, names: list[list[str]] | None = None) -> Prediction:
        nodes, const = self.analytic.node_costs(table)
        analytic = totals(table, nodes, const)
        reasons = self.domain.check(table, names)
        ood = np.fromiter((bool(r) for r in reasons), dtype=bool, count=table.n_graphs)
        value = analytic.copy()
        source = np.full(table.n_graphs, "analytic", dtype=object)
        if self.network is not None and not ood.all():
            import torch

            from .data import tensor_batch

            batch = tensor_batch(table, nodes, const)
            with torch.inference_mode(), _single_thread(torch):
                learned = self.network(*batch.model_args()).double().numpy()
            learned[:, TARGETS.index("ii")] = np.maximum(learned[:, TARGETS.index("ii")], 1.0)
            learned[:, TARGETS.index("latency_cycles")] = np.maximum(learned[:, TARGETS.index("latency_cycles")], 1.0)
            value[~ood] = learned[~ood]
            source[~ood] = self.network.config.arch
        calibrated = np.isfinite(self.q_network)
        q_in = np.where(calibrated, self.q_network, UNCALIBRATED_Q)
        q_an = np.where(np.isfinite(self.q_analytic), self.q_analytic, UNCALIBRATED_Q)
        q_out = np.maximum(WIDTH_SCALE_OOD * q_an, OOD_MIN_Q)
        q = np.where(ood[:, None], q_out[None, :], q_in[None, :])
        centre = np.log1p(value)
        low, high = np.expm1(np.maximum(centre - q, 0.0)), np.expm1(centre + q)
        # Resource counts and cycles are integers: a DSP estimate of 0.003 is 0 DSPs.
        value, analytic = np.round(value), np.round(analytic)
        low = np.minimum(np.maximum(np.floor(low + 1e-9), 0.0), value)
        high = np.maximum(np.ceil(high - 1e-9), value)
        cycles = [TARGETS.index("latency_cycles"), TARGETS.index("ii")]
        low[:, cycles] = np.maximum(low[:, cycles], 1.0)  # a design takes at least one cycle
        return Prediction(value=value, low=low, high=high, analytic=analytic, ood=ood, reasons=reasons,
                          calibrated=calibrated, source=source)

    # --- persistence ---

    def save(self, out_dir: Path, name: str = DEFAULT_NAME) -> tuple[Path, Path]:
        import torch

        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        meta = dict(self.meta)
        meta.update(
            format=FORMAT,
            targets=list(TARGETS),
            node_features=list(NODE_FEATURES) + list(GLOBAL_FEATURES),
            edge_features=list(EDGE_FEATURES),
            analytic=self.analytic.to_dict(),
            domain=self.domain.to_dict(),
            conformal={**meta.get("conformal", {}), "q_network": _q_dict(self.q_network),
                       "q_analytic": _q_dict(self.q_analytic)},
            citation="; ".join(CITATIONS.get(src, f"labels from {src}")
                               for src in meta.get("training", {}).get("label_source", [])),
        )
        pt = out_dir / f"{name}.pt"
        if self.network is not None:
            meta["network"] = self.network.config.to_dict()
            torch.save({k: v.detach().clone() for k, v in self.network.state_dict().items()}, pt)
        else:
            meta.pop("network", None)
        js = out_dir / f"{name}.json"
        js.write_text(json.dumps(meta, indent=1, default=_json_default) + "\n")
        return pt, js

    @classmethod
    def load(cls, model_dir: str | Path | None = None, name: str = DEFAULT_NAME) -> "Surrogate":
        """Load ``NAME.json`` (+ ``NAME.pt``) from ``model_dir`` (default: the shipped weights)."""
        directory = Path(model_dir) if model_dir is not None else WEIGHTS_DIR
        js = directory / f"{name}.json"
        if not js.is_file():
            candidates = sorted(directory.glob("*.json")) if directory.is_dir() else []
            if len(candidates) == 1:
                js = candidates[0]
            else:
                raise UserError(f"{directory}: no surrogate weights '{name}.json' (train with fpgaml surrogate train)")
        meta = json.loads(js.read_text())
        if meta.get("format") != FORMAT:
            raise UserError(f"{js}: surrogate format {meta.get('format')} is not {FORMAT}; retrain it")
        if meta.get("node_features") != list(NODE_FEATURES) + list(GLOBAL_FEATURES):
            raise UserError(f"{js}: trained with a different feature set; retrain it with this fpgaml")
        network = _LazyNetwork(meta["network"], js.with_suffix(".pt")) if "network" in meta else None
        conf = meta.get("conformal", {})
        return cls(analytic=AnalyticModel.from_dict(meta["analytic"]), network=network,
                   domain=Domain.from_dict(meta["domain"]), q_network=_q_array(conf.get("q_network")),
                   q_analytic=_q_array(conf.get("q_analytic")), meta=meta)


class _LazyNetwork:
    """The stored network, built and loaded on first use.

    Importing PyTorch Geometric costs 2-3 s, and a design outside the training domain (every
    Latency-strategy build with the shipped weights) is answered by the analytic model alone,
    so `fpgaml build` and `fpgaml predict` should not pay for it. Weights load with
    ``weights_only=True``.
    """

    def __init__(self, config: dict, weights: Path) -> None:
        self._config, self._weights, self._module = config, weights, None

    def module(self) -> Any:
        if self._module is None:
            import torch

            from .residual import NetworkConfig, build_network

            module = build_network(NetworkConfig.from_dict(self._config))
            module.load_state_dict(torch.load(self._weights, map_location="cpu", weights_only=True))
            self._module = module.eval()
        return self._module

    def __call__(self, *args: Any) -> Any:
        return self.module()(*args)

    def __getattr__(self, name: str) -> Any:  # config, state_dict, ...: the real module's
        return getattr(self.module(), name)


@contextlib.contextmanager
def _single_thread(torch: Any) -> Iterator[None]:
    """Run the network on one intra-op thread. Its tensors are small (64 features per node), so
    fanning each op out to threads costs more than it saves; on the 2-core development
    machine, shared with compile jobs, 10,000 designs took 95 ms on one thread and 550-1,070
    ms on two. The previous setting is restored afterwards."""
    previous = torch.get_num_threads()
    if previous != 1:
        torch.set_num_threads(1)
    try:
        yield
    finally:
        if previous != 1:
            torch.set_num_threads(previous)


def default_weights(pipeline_stages: Any) -> str:
    """The shipped weights for a batch of designs given their RTL pipeline stages: the open
    flow's when every design is an RTL circuit (stages > 0), else the HLS ones."""
    stages = np.asarray(pipeline_stages, dtype=np.float64)
    return RTL_NAME if stages.size and bool((stages > 0).all()) else DEFAULT_NAME


_CACHE: dict[tuple[str, str], Surrogate] = {}
_LOCK = threading.Lock()


def load_surrogate(model_dir: str | Path | None = None, name: str = DEFAULT_NAME) -> Surrogate:
    """:meth:`Surrogate.load`, cached per (directory, name): loading takes ~50 ms, a prediction ~1 ms."""
    key = (str(Path(model_dir).resolve()) if model_dir is not None else "", name)
    with _LOCK:
        if key not in _CACHE:
            _CACHE[key] = Surrogate.load(model_dir, name)
        return _CACHE[key]


def _q_dict(q: np.ndarray) -> dict[str, float | None]:
    return {t: (float(v) if np.isfinite(v) else None) for t, v in zip(TARGETS, q)}


def _q_array(d: dict | None) -> np.ndarray:
    d = d or {}
    return np.array([np.nan if d.get(t) is None else float(d[t]) for t in TARGETS])


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    return str(o)
