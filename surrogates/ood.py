"""Where the training data stop: the domain of the designs a surrogate was trained on.

A model trained on wa-hls4ml's Resource-strategy, RF >= 1024, 16-bit-activation dense nets
has never seen a Latency-strategy trigger network at RF=1; its corrections there are
extrapolations of unknown quality. So every prediction is checked against the recorded
domain -- categories never seen (strategy, io type, layer kinds, part, clock) and numbers
outside the seen range (per weight layer: fan-in, outputs, widths, reuse factor, multipliers
per cycle; per design: weight layers, multiplications) -- and, if outside, the estimate
falls back to the analytic model with wider intervals and says why.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .features import KINDS, NodeTable, mults_per_cycle

#: Per weight layer: name in the reason string -> NodeTable column (or derived).
LAYER_RANGES = ("rf", "weight_bits", "input_bits", "accum_bits", "result_bits", "n_in", "n_out", "mults_per_cycle",
                "positions")
_LABEL = {"n_in": "fan-in", "n_out": "outputs", "weight_bits": "weight bits", "input_bits": "input bits",
          "accum_bits": "accumulator bits", "result_bits": "result bits", "rf": "reuse factor",
          "mults_per_cycle": "multipliers per cycle", "positions": "output positions",
          "n_weight_layers": "layers with multipliers", "total_mults": "multiplications",
          "pipeline_stages": "RTL pipeline stages (0: an HLS design)"}
MAX_REASONS = 8


@dataclass
class Domain:
    """Seen categories and [min, max] ranges, stored in the weights' JSON metadata."""

    strategies: list[str] = field(default_factory=list)
    io_types: list[str] = field(default_factory=list)
    devices: list[str] = field(default_factory=list)
    clocks: list[float] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    ranges: dict[str, list[float]] = field(default_factory=dict)

    @classmethod
    def from_table(cls, t: NodeTable) -> "Domain":
        cols = _layer_columns(t)
        w = t.num["multiplies"] > 0
        ranges = {k: [float(v[w].min()), float(v[w].max())] for k, v in cols.items()}
        for k, v in _design_columns(t).items():
            ranges[k] = [float(v.min()), float(v.max())]
        return cls(
            strategies=sorted({_STRAT[int(s)] for s in t.glob["strategy"]}),
            io_types=sorted({"io_stream" if i else "io_parallel" for i in t.glob["io"]}),
            devices=sorted({str(d) for d in t.glob["device"]}),
            clocks=sorted({float(c) for c in t.glob["clock"]}),
            kinds=sorted({KINDS[k] for k in np.unique(t.kind)}),
            ranges=ranges,
        )

    def to_dict(self) -> dict:
        return {"strategies": self.strategies, "io_types": self.io_types, "devices": self.devices,
                "clocks": self.clocks, "kinds": self.kinds, "ranges": self.ranges}

    @classmethod
    def from_dict(cls, d: dict) -> "Domain":
        return cls(**{k: d.get(k, [] if k != "ranges" else {}) for k in ("strategies", "io_types", "devices", "clocks",
                                                                          "kinds", "ranges")})

    def check(self, t: NodeTable, names: Sequence[Sequence[str]] | None = None) -> list[list[str]]:
        """Per design: the reasons it lies outside this domain (empty list: inside)."""
        reasons: list[list[str]] = [[] for _ in range(t.n_graphs)]
        seen = lambda vals: ", ".join(map(str, vals)) or "none"  # noqa: E731
        for g in range(t.n_graphs):
            s = _STRAT[int(t.glob["strategy"][g])]
            if s not in self.strategies:
                reasons[g].append(f"strategy '{s}' never seen in training (seen: {seen(self.strategies)})")
            io = "io_stream" if t.glob["io"][g] else "io_parallel"
            if io not in self.io_types:
                reasons[g].append(f"io type '{io}' never seen (seen: {seen(self.io_types)})")
            dev = str(t.glob["device"][g])
            if dev not in self.devices:
                reasons[g].append(f"part '{dev}' never seen (seen: {seen(self.devices)})")
            clk = float(t.glob["clock"][g])
            if self.clocks and not any(abs(clk - c) < 1e-6 for c in self.clocks):
                reasons[g].append(f"clock period {clk:g} ns never seen (seen: {seen([f'{c:g}' for c in self.clocks])})")
        unseen: dict[int, list[str]] = {}  # one line per design, kinds in graph order
        for i in np.flatnonzero(~np.isin(t.kind, [KINDS.index(k) for k in self.kinds])):
            kinds = unseen.setdefault(int(t.graph[i]), [])
            if KINDS[t.kind[i]] not in kinds:
                kinds.append(KINDS[t.kind[i]])
        for g, kinds in unseen.items():
            reasons[g].append(f"layer kind{'s' if len(kinds) > 1 else ''} {', '.join(kinds)} never seen "
                              f"(seen: {', '.join(self.kinds)})")
        w = t.num["multiplies"] > 0
        local = np.arange(len(t)) - np.searchsorted(t.graph, t.graph)
        for key, values in _layer_columns(t).items():
            lo, hi = self.ranges.get(key, [-np.inf, np.inf])
            bad = w & ((values < lo) | (values > hi))
            reported: set[int] = set()  # one line per design and quantity: the first layer outside
            n_bad = np.bincount(t.graph[bad], minlength=t.n_graphs)
            for i in np.flatnonzero(bad):
                g = int(t.graph[i])
                if g in reported:
                    continue
                reported.add(g)
                layer = names[g][local[i]] if names is not None else f"#{local[i]}"
                more = int(n_bad[g]) - 1
                also = f" and {more} more layer(s)" if more > 0 else ""
                reasons[g].append(f"{_LABEL[key]} {values[i]:g} (layer {layer}{also}) outside the training range "
                                  f"{lo:g}..{hi:g}")
        for key, values in _design_columns(t).items():
            lo, hi = self.ranges.get(key, [-np.inf, np.inf])
            for g in np.flatnonzero((values < lo) | (values > hi)):
                reasons[int(g)].append(f"{_LABEL[key]} {values[g]:g} outside the training range {lo:g}..{hi:g}")
        return [r[:MAX_REASONS] for r in reasons]


_STRAT = ("latency", "resource", "other")


def _layer_columns(t: NodeTable) -> dict[str, np.ndarray]:
    cols = {k: t.num[k] for k in LAYER_RANGES if k in t.num}
    cols["mults_per_cycle"] = mults_per_cycle(t)
    return cols


def _design_columns(t: NodeTable) -> dict[str, np.ndarray]:
    w = (t.num["multiplies"] > 0).astype(np.float64)
    n_weight = np.bincount(t.graph, weights=w, minlength=t.n_graphs)
    mults = np.bincount(t.graph, weights=w * t.num["n_in"] * t.num["n_out"] * t.num["positions"],
                        minlength=t.n_graphs)
    return {"n_weight_layers": n_weight, "total_mults": mults, "pipeline_stages": t.glob["stages"]}
