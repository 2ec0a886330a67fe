"""One featurizer for every source: an hls4ml ModelGraph, a dataset row, or a bare dense
architecture all become the same :class:`DesignSpec` (layers, data flow, design globals),
and from there the same node/edge/global tensors (a torch_geometric ``Data``).

Why one intermediate form: the surrogate is trained on dataset rows (no model files) and
used on converted models (no labels). If the two paths computed features separately, a
subtle mismatch (say, requested vs. built reuse factor) would silently shift every
prediction. Both paths therefore describe *what hls4ml builds*: per-layer effective reuse
factor (hls_rules), the fixed-point widths of weights/inputs/results/accumulators, the
number of multiplications and multipliers per cycle, and the zero/narrow constants that
Vivado HLS optimizes away at RF=1.
"""

from __future__ import annotations

import math
import re
from functools import lru_cache
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

from ..compiler.errors import UserError
from ..compiler.parts import Part, resolve_part
from .hls_rules import (
    MAX_WIDTH,
    closest_reuse_factor,
    effective_reuse_factor,
    effective_width_histogram,
    quantize,
    type_bits,
    wahls4ml_zero_fraction,
)

#: Node kinds; every hls4ml layer class maps onto one of these.
KINDS = ("input", "dense", "conv", "einsum", "norm", "activation", "table_activation", "pooling", "quantizer",
         "merge", "reshape", "other")
#: Layers that multiply by constant weights, and all layers that multiply (einsum: two activations).
WEIGHT_KINDS = frozenset({"dense", "conv", "norm"})
MULT_KINDS = WEIGHT_KINDS | {"einsum"}
_TABLE_ACTIVATIONS = {"sigmoid", "tanh", "softmax", "softsign", "softplus", "elu", "selu", "hard_tanh_table"}
_CLASS_KIND = {
    "Input": "input", "InputLayer": "input",
    "Dense": "dense", "EinsumDense": "dense",
    "Conv1D": "conv", "Conv2D": "conv", "PointwiseConv1D": "conv", "PointwiseConv2D": "conv",
    "DepthwiseConv1D": "conv", "DepthwiseConv2D": "conv", "SeparableConv1D": "conv", "SeparableConv2D": "conv",
    "Einsum": "einsum",
    "BatchNormalization": "norm", "ApplyAlpha": "norm", "LayerNormalization": "norm",
    "Activation": "activation", "ReLU": "activation", "LeakyReLU": "activation", "ThresholdedReLU": "activation",
    "HardActivation": "activation", "ParametrizedActivation": "activation", "PReLU": "activation",
    "Softmax": "table_activation", "TernaryTanh": "activation", "BinaryTanh": "activation",
    "Pooling1D": "pooling", "Pooling2D": "pooling", "GlobalPooling1D": "pooling", "GlobalPooling2D": "pooling",
    "FixedPointQuantizer": "quantizer", "Quant": "quantizer",
    "Merge": "merge", "Concatenate": "merge", "Dot": "merge",
    "Reshape": "reshape", "Flatten": "reshape", "Transpose": "reshape", "Resize": "other", "ZeroPadding1D": "reshape",
    "ZeroPadding2D": "reshape",
}
STRATEGIES = ("latency", "resource", "other")
IO_TYPES = ("io_parallel", "io_stream")
FAMILIES = ("xcup", "xc7")
DEFAULT_PRECISION_BITS = 16  # hls4ml's default ap_fixed<16,6>
#: What hls4ml calls da4ml's circuits; the featurizer files it under strategy 'other'.
RTL_STRATEGY = "distributed_arithmetic"
#: Bumped whenever LayerSpec/DesignSpec fields change meaning: stored design graphs must match.
DESIGN_GRAPH_VERSION = 1


@dataclass
class LayerSpec:
    """One node: what hls4ml builds for one layer.

    For weight layers ``n_in`` is the fan-in of one output (dense n_in, conv kernel x
    channels) and ``n_out`` the outputs per position (dense n_out, conv filters);
    ``positions`` counts output pixels computed with the same kernel. Other layers use
    ``n_in``/``n_out`` for their element counts.
    """

    name: str
    kind: str
    n_in: int
    n_out: int
    positions: int = 1
    kernel: int = 1
    parallel: int = 1  # output positions computed at once (conv ParallelizationFactor)
    weight_bits: int = 0
    input_bits: int = DEFAULT_PRECISION_BITS
    result_bits: int = DEFAULT_PRECISION_BITS
    accum_bits: int = 0
    reuse_factor: int = 1  # as built (after hls4ml's adjustment)
    strategy: str = "latency"  # per layer: latency | resource | other
    n_weights: int = 0
    n_nonzero: int = 0
    width_hist: np.ndarray | None = None  # non-zero constants per effective width; None: all at weight_bits
    table_bits: int = 0  # lookup-table storage (entries x width) of sigmoid/tanh/softmax

    @property
    def has_weights(self) -> bool:
        """Multiplies by constant weights (which can be trimmed, or stored in a ROM)."""
        return self.kind in WEIGHT_KINDS

    @property
    def multiplies(self) -> bool:
        """Has multipliers: weight layers, and einsums of two activations (attention)."""
        return self.kind in MULT_KINDS

    @property
    def mults(self) -> int:
        """Multiplications of one inference."""
        return self.n_in * self.n_out * self.positions if self.multiplies else 0

    @property
    def mults_per_cycle(self) -> int:
        """Multipliers hls4ml instantiates (its ``multiplier_limit``, before zero trimming)."""
        if not self.multiplies:
            return 0
        return math.ceil(self.n_in * self.n_out / max(self.reuse_factor, 1)) * self.parallel

    @property
    def output_size(self) -> int:
        return self.n_out * self.positions


@dataclass
class DesignSpec:
    """A whole design: layers, data-flow edges (producer index, consumer index) and globals."""

    layers: list[LayerSpec]
    edges: list[tuple[int, int]]
    strategy: str = "latency"
    io_type: str = "io_parallel"
    part: str = "xcu250-figd2104-2L-e"
    clock_period: float = 5.0
    backend: str = "vivado"
    pipeline_style: str = "pipeline"
    name: str = ""
    requested_reuse_factor: int = 1
    pipeline_stages: int = 0  # register stages of a da4ml RTL circuit (open flow); 0: an HLS design
    meta: dict[str, Any] = field(default_factory=dict)

    @property
    def device(self) -> Part | None:
        return part_info(self.part)

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON types; the record field ``design_graph`` stores this, so a dataset row is
        featurized from the ModelGraph it was built from (weights and precisions included)
        rather than re-derived from its layer list. Width histograms are sparse ({width: count})."""
        layers = []
        for layer in self.layers:
            entry = {k: v for k, v in asdict(layer).items() if k != "width_hist"}
            if layer.width_hist is not None:
                entry["width_hist"] = {str(w): float(c) for w, c in enumerate(layer.width_hist) if c}
            layers.append(entry)
        out = {k: v for k, v in asdict(self).items() if k not in ("layers", "meta")}
        out.update(version=DESIGN_GRAPH_VERSION, layers=layers, edges=[list(e) for e in self.edges])
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "DesignSpec":
        """Inverse of :meth:`to_dict`; a dict from another featurizer version raises UserError."""
        if data.get("version") != DESIGN_GRAPH_VERSION:
            raise UserError(f"design_graph version {data.get('version')!r} is not {DESIGN_GRAPH_VERSION}; "
                            "regenerate the record with this fpgaml")
        layers = []
        for entry in data["layers"]:
            entry = dict(entry)
            sparse = entry.pop("width_hist", None)
            hist = None
            if sparse is not None:
                hist = np.zeros(MAX_WIDTH, dtype=np.float64)
                for w, c in sparse.items():
                    hist[min(int(w), MAX_WIDTH - 1)] += float(c)
            layers.append(LayerSpec(**entry, width_hist=hist))
        values = {k: v for k, v in data.items() if k not in ("version", "layers", "edges")}
        return cls(layers=layers, edges=[(int(a), int(b)) for a, b in data["edges"]], **values)

    def compute_layers(self) -> list[LayerSpec]:
        """The layers with multipliers: the ones a reuse factor applies to."""
        return [layer for layer in self.layers if layer.multiplies]

    def with_strategy(self, strategy: str) -> "DesignSpec":
        """The same layers labelled with another strategy (see datasets.design: da4ml circuits are
        described by their Latency-strategy graph, which still holds the weights)."""
        name = _strategy_name(strategy)
        layers = [replace(layer, strategy=name) for layer in self.layers]
        return replace(self, layers=layers, strategy=name)

    def as_rtl_circuit(self, pipeline_stages: int) -> "DesignSpec":
        """This design as the open flow builds it: da4ml's fully parallel distributed-arithmetic
        circuit (every layer at reuse factor 1) with ``pipeline_stages`` register stages.
        ``self`` should come from a graph that still holds the weights (Latency strategy)."""
        if int(pipeline_stages) < 1:
            raise UserError(f"invalid number of pipeline stages {pipeline_stages!r}; it must be an integer >= 1")
        layers = [replace(layer, reuse_factor=1) for layer in self.layers]
        return replace(self, layers=layers, requested_reuse_factor=1,
                       pipeline_stages=int(pipeline_stages)).with_strategy(RTL_STRATEGY)

    def with_reuse_factor(self, reuse_factor: int, *, strict: bool = True) -> "DesignSpec":
        """The same design re-timed for another reuse factor, without hls4ml.

        Valid because hls4ml 1.3.0's conversion uses the reuse factor only to set each
        layer's ``reuse_factor`` (closest valid value for the Resource strategy, checked by
        ``strict`` like ``fpgaml build``), the kernel variant and the top-level pipeline II;
        precision inference, graph optimizations and weights do not depend on it.
        """
        if reuse_factor < 1:
            raise UserError(f"invalid reuse factor {reuse_factor!r}; it must be an integer >= 1")
        layers = []
        for layer in self.layers:
            if layer.multiplies:
                rf = effective_reuse_factor(layer.n_in, layer.n_out, reuse_factor, layer.strategy, strict=strict,
                                            layer=layer.name)
                layers.append(replace(layer, reuse_factor=rf))
            else:
                layers.append(replace(layer, reuse_factor=reuse_factor))
        return replace(self, layers=layers, requested_reuse_factor=reuse_factor)


@lru_cache(maxsize=256)
def part_info(part: str) -> Part | None:
    try:
        return resolve_part(part)[1]
    except UserError:
        return None


def _strategy_name(value: Any) -> str:
    s = str(value or "latency").strip().lower()
    if s in ("resource", "resource_unrolled", "compressed"):
        return "resource"
    return s if s == "latency" else "other"


# --- hls4ml ModelGraph -> DesignSpec ---

def _kind_of(layer: Any) -> str:
    cls = layer.class_name
    kind = _CLASS_KIND.get(cls)
    if kind is None:
        if "Conv" in cls:
            kind = "conv"
        elif "Norm" in cls:
            kind = "norm"
        elif "Pool" in cls:
            kind = "pooling"
        elif "Activation" in cls or "ReLU" in cls:
            kind = "activation"
        else:
            kind = "other"
    if kind == "activation":
        act = str(layer.get_attr("activation", "") or "").lower()
        if act in _TABLE_ACTIVATIONS:
            kind = "table_activation"
    return kind


def _size(variable: Any) -> int:
    if variable is None:
        return 0
    shape = getattr(variable, "shape", None) or [1]
    return int(np.prod([int(s) for s in shape]))


def _bits_of(variable: Any) -> int:
    if variable is None:
        return 0
    return type_bits(variable.type.precision)[0]


def _attr_bits(layer: Any, name: str) -> int:
    t = layer.get_attr(name)
    return type_bits(t.precision)[0] if t is not None and hasattr(t, "precision") else 0


def _weight_stats(layer: Any) -> tuple[int, int, int, np.ndarray | None]:
    """(declared width, count, non-zero count, effective-width histogram) of the kernel."""
    weight = layer.weights.get("weight") if hasattr(layer, "weights") else None
    if weight is None:
        weight = layer.weights.get("scale") if hasattr(layer, "weights") else None
    if weight is None or getattr(weight, "data", None) is None:
        return 0, 0, 0, None
    width, integer, signed, rounds = type_bits(weight.type.precision)
    q = quantize(np.asarray(weight.data), width, integer, signed, rounds)
    return width, int(q.size), int(np.count_nonzero(q)), effective_width_histogram(q, signed)


def _layer_from_hls4ml(layer: Any, model_strategy: str) -> LayerSpec:
    kind = _kind_of(layer)
    get = layer.get_attr
    out_var = layer.get_output_variable()
    inputs = [layer.model.get_layer_output_variable(name) for name in layer.inputs] if layer.inputs else []
    inputs = [v for v in inputs if v is not None]
    in_bits = max((_bits_of(v) for v in inputs), default=_bits_of(out_var))
    in_size = sum(_size(v) for v in inputs) or _size(out_var)
    result_bits = _bits_of(out_var)
    spec = LayerSpec(name=layer.name, kind=kind, n_in=in_size, n_out=_size(out_var), input_bits=in_bits,
                     result_bits=result_bits, reuse_factor=int(get("reuse_factor", 1) or 1),
                     strategy=_strategy_name(get("strategy") or model_strategy))
    if kind == "dense" and layer.class_name == "EinsumDense":
        # one dense kernel (n_contract -> n_free_kernel) per data position and in-place index
        spec.n_in, spec.n_out = int(get("n_contract")), int(get("n_free_kernel"))
        spec.positions = int(get("n_free_data", 1)) * int(get("n_inplace", 1))
        spec.parallel = min(int(get("parallelization_factor", 1) or 1), spec.positions)
    elif kind == "dense":
        spec.n_in, spec.n_out = int(get("n_in")), int(get("n_out"))
        spec.positions = max(1, _size(out_var) // max(spec.n_out, 1))
    elif kind == "einsum":
        # activation x activation (attention): hls4ml unrolls all L0*L1*I*C products / RF
        spec.n_in, spec.n_out = int(get("n_contract", 1)), int(get("n_free1", 1))
        spec.positions = int(get("n_free0", 1)) * int(get("n_inplace", 1))
        spec.parallel = spec.positions
        spec.weight_bits = min((_bits_of(v) for v in inputs), default=in_bits)
        spec.accum_bits = _attr_bits(layer, "accum_t") or result_bits
    elif kind == "conv":
        kernel = int(get("filt_width", 1) or 1) * int(get("filt_height", 1) or 1)
        n_chan, n_filt = int(get("n_chan", 1) or 1), int(get("n_filt", 0) or 0)
        depthwise = "Depthwise" in layer.class_name
        spec.kernel = kernel
        spec.n_in = kernel if depthwise else kernel * n_chan
        spec.n_out = n_chan if depthwise else (n_filt or n_chan)
        spec.positions = int(get("out_width", 1) or 1) * int(get("out_height", 1) or 1)
        spec.parallel = int(get("parallelization_factor", 1) or 1)
    elif kind == "norm":  # one multiplication per element (scale); LayerNorm's extra work is not modelled
        spec.n_in, spec.n_out = 1, _size(out_var)
        if get("table_size"):
            spec.table_bits = int(get("table_size")) * int(get("h_width", 18) or 18)
    if spec.has_weights:
        spec.weight_bits, spec.n_weights, spec.n_nonzero, spec.width_hist = _weight_stats(layer)
        spec.accum_bits = _attr_bits(layer, "accum_t") or max(result_bits, in_bits)
    elif not spec.multiplies:
        spec.strategy = _strategy_name(model_strategy)
    if kind == "table_activation":
        tables = (("exp_table_size", "exp_table_t"), ("inv_table_size", "inv_table_t"))
        if not any(get(size) for size, _ in tables):
            tables = (("table_size", "table_t"),)
        for size, type_name in tables:
            t = get(type_name)
            bits = type_bits(t.precision)[0] if t is not None and hasattr(t, "precision") else 18
            spec.table_bits += int(get(size, 1024) or 1024) * bits
    return spec


def from_model_graph(graph: Any, *, name: str = "") -> DesignSpec:
    """Describe a converted (not necessarily written or compiled) hls4ml ModelGraph."""
    config = graph.config
    model_strategy = str(getattr(config, "model_strategy", None) or config.get_config_value("Strategy") or "latency")
    layers_hls = list(graph.get_layers())
    layers = [_layer_from_hls4ml(layer, model_strategy) for layer in layers_hls]
    producer: dict[str, int] = {}
    for i, layer in enumerate(layers_hls):
        for out in layer.outputs:
            producer[out] = i
    edges = [(producer[inp], i) for i, layer in enumerate(layers_hls) for inp in (layer.inputs or [])
             if inp in producer and producer[inp] != i]
    backend = getattr(getattr(config, "backend", None), "name", None) or config.get_config_value("Backend") or "vivado"
    requested = (config.get_config_value("HLSConfig") or {}).get("Model", {}).get("ReuseFactor", 1)
    return DesignSpec(
        layers=layers,
        edges=edges,
        strategy=_strategy_name(model_strategy),
        io_type=str(config.get_config_value("IOType") or "io_parallel"),
        part=str(config.get_config_value("Part") or ""),
        clock_period=float(config.get_config_value("ClockPeriod") or 5.0),
        backend=str(backend).lower(),
        pipeline_style=str(getattr(config, "pipeline_style", None) or "pipeline").lower(),
        name=name or str(config.get_config_value("ProjectName") or ""),
        requested_reuse_factor=int(requested or 1),
    )


# --- dense architectures and dataset rows -> DesignSpec ---

_WIDTHS = re.compile(r"^\s*\d+(\s*-\s*\d+)+\s*$")


def is_architecture(text: Any) -> bool:
    """'16-64-32-32-5'-style dense architecture strings (the wa-hls4ml ``model_string``)."""
    return isinstance(text, str) and bool(_WIDTHS.match(text))


def _pipeline_style(strategy: str, io_type: str) -> str:
    """hls4ml's SetPipelineStyle: io_stream or any Resource layer -> dataflow, else pipeline."""
    return "dataflow" if io_type == "io_stream" or strategy == "resource" else "pipeline"


def from_widths(
    widths: Sequence[int],
    *,
    weight_bits: int = DEFAULT_PRECISION_BITS,
    data_bits: int = DEFAULT_PRECISION_BITS,
    accum_bits: int | None = None,
    reuse_factor: int = 1,
    strategy: str = "latency",
    io_type: str = "io_parallel",
    part: str = "xcu250-figd2104-2L-e",
    clock_period: float = 5.0,
    zero_fraction: float = 0.0,
    strict: bool = False,
    name: str = "",
) -> DesignSpec:
    """A chain of Dense layers (no activations), as wa-hls4ml's generated networks are.

    ``strict=False`` applies hls4ml's closest-valid reuse factor, as the data were made;
    weights are unknown, so every non-zero constant counts at its declared width.
    """
    widths = [int(w) for w in widths]
    if len(widths) < 2 or min(widths) < 1:
        raise UserError(f"invalid dense architecture {'-'.join(map(str, widths))}: need >= 2 positive widths")
    strategy = _strategy_name(strategy)
    accum = int(accum_bits if accum_bits is not None else data_bits)
    layers = [LayerSpec(name="input", kind="input", n_in=widths[0], n_out=widths[0], input_bits=data_bits,
                        result_bits=data_bits, reuse_factor=reuse_factor, strategy=strategy)]
    for i, (n_in, n_out) in enumerate(zip(widths[:-1], widths[1:]), start=1):
        n_weights = n_in * n_out
        rf = effective_reuse_factor(n_in, n_out, reuse_factor, strategy, strict=strict, layer=f"dense_{i}")
        zf = float(zero_fraction)
        layers.append(LayerSpec(name=f"dense_{i}", kind="dense", n_in=n_in, n_out=n_out, weight_bits=weight_bits,
                                input_bits=data_bits, result_bits=data_bits, accum_bits=accum, reuse_factor=rf,
                                strategy=strategy, n_weights=n_weights,
                                n_nonzero=int(round(n_weights * (1.0 - zf)))))
    edges = [(i, i + 1) for i in range(len(layers) - 1)]
    return DesignSpec(layers=layers, edges=edges, strategy=strategy, io_type=io_type, part=part,
                      clock_period=float(clock_period), pipeline_style=_pipeline_style(strategy, io_type),
                      name=name or "-".join(map(str, widths)), requested_reuse_factor=int(reuse_factor))


def _get(row: Mapping[str, Any], *keys: str) -> Any:
    for key in keys:
        value = row.get(key) if hasattr(row, "get") else None
        if value is None:
            continue
        try:
            if isinstance(value, float) and math.isnan(value):
                continue
        except TypeError:
            pass
        if value is not None and str(value) not in ("", "<NA>", "nan"):
            return value
    return None


#: wa-hls4ml subsets whose dense networks were generated untrained (see wahls4ml_zero_fraction).
WAHLS4ML_GENERATED = frozenset({"2layer", "3layer"})


def design_graph(value: str | Mapping[str, Any]) -> DesignSpec:
    """A record's stored ``design_graph`` (a dict, or its JSON text as the loader keeps it)."""
    import json

    try:
        data = json.loads(value) if isinstance(value, str) else value
        return DesignSpec.from_dict(data)
    except (ValueError, TypeError, KeyError) as err:
        raise UserError(f"unreadable design_graph: {err}") from None


def from_row(row: Mapping[str, Any]) -> DesignSpec:
    """A dataset row (``fpgaml.datasets.load`` columns, or a raw wa-hls4ml CSV row).

    Rows with a ``design_graph`` (fpgaml's own records: the featurizer's view of the
    ModelGraph the design was built from) are read back exactly; any other row must be a
    dense network described by its widths:

    wa-hls4ml's dense networks (gen_dense_models_v2 + run_search_iteration, hls4ml 0.8.1):
    QKeras QDense without activations, weights and biases ``fixed<prec,1>``, everything
    else hls4ml's default ``fixed<16,6>`` (accumulators too: hls4ml 0.8 had no 'auto'
    accumulator), Resource strategy, io_parallel, invalid reuse factors replaced by the
    closest valid one. Rows whose architecture is not a dense width list raise UserError.
    """
    graph = _get(row, "design_graph")
    if graph is not None:
        return design_graph(graph)
    widths_text = _get(row, "layer_widths", "model_string")
    subset = str(_get(row, "subset") or "")
    if not is_architecture(widths_text) or subset in ("conv1d", "conv2d"):
        raise UserError(f"row {_get(row, 'model_name', 'record_id')!r}: not a dense network "
                        f"(subset {subset or '?'}, widths {widths_text!r}); only dense rows can be featurized")
    widths = [int(w) for w in str(widths_text).split("-")]
    data_bits = int(_get(row, "precision_bits") or DEFAULT_PRECISION_BITS)
    weight_bits = int(_get(row, "weight_bits", "prec") or data_bits)
    rf = int(float(_get(row, "reuse_factor", "rf") or 1))
    strategy = str(_get(row, "strategy") or "latency")
    io_type = str(_get(row, "io_type") or "io_parallel")
    part = str(_get(row, "part") or "xcu250-figd2104-2L-e")
    clock = float(_get(row, "target_clock", "TargetClockPeriod_hls") or 5.0)
    name = str(_get(row, "model_name") or "")
    generated = subset in WAHLS4ML_GENERATED or bool(re.match(r"^dense_[\d_]+_\d+b$", name.rsplit("/", 1)[-1]))
    spec = from_widths(widths, weight_bits=weight_bits, data_bits=data_bits, reuse_factor=rf, strategy=strategy,
                       io_type=io_type, part=part, clock_period=clock, strict=False, name=name)
    if generated:
        for layer in spec.compute_layers():
            zf = wahls4ml_zero_fraction(weight_bits, layer.n_in)
            layer.n_nonzero = int(round(layer.n_weights * (1.0 - zf)))
    return spec


# --- DesignSpecs -> flat node table (numpy) ---

@dataclass
class NodeTable:
    """All nodes of many designs as flat numpy columns; the analytic model and the GNN
    both read this, so a batch of 10,000 designs costs one pass of Python per layer."""

    graph: np.ndarray  # design index of each node
    kind: np.ndarray  # index into KINDS
    num: dict[str, np.ndarray]  # numeric per-node columns (float64)
    hist: np.ndarray  # [nodes, MAX_WIDTH] non-zero constants per effective width
    src: np.ndarray  # edges, global node indices
    dst: np.ndarray
    glob: dict[str, np.ndarray]  # per-design columns
    n_graphs: int

    def __len__(self) -> int:
        return len(self.graph)


_NUM_COLUMNS = ("n_in", "n_out", "positions", "kernel", "parallel", "weight_bits", "input_bits", "result_bits",
                "accum_bits", "rf", "resource", "has_weights", "multiplies", "n_weights", "n_nonzero", "table_bits")


def tabulate(specs: Sequence[DesignSpec]) -> NodeTable:
    """Flatten designs into a :class:`NodeTable`."""
    cols: dict[str, list[float]] = {c: [] for c in _NUM_COLUMNS}
    graph, kind, src, dst = [], [], [], []
    hist_rows: list[tuple[int, np.ndarray]] = []
    kind_index = {k: i for i, k in enumerate(KINDS)}
    strategies, io_types, styles, parts, clocks, n_nodes, stages = [], [], [], [], [], [], []
    offset = 0
    for g, spec in enumerate(specs):
        for layer in spec.layers:
            graph.append(g)
            kind.append(kind_index.get(layer.kind, kind_index["other"]))
            cols["n_in"].append(layer.n_in)
            cols["n_out"].append(layer.n_out)
            cols["positions"].append(layer.positions)
            cols["kernel"].append(layer.kernel)
            cols["parallel"].append(layer.parallel)
            cols["weight_bits"].append(layer.weight_bits)
            cols["input_bits"].append(layer.input_bits)
            cols["result_bits"].append(layer.result_bits)
            cols["accum_bits"].append(layer.accum_bits)
            cols["rf"].append(layer.reuse_factor)
            cols["resource"].append(layer.strategy == "resource")
            cols["has_weights"].append(layer.has_weights)
            cols["multiplies"].append(layer.multiplies)
            cols["n_weights"].append(layer.n_weights)
            cols["n_nonzero"].append(layer.n_nonzero)
            cols["table_bits"].append(layer.table_bits)
            if layer.width_hist is not None:
                hist_rows.append((len(graph) - 1, layer.width_hist))
        for a, b in spec.edges:
            src.append(offset + a)
            dst.append(offset + b)
        offset += len(spec.layers)
        strategies.append(spec.strategy)
        io_types.append(spec.io_type)
        styles.append(spec.pipeline_style)
        parts.append(spec.part)
        clocks.append(spec.clock_period)
        n_nodes.append(len(spec.layers))
        stages.append(spec.pipeline_stages)
    num = {c: np.asarray(v, dtype=np.float64) for c, v in cols.items()}
    n = len(graph)
    hist = np.zeros((n, MAX_WIDTH), dtype=np.float64)
    explicit = np.zeros(n, dtype=bool)
    for i, h in hist_rows:
        hist[i] = h
        explicit[i] = True
    declared = ~explicit & (num["has_weights"] > 0)
    if declared.any():
        idx = np.flatnonzero(declared)
        width = np.clip(num["weight_bits"][idx].astype(np.int64), 0, MAX_WIDTH - 1)
        hist[idx, width] = num["n_nonzero"][idx]
    return NodeTable(
        graph=np.asarray(graph, dtype=np.int64), kind=np.asarray(kind, dtype=np.int64), num=num, hist=hist,
        src=np.asarray(src, dtype=np.int64), dst=np.asarray(dst, dtype=np.int64),
        glob=_globals(strategies, io_types, styles, parts, clocks, n_nodes, stages),
        n_graphs=len(specs),
    )


def _globals(strategies: Sequence[str], io_types: Sequence[str], styles: Sequence[str], parts: Sequence[str],
             clocks: Sequence[float], n_nodes: Sequence[int], stages: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-design columns of a NodeTable (part totals looked up once per distinct part)."""
    devices = {p: part_info(str(p)) for p in set(parts)}
    dev = [devices[p] for p in parts]
    return {
        "strategy": np.array([STRATEGIES.index(s) if s in STRATEGIES else 2 for s in strategies], dtype=np.float64),
        "io": np.array([io == "io_stream" for io in io_types], dtype=np.float64),
        "dataflow": np.array([s == "dataflow" for s in styles], dtype=np.float64),
        "family": np.array([FAMILIES.index(d.family) if d is not None and d.family in FAMILIES else -1 for d in dev],
                           dtype=np.float64),
        "lut": np.array([d.lut if d else np.nan for d in dev], dtype=np.float64),
        "ff": np.array([d.ff if d else np.nan for d in dev], dtype=np.float64),
        "dsp": np.array([d.dsp if d else np.nan for d in dev], dtype=np.float64),
        "bram": np.array([d.bram_18k if d else np.nan for d in dev], dtype=np.float64),
        "clock": np.asarray(clocks, dtype=np.float64),
        "device": np.array([d.device if d else str(p) for d, p in zip(dev, parts)]),
        "n_nodes": np.asarray(n_nodes, dtype=np.float64),
        "stages": np.asarray(stages, dtype=np.float64),
    }


def concat_tables(tables: Sequence[NodeTable]) -> NodeTable:
    """One NodeTable holding the designs of ``tables`` in order."""
    tables = [t for t in tables if t.n_graphs] or list(tables[:1])
    graph_offsets = np.cumsum([0] + [t.n_graphs for t in tables])
    node_offsets = np.cumsum([0] + [len(t) for t in tables])
    return NodeTable(
        graph=np.concatenate([t.graph + o for t, o in zip(tables, graph_offsets)]),
        kind=np.concatenate([t.kind for t in tables]),
        num={c: np.concatenate([t.num[c] for t in tables]) for c in _NUM_COLUMNS},
        hist=np.concatenate([t.hist for t in tables]),
        src=np.concatenate([t.src + o for t, o in zip(tables, node_offsets)]),
        dst=np.concatenate([t.dst + o for t, o in zip(tables, node_offsets)]),
        glob={c: np.concatenate([t.glob[c] for t in tables]) for c in tables[0].glob},
        n_graphs=int(graph_offsets[-1]),
    )


def tabulate_rows(df: Any) -> tuple[NodeTable, np.ndarray, dict[int, str]]:
    """:func:`tabulate` of :func:`from_row` for a whole DataFrame.

    Returns (table of the featurizable rows, their positions in ``df``, {position: why not}
    for the rest). Rows with a stored ``design_graph`` are read back; the rest take the
    numpy path for dense width rows.
    """
    graphs = df["design_graph"].reset_index(drop=True) if "design_graph" in df else None
    stored = graphs.notna().to_numpy(dtype=bool) if graphs is not None else np.zeros(len(df), dtype=bool)
    if not stored.any():
        return _tabulate_width_rows(df)
    specs, kept, failures = [], [], {}
    for i in np.flatnonzero(stored):
        try:
            specs.append(design_graph(graphs.iloc[i]))
            kept.append(int(i))
        except UserError as err:
            failures[int(i)] = f"row {i}: {err}"
    kept_at = np.asarray(kept, dtype=np.int64)
    rest = np.flatnonzero(~stored)
    if not len(rest):
        return tabulate(specs), kept_at, failures
    table, keep, rest_failures = _tabulate_width_rows(df.iloc[rest])
    failures.update({int(rest[k]): why for k, why in rest_failures.items()})
    return concat_tables([tabulate(specs), table]), np.concatenate([kept_at, rest[keep]]), failures


def _tabulate_width_rows(df: Any) -> tuple[NodeTable, np.ndarray, dict[int, str]]:
    """:func:`tabulate` of :func:`from_row` for dense width rows, in numpy (about 20x faster).

    Returns (table of the dense rows, their positions in ``df``, {position: why not} for
    the rest). Must give exactly the table ``tabulate([from_row(r) for r in rows])`` gives;
    tests/test_surrogates.py checks it on the real data.
    """
    import pandas as pd

    n = len(df)

    def column(*names: str, default: Any = None) -> pd.Series:
        for name in names:
            if name in df:
                return df[name].reset_index(drop=True)
        return pd.Series([default] * n)

    widths_text = column("layer_widths", "model_string").astype("string")
    subset = column("subset", default="").astype("string").fillna("")
    dense = widths_text.str.fullmatch(r"\s*\d+(\s*-\s*\d+)+\s*").fillna(False).astype(bool)
    dense &= ~subset.isin(["conv1d", "conv2d"])
    names = column("model_name", "record_id", default=None)
    failures = {int(i): f"row {names[i]!r}: not a dense network (subset {subset[i] or '?'}, widths "
                        f"{None if pd.isna(widths_text[i]) else str(widths_text[i])!r}); "
                        "only dense rows can be featurized"
                for i in np.flatnonzero(~dense.to_numpy())}
    keep = np.flatnonzero(dense.to_numpy())
    num = lambda *c, default: pd.to_numeric(column(*c, default=default), errors="coerce")  # noqa: E731
    data_bits = num("precision_bits", default=np.nan).fillna(DEFAULT_PRECISION_BITS).astype(int).to_numpy()[keep]
    wbits = num("weight_bits", default=np.nan)
    if "prec" in df and "weight_bits" in df:
        wbits = wbits.fillna(num("prec", default=np.nan))
    elif "prec" in df:
        wbits = num("prec", default=np.nan)
    weight_bits = wbits.to_numpy()[keep]
    weight_bits = np.where(np.isnan(weight_bits), data_bits, weight_bits).astype(int)
    rf_req = num("reuse_factor", default=np.nan)
    if "rf" in df:
        rf_req = rf_req.fillna(num("rf", default=np.nan))
    rf_req = rf_req.fillna(1).astype(float).astype(int).to_numpy()[keep]
    strategy = [_strategy_name(s) for s in column("strategy", default=None).astype("string").fillna("latency")[keep]]
    io_type = list(column("io_type", default=None).astype("string").fillna("io_parallel")[keep])
    part = list(column("part", default=None).astype("string").fillna("xcu250-figd2104-2L-e")[keep])
    clock = num("target_clock", default=np.nan)
    if "TargetClockPeriod_hls" in df:
        clock = clock.fillna(num("TargetClockPeriod_hls", default=np.nan))
    clock = clock.fillna(5.0).to_numpy()[keep]
    model_names = column("model_name", default=None).astype("string").fillna("")[keep].str.rsplit("/", n=1).str[-1]
    generated = (subset[keep].isin(list(WAHLS4ML_GENERATED)) | model_names.str.match(r"^dense_[\d_]+_\d+b$")
                 ).to_numpy(dtype=bool)

    parts_lists = [[int(w) for w in str(t).split("-")] for t in widths_text[keep]]
    lengths = np.array([len(p) for p in parts_lists], dtype=np.int64)
    w = np.fromiter((x for p in parts_lists for x in p), dtype=np.int64, count=int(lengths.sum()))
    graph = np.repeat(np.arange(len(keep)), lengths)
    starts = np.concatenate([[0], np.cumsum(lengths)[:-1]])
    pos = np.arange(len(w)) - np.repeat(starts, lengths)
    is_dense = pos > 0
    n_in = np.where(is_dense, np.roll(w, 1), w)
    n_out = w
    resource = np.array([s == "resource" for s in strategy])[graph]
    rf_node = rf_req[graph].copy()
    need = is_dense & resource
    triples = np.stack([n_in[need], n_out[need], rf_node[need]], axis=1)
    if len(triples):
        uniq, inverse = np.unique(triples, axis=0, return_inverse=True)
        got = np.array([closest_reuse_factor(int(a), int(b), int(c)) for a, b, c in uniq], dtype=np.int64)
        rf_node[need] = got[inverse.ravel()]
    rf_node = np.where(is_dense & ~resource, np.maximum(rf_node, 1), rf_node)
    wb_node = np.where(is_dense, weight_bits[graph], 0)
    n_weights = np.where(is_dense, n_in * n_out, 0)
    limit = np.sqrt(3.0 / np.maximum(n_in, 1))
    zf = np.where(generated[graph], np.minimum(1.0, (2.0 ** -wb_node.astype(float)) / limit), 0.0)
    n_nonzero = np.where(is_dense, np.round(n_weights * (1.0 - zf)), 0).astype(np.int64)
    db = data_bits[graph]
    cols = {
        "n_in": n_in, "n_out": n_out, "positions": np.ones(len(w)), "kernel": np.ones(len(w)),
        "parallel": np.ones(len(w)), "weight_bits": wb_node, "input_bits": db, "result_bits": db,
        "accum_bits": np.where(is_dense, db, 0), "rf": rf_node, "resource": resource, "has_weights": is_dense,
        "multiplies": is_dense,
        "n_weights": n_weights, "n_nonzero": n_nonzero, "table_bits": np.zeros(len(w)),
    }
    numc = {c: np.asarray(v, dtype=np.float64) for c, v in cols.items()}
    hist = np.zeros((len(w), MAX_WIDTH), dtype=np.float64)
    idx = np.flatnonzero(is_dense)
    hist[idx, np.clip(wb_node[idx], 0, MAX_WIDTH - 1)] = n_nonzero[idx]
    edge = np.flatnonzero(is_dense)
    styles = ["dataflow" if io == "io_stream" or s == "resource" else "pipeline" for s, io in zip(strategy, io_type)]
    table = NodeTable(
        graph=graph, kind=np.where(is_dense, KINDS.index("dense"), KINDS.index("input")).astype(np.int64), num=numc,
        hist=hist, src=edge - 1, dst=edge,
        glob=_globals(strategy, io_type, styles, part, clock, lengths, np.zeros(len(keep))), n_graphs=len(keep),
    )
    return table, keep, failures


# --- node / edge / global feature tensors ---

NODE_FEATURES: tuple[str, ...] = (
    *(f"kind_{k}" for k in KINDS),
    "log2_n_in", "log2_n_out", "log2_positions", "log2_kernel", "weight_bits", "input_bits", "result_bits",
    "accum_bits", "log2_reuse_factor", "log2_mults", "log2_mults_per_cycle", "zero_fraction", "log2_nonzero",
    "eff_weight_bits", "resource", "has_weights", "multiplies", "log2_table_bits",
)
GLOBAL_FEATURES: tuple[str, ...] = (
    "strategy_latency", "strategy_resource", "strategy_other", "io_parallel", "io_stream", "dataflow",
    "family_xcup", "family_xc7", "log10_part_lut", "log10_part_ff", "log10_part_dsp", "log10_part_bram",
    "clock_period", "rtl_pipeline_stages",
)
EDGE_FEATURES: tuple[str, ...] = ("tensor_bits", "log2_tensor_size")
BITS_SCALE = 16.0  # widths are divided by this; log2 counts by LOG_SCALE, so typical features are O(1)
LOG_SCALE = 8.0


def mults_per_cycle(t: NodeTable) -> np.ndarray:
    """hls4ml's multiplier_limit = ceil(n_in*n_out / RF), times parallel positions."""
    w = t.num["multiplies"] > 0
    return np.where(w, np.ceil(t.num["n_in"] * t.num["n_out"] / np.maximum(t.num["rf"], 1)) * t.num["parallel"], 0.0)


def node_matrix(t: NodeTable) -> np.ndarray:
    """[nodes, len(NODE_FEATURES) + len(GLOBAL_FEATURES)] float32: layer features, then the
    design globals broadcast to every node (so message passing sees strategy, part, clock)."""
    n = len(t)
    num = t.num
    w = num["multiplies"] > 0
    mults = np.where(w, num["n_in"] * num["n_out"] * num["positions"], 0.0)
    widths = np.arange(MAX_WIDTH, dtype=np.float64)
    nz = t.hist.sum(axis=1)
    eff = np.where(nz > 0, (t.hist * widths).sum(axis=1) / np.maximum(nz, 1), 0.0)
    zero_frac = np.where(num["n_weights"] > 0, 1.0 - num["n_nonzero"] / np.maximum(num["n_weights"], 1), 0.0)
    onehot = np.zeros((n, len(KINDS)))
    onehot[np.arange(n), t.kind] = 1.0
    layer = np.column_stack([
        onehot,
        np.log2(1 + num["n_in"]) / LOG_SCALE,
        np.log2(1 + num["n_out"]) / LOG_SCALE,
        np.log2(num["positions"].clip(1)) / LOG_SCALE,
        np.log2(num["kernel"].clip(1)) / LOG_SCALE,
        num["weight_bits"] / BITS_SCALE,
        num["input_bits"] / BITS_SCALE,
        num["result_bits"] / BITS_SCALE,
        num["accum_bits"] / BITS_SCALE,
        np.log2(num["rf"].clip(1)) / LOG_SCALE,
        np.log2(1 + mults) / LOG_SCALE,
        np.log2(1 + mults_per_cycle(t)) / LOG_SCALE,
        zero_frac,
        np.log2(1 + num["n_nonzero"]) / LOG_SCALE,
        eff / BITS_SCALE,
        num["resource"],
        num["has_weights"],
        num["multiplies"],
        np.log2(1 + num["table_bits"]) / LOG_SCALE,
    ])
    return np.concatenate([layer, global_matrix(t)[t.graph]], axis=1).astype(np.float32)


def global_matrix(t: NodeTable) -> np.ndarray:
    """[designs, len(GLOBAL_FEATURES)]: strategy, io type, pipeline style, part family and
    resource totals (log10), clock period (ns / 10), RTL pipeline stages (/ 4). Unknown parts
    give zeros."""
    g = t.glob
    strat = np.zeros((t.n_graphs, 3))
    strat[np.arange(t.n_graphs), g["strategy"].astype(int)] = 1
    io = np.zeros((t.n_graphs, 2))
    io[np.arange(t.n_graphs), g["io"].astype(int)] = 1
    fam = np.zeros((t.n_graphs, 2))
    known = g["family"] >= 0
    fam[np.flatnonzero(known), g["family"][known].astype(int)] = 1
    res = [np.nan_to_num(np.log10(g[k].clip(1)), nan=0.0) / 6.0 for k in ("lut", "ff", "dsp", "bram")]
    return np.column_stack([strat, io, g["dataflow"], fam, *res, g["clock"] / 10.0, g["stages"] / 4.0]
                           ).astype(np.float32)


def edge_matrix(t: NodeTable) -> np.ndarray:
    """[edges, 2]: width and log2 size of the tensor each edge carries."""
    num = t.num
    size = num["n_out"] * num["positions"]
    return np.column_stack([num["result_bits"][t.src] / BITS_SCALE,
                            np.log2(1 + size[t.src]) / LOG_SCALE]).astype(np.float32)


def to_data(spec: DesignSpec) -> Any:
    """One design as a torch_geometric ``Data``: ``x`` (nodes = layers), ``edge_index``
    (data flow), ``edge_attr``, ``u`` (design globals, 1 x G) and ``layer_names``."""
    import torch
    from torch_geometric.data import Data

    t = tabulate([spec])
    return Data(
        x=torch.from_numpy(node_matrix(t)),
        edge_index=torch.from_numpy(np.stack([t.src, t.dst])).long(),
        edge_attr=torch.from_numpy(edge_matrix(t)),
        u=torch.from_numpy(global_matrix(t)),
        layer_names=[layer.name for layer in spec.layers],
    )
