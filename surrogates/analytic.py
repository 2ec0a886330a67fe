"""An analytic model of what hls4ml's generated HLS costs, layer by layer.

Why analytic first: the real data (wa-hls4ml) cover one corner of the design space (Resource
strategy, RF 1024-4093, 16-bit activations). A model that knows *why* a design costs what it
costs can still answer outside that corner; a learned model only corrects it inside.

Each layer's cost is a sum of physical terms ("bases") with one coefficient each:

* multipliers per cycle P = ceil(n_in*n_out / RF) (hls4ml's ``multiplier_limit``); with the
  Latency strategy at RF=1 the weights are constants, so zero weights vanish and each
  constant multiplies with its *effective* width (trailing zeros are a shift);
* a product w x x bits goes to a DSP when w*x exceeds a threshold (fitted: 16x8 bits uses
  a DSP in the data, 16x4 never, 16x6 rarely), else to ~w*x LUTs; one DSP48E2 takes 27x18;
* adders per cycle (P accumulations of the accumulator width), input multiplexers of the
  Resource strategy (each multiplier picks among min(RF, n_in) inputs), accumulator muxes;
* Resource-strategy weights live in a ROM RF deep and P*w bits wide (BRAM18 shapes
  512x36 ... 16Kx1, or LUT ROM);
* latency: RF cycles per layer plus a pipeline depth (Resource: constant; Latency: an
  adder tree of log2(n_in) levels, ~3 adds per 5 ns cycle); II: the top pipeline's II is
  the largest RF (Latency, "pipeline" style), or the slowest dataflow process (Resource).

Coefficients start at physical priors and are calibrated by least squares on log scale
(log1p, so zero DSP/BRAM counts are fine) against real results, with a pull toward the prior
so that terms the data cannot see (e.g. the adder tree, absent from Resource-only data) keep
their prior values. The model is summed per design; per-layer costs are kept for the GNN,
which learns a correction per layer.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .features import KINDS, NodeTable, mults_per_cycle

TARGETS = ("lut", "ff", "dsp", "bram", "latency_cycles", "ii")
#: Targets whose per-design constant stays 0: a design without multipliers or memories has none.
ZERO_CONST = frozenset({"dsp", "bram"})
#: Per target: the bases, each with its prior coefficient.
PRIORS: dict[str, dict[str, float]] = {
    "lut": {"mult_lut": 0.5, "adder_lut": 1.0, "adder_dsp": 1.0, "input_mux": 0.35, "acc_mux": 1.0, "rom_lut": 1.0,
            "elementwise": 0.5, "weight_layer": 200.0, "table_lut": 1.0, "const": 200.0},
    "ff": {"pipeline_resource": 1.0, "pipeline_latency": 1.0, "accumulator": 1.0, "output": 1.0, "output_dataflow": 1.0,
           "input": 1.0,
           "elementwise": 1.0, "weight_layer": 100.0, "rtl_stage": 0.5, "const": 200.0},
    "dsp": {"dsp_mults": 1.0, "const": 0.0},
    "bram": {"rom_bram": 1.0, "rom_lane_lut": 1.0, "rom_lane_dsp": 0.2, "table_bram": 1.0,
             "resource_layer": 0.5, "const": 0.0},
    "latency_cycles": {"sequential": 1.0, "resource_layer": 2.0, "adder_tree": 1.0, "latency_layer": 1.0,
                       "elementwise_stage": 0.5, "table_stage": 3.0, "rtl_stages": 1.0, "const": 0.0},
    "ii": {},
}
DSP_LOG2_THRESHOLD = math.log2(112.0)  # prior: w*x bits above ~112 go to a DSP
DSP_SOFTNESS = 0.1
ADD_NS = 1.6  # prior: one accumulator-wide add plus routing, for the adder-tree depth
_BRAM_SHAPES = ((512, 36), (1024, 18), (2048, 9), (4096, 4), (8192, 2), (16384, 1))
_K = {k: i for i, k in enumerate(KINDS)}
_ELEMENTWISE = [_K[k] for k in ("activation", "table_activation", "pooling", "quantizer", "merge", "other")]


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(z, -60, 60)))


def _dsp_per_mult(a: np.ndarray, b: np.ndarray, family: np.ndarray) -> np.ndarray:
    """DSP slices per wide product: DSP48E2 (UltraScale) multiplies 27x18, DSP48E1 (7-series) 25x18."""
    hi, lo = np.maximum(a, b), np.minimum(a, b)
    big = np.where(family == 1, 25.0, 27.0)
    return np.ceil(np.maximum(hi, 1) / big) * np.ceil(np.maximum(lo, 1) / 18.0)


def bram18_count(depth: np.ndarray, width: np.ndarray) -> np.ndarray:
    """Fewest BRAM18 blocks holding a depth x width ROM, over the block's aspect ratios."""
    counts = [np.ceil(depth / d) * np.ceil(width / w) for d, w in _BRAM_SHAPES]
    return np.min(np.stack(counts), axis=0) * (width > 0)


@dataclass
class Derived:
    """Per-node physical quantities shared by the bases (computed once per table)."""

    weight: np.ndarray  # layer has multipliers
    resource: np.ndarray
    constant_mults: np.ndarray  # Latency at RF=1: weights are constants
    P: np.ndarray  # multipliers per cycle actually built
    dsp_frac: np.ndarray  # fraction of multipliers mapped to DSPs
    dsp_each: np.ndarray  # DSPs per DSP-mapped multiplier
    lut_mult_bits: np.ndarray  # sum over LUT-mapped multipliers of w*x
    out_elems: np.ndarray
    elementwise: np.ndarray
    family: np.ndarray


def derive(t: NodeTable, log2_threshold: float, softness: float) -> Derived:
    num = t.num
    weight = num["multiplies"] > 0  # every layer with multipliers (einsums of activations too)
    resource = num["resource"] > 0
    rf = np.maximum(num["rf"], 1)
    constant = weight & (num["has_weights"] > 0) & ~resource & (rf == 1)
    family = t.glob["family"][t.graph]
    xb = num["input_bits"]
    zeros = np.maximum(num["n_weights"] - num["n_nonzero"], 0)
    base = mults_per_cycle(t)
    # hls4ml: multiplier_limit = DIV_ROUNDUP(n_in*n_out, RF) - n_zeros / RF (Latency trims zeros)
    P = np.where(weight & ~resource, np.maximum(base - np.floor(zeros / rf) * num["parallel"], 0), base)
    # declared-width multipliers
    prod = np.maximum(num["weight_bits"] * xb, 1)
    frac_decl = _sigmoid((np.log2(prod) - log2_threshold) / softness)
    each_decl = _dsp_per_mult(num["weight_bits"], xb, family)
    # constant multipliers at RF=1: per effective width (only those rows: the histogram is wide)
    frac_const, each_const, lut_bits_const = np.zeros(len(t)), np.ones(len(t)), np.zeros(len(t))
    rows = np.flatnonzero(constant)
    if rows.size:
        hist = t.hist[rows]
        widths = np.arange(hist.shape[1], dtype=np.float64)
        safe = np.maximum(hist.sum(axis=1), 1)
        prod_w = np.maximum(widths[None, :] * xb[rows, None], 1)
        frac_w = _sigmoid((np.log2(prod_w) - log2_threshold) / softness)
        each_w = _dsp_per_mult(np.broadcast_to(widths[None, :], hist.shape), xb[rows, None], family[rows, None])
        on_dsp = hist * frac_w
        frac_const[rows] = on_dsp.sum(axis=1) / safe
        each_const[rows] = np.where(frac_const[rows] > 0, (on_dsp * each_w).sum(axis=1) /
                                    np.maximum(on_dsp.sum(axis=1), 1e-12), 1.0)
        lut_bits_const[rows] = (hist * (1 - frac_w) * prod_w).sum(axis=1) / safe
    dsp_frac = np.where(constant, frac_const, frac_decl)
    dsp_each = np.where(constant, each_const, each_decl)
    lut_bits_each = np.where(constant, lut_bits_const, (1 - frac_decl) * prod)
    out_elems = num["n_out"] * num["positions"]
    return Derived(weight=weight, resource=resource, constant_mults=constant, P=P * weight, dsp_frac=dsp_frac * weight,
                   dsp_each=dsp_each, lut_mult_bits=P * lut_bits_each * weight, out_elems=out_elems,
                   elementwise=np.isin(t.kind, _ELEMENTWISE), family=family)


def bases(t: NodeTable, d: Derived) -> dict[str, dict[str, np.ndarray]]:
    """Per target, per basis: the per-node value (coefficient 1). See the module docstring."""
    num = t.num
    rf = np.maximum(num["rf"], 1)
    xb, wb, ab, rb = num["input_bits"], num["weight_bits"], num["accum_bits"], num["result_bits"]
    w, res = d.weight, d.resource
    rom = (num["has_weights"] > 0) & res & (rf > 1)  # Resource-strategy weights sit in a ROM
    mux_inputs = np.minimum(rf, num["n_in"])
    deep = np.clip(np.log2(rf / 32.0) / 2.0, 0.0, 1.0)
    dataflow = t.glob["dataflow"][t.graph] > 0
    is_input = t.kind == _K["input"]
    is_table = t.kind == _K["table_activation"]
    seq = np.ceil(num["positions"] / np.maximum(num["parallel"], 1)) * rf
    adds_per_cycle = np.maximum(1.0, np.floor(t.glob["clock"][t.graph] / ADD_NS))
    tree = np.ceil(np.log2(np.maximum(num["n_in"], 2)) / adds_per_cycle)
    ew_bits = d.out_elems * xb * d.elementwise
    out_bits = d.out_elems * rb * (t.kind != _K["reshape"])
    # da4ml RTL circuits (the open flow): constant multiplications are adder graphs (no DSP),
    # latency is the register stages + 1 cycle, registers sit at the stage cuts.
    stages = t.glob["stages"][t.graph]
    rtl = stages > 0
    hls = ~rtl
    f = lambda x: np.asarray(x, dtype=np.float64)  # noqa: E731
    return {
        "lut": {
            "mult_lut": f(d.lut_mult_bits),
            # the add that follows a DSP multiplier may live in the DSP's own ALU
            "adder_lut": f(d.P * (1 - d.dsp_frac) * ab),
            "adder_dsp": f(d.P * d.dsp_frac * ab),
            "input_mux": f(w * d.P * xb * (mux_inputs - 1)),
            "acc_mux": f(w * (rf > num["n_in"]) * num["n_out"] * ab),
            "rom_lut": f(rom * d.P * wb * rf / 64.0),
            "elementwise": f(ew_bits),
            "weight_layer": f(w),
            "table_lut": f(num["table_bits"] / 64.0),
        },
        "ff": {
            # Resource: one accumulator per multiplier plus registers around LUT multipliers
            # (a DSP keeps its pipeline registers inside the slice).
            "pipeline_resource": f(res * d.P * ((1 - d.dsp_frac) * (wb + xb) + ab)),
            # Latency: registers only at pipeline-stage boundaries of the adder tree (one
            # stage per adds_per_cycle levels keeps ~1/(2^k - 1) of the partial sums).
            "pipeline_latency": f((w & ~res) * d.P * (ab / (2.0 ** adds_per_cycle - 1) + (1 - d.dsp_frac) * xb / 2)),
            "accumulator": f(w * num["n_out"] * ab),
            "output": f(out_bits),
            "output_dataflow": f(out_bits * dataflow),
            "input": f(is_input * d.out_elems * rb),
            "elementwise": f(ew_bits),
            "weight_layer": f(w),
            "rtl_stage": f(rtl * stages * out_bits),
        },
        "dsp": {"dsp_mults": f(hls * d.P * d.dsp_frac * d.dsp_each)},
        "bram": {
            "rom_bram": f(rom * bram18_count(rf, d.P * wb) * deep),
            # Vivado often splits the reshaped weight ROM into one memory per multiplier lane;
            # shallow ROMs (RF <= 32) stay in LUTs, so lanes count fully from RF = 128 on.
            "rom_lane_lut": f(rom * d.P * (1 - d.dsp_frac) * deep),
            "rom_lane_dsp": f(rom * d.P * d.dsp_frac * deep),
            "table_bram": f(np.ceil(num["table_bits"] / 18432.0)),
            "resource_layer": f(w & res),
        },
        "latency_cycles": {
            "sequential": f(hls * w * seq),
            "resource_layer": f(hls & w & res),
            "adder_tree": f((hls & w & ~res) * tree),
            "latency_layer": f(hls & w & ~res),
            "elementwise_stage": f(hls & d.elementwise & ~is_table),
            "table_stage": f(hls & is_table),
            "rtl_stages": f(rtl * is_input * (stages + 1)),
        },
    }


@dataclass
class AnalyticModel:
    """Coefficients per target and basis (plus a per-design ``const``) and the DSP threshold."""

    coef: dict[str, dict[str, float]] = field(default_factory=lambda: {t: dict(p) for t, p in PRIORS.items()})
    dsp_log2_threshold: float = DSP_LOG2_THRESHOLD
    dsp_softness: float = DSP_SOFTNESS
    calibrated_on: str = "priors only"

    # --- evaluation ---

    def node_costs(self, t: NodeTable) -> tuple[np.ndarray, np.ndarray]:
        """(per-node cost [nodes, 6], per-design constant [designs, 6]) in TARGETS order.

        For ``ii`` the per-node value is that node's initiation interval; the design's II is
        their maximum (see :meth:`predict`), not their sum.
        """
        d = derive(t, self.dsp_log2_threshold, self.dsp_softness)
        b = bases(t, d)
        nodes = np.zeros((len(t), len(TARGETS)))
        const = np.zeros((t.n_graphs, len(TARGETS)))
        for j, target in enumerate(TARGETS[:-1]):
            for name, values in b[target].items():
                nodes[:, j] += self.coef[target].get(name, 0.0) * values
            const[:, j] = self.coef[target].get("const", 0.0)
        lat = nodes[:, TARGETS.index("latency_cycles")]
        rf = np.maximum(t.num["rf"], 1)
        dataflow = t.glob["dataflow"][t.graph] > 0
        pipeline_ii = d.weight * rf * np.ceil(t.num["positions"] / np.maximum(t.num["parallel"], 1))
        rtl = t.glob["stages"][t.graph] > 0  # da4ml circuits are fully pipelined: II = 1
        nodes[:, -1] = np.where(rtl, 1.0, np.where(dataflow, lat, pipeline_ii))
        return nodes, const

    def predict(self, t: NodeTable) -> np.ndarray:
        """[designs, 6] totals: sums of per-node costs plus the constant; II is a maximum."""
        return totals(t, *self.node_costs(t))

    # --- calibration ---

    def fit(self, t: NodeTable, y: np.ndarray, *, pull: float = 1e-3, source: str = "") -> "AnalyticModel":
        """Calibrate on designs with known results ``y`` [designs, 6] (NaN = unknown).

        Minimizes mean (log1p(pred) - log1p(y))^2 per target, plus ``pull`` x the squared
        log-distance of each coefficient from its prior. The DSP threshold is fitted first
        (it decides which products are multipliers in LUTs, which the LUT fit then needs).
        """
        import torch

        model = AnalyticModel(coef={k: dict(v) for k, v in self.coef.items()},
                              dsp_log2_threshold=self.dsp_log2_threshold,
                              dsp_softness=self.dsp_softness, calibrated_on=source or self.calibrated_on)
        graph = torch.from_numpy(t.graph)
        dsp_col = TARGETS.index("dsp")
        if np.isfinite(y[:, dsp_col]).sum() > 10:
            model._fit_dsp(t, y[:, dsp_col], pull)
        b = bases(t, derive(t, model.dsp_log2_threshold, model.dsp_softness))
        for j, target in enumerate(TARGETS[:-1]):
            if target == "dsp":
                continue
            known = np.isfinite(y[:, j])
            if known.sum() < 10:
                continue
            names = list(b[target])
            B = torch.from_numpy(np.stack([b[target][n] for n in names], axis=1))
            prior = torch.tensor([max(PRIORS[target][n], 1e-6) for n in names], dtype=torch.float64)
            log_c = torch.log(torch.tensor([max(model.coef[target][n], 1e-6) for n in names], dtype=torch.float64))
            log_c.requires_grad_(True)
            signed_const = target == "latency_cycles"
            c0 = torch.tensor([model.coef[target]["const"] if signed_const else
                               math.log(max(model.coef[target]["const"], 1e-3))], dtype=torch.float64,
                              requires_grad=True)
            yt = torch.from_numpy(np.log1p(np.where(known, y[:, j], 0.0)))
            mask = torch.from_numpy(known)
            used = B.abs().sum(0) > 0  # only bases the data exercise move away from the prior

            def loss_fn() -> torch.Tensor:
                per_node = B @ torch.exp(log_c)
                total = torch.zeros(t.n_graphs, dtype=torch.float64).index_add(0, graph, per_node)
                if target not in ZERO_CONST:
                    total = total + (c0 if signed_const else torch.exp(c0))
                err = torch.log1p(total.clamp_min(0.0)) - yt
                return (err[mask] ** 2).mean() + pull * ((log_c - torch.log(prior))[used] ** 2).sum()

            _lbfgs([log_c] if target in ZERO_CONST else [log_c, c0], loss_fn)
            for name, value in zip(names, torch.exp(log_c).tolist()):
                model.coef[target][name] = float(value)
            if target not in ZERO_CONST:
                model.coef[target]["const"] = float(c0.item() if signed_const else math.exp(c0.item()))
        return model

    def _fit_dsp(self, t: NodeTable, y: np.ndarray, pull: float) -> None:
        import torch

        known = np.isfinite(y)
        yt = torch.from_numpy(np.log1p(np.where(known, y, 0.0)))
        mask = torch.from_numpy(known)
        graph = torch.from_numpy(t.graph)
        num = t.num
        d = derive(t, self.dsp_log2_threshold, self.dsp_softness)
        # Non-constant (declared-width) multipliers only: RF=1 Latency rows keep the prior rule.
        prod = torch.from_numpy(np.log2(np.maximum(num["weight_bits"] * num["input_bits"], 1)))
        scale = torch.from_numpy(d.P * d.dsp_each * ~d.constant_mults)
        params = torch.tensor([math.log(max(self.coef["dsp"]["dsp_mults"], 1e-6)), self.dsp_log2_threshold,
                               math.log(self.dsp_softness)], dtype=torch.float64, requires_grad=True)

        def loss_fn() -> torch.Tensor:
            frac = torch.sigmoid((prod - params[1]) / torch.exp(params[2]))
            total = torch.zeros(t.n_graphs, dtype=torch.float64).index_add(0, graph, scale * frac)
            err = torch.log1p(torch.exp(params[0]) * total) - yt
            return (err[mask] ** 2).mean() + pull * (params[0] ** 2)

        _lbfgs([params], loss_fn)
        self.coef["dsp"]["dsp_mults"] = float(math.exp(params[0].item()))
        self.dsp_log2_threshold = float(params[1].item())
        self.dsp_softness = float(max(math.exp(params[2].item()), 0.02))

    # --- persistence ---

    def to_dict(self) -> dict:
        return {"coef": self.coef, "dsp_log2_threshold": self.dsp_log2_threshold, "dsp_softness": self.dsp_softness,
                "calibrated_on": self.calibrated_on}

    @classmethod
    def from_dict(cls, data: dict) -> "AnalyticModel":
        coef = {t: dict(PRIORS[t]) | dict(data.get("coef", {}).get(t, {})) for t in PRIORS}
        return cls(coef=coef, dsp_log2_threshold=float(data.get("dsp_log2_threshold", DSP_LOG2_THRESHOLD)),
                   dsp_softness=float(data.get("dsp_softness", DSP_SOFTNESS)),
                   calibrated_on=str(data.get("calibrated_on", "")))

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_dict(), indent=1))

    @classmethod
    def load(cls, path: Path) -> "AnalyticModel":
        return cls.from_dict(json.loads(Path(path).read_text()))


def totals(t: NodeTable, nodes: np.ndarray, const: np.ndarray) -> np.ndarray:
    """Design totals from per-node costs: sums (plus the constant), except II (a maximum);
    latency and II are at least one cycle."""
    total = const.copy()
    np.add.at(total, t.graph, nodes)
    ii = np.ones(t.n_graphs)
    np.maximum.at(ii, t.graph, nodes[:, -1])
    total[:, -1] = ii
    lat = TARGETS.index("latency_cycles")
    total[:, lat] = np.maximum(total[:, lat], 1.0)
    return np.maximum(total, 0.0)


def _lbfgs(params: list, loss_fn, iters: int = 300) -> None:
    import torch

    opt = torch.optim.LBFGS(params, lr=0.5, max_iter=iters, line_search_fn="strong_wolfe", tolerance_grad=1e-10,
                            tolerance_change=1e-12)

    def closure() -> torch.Tensor:
        opt.zero_grad()
        loss = loss_fn()
        loss.backward()
        return loss

    opt.step(closure)
