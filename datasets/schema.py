"""The synthesis-result record: wa-hls4ml's JSON record, plus the few fields fpgaml adds.

One record describes one synthesized design: the network (``model_config``), how hls4ml was
told to build it (``hls_config``), and what the tools measured (``resource_report``,
``hls_resource_report``, ``latency_report``). We keep wa-hls4ml's layout so that its
~680,000 public records and the records fpgaml generates load through one code path and can
be concatenated into one training table.

Real wa-hls4ml files are not uniform (see datasets/README.md for sources):

- ``meta_data.uuid`` in most subsets, ``meta_data.model_id`` in the legacy ``2_20`` subset;
- ``vivado_version`` in most subsets, ``backend`` + ``backend_version`` in ``2_20``;
- report numbers are strings ("1296.0", "2.5"), a failed Vivado run leaves ``{}``;
- ``hls_config.Model.Precision`` is a string ("ap_fixed<16,6>") or a dict ({"default": ...});
- precisions are spelled ``fixed<2, 1>``, ``ap_fixed<16,6>``, ``ufixed<4,1,RND_CONV,SAT,0>``, ``auto``;
- QKeras layers (QDense, QConv2D, QActivation with activation "quantized_relu(4,1)").

:func:`normalize_record` turns any of these into one canonical dict with typed numbers, so
the rest of the package never has to know which subset a record came from.

BRAM units need care. hls4ml's ``parse_vivado_report`` stores Vivado's "Block RAM Tile"
count (36 Kb tiles, a lone RAMB18 counts 0.5) under the key ``BRAM_18K``, and wa-hls4ml
copied it into ``resource_report.bram``; ``hls_resource_report.bram`` is the HLS
``BRAM_18K`` count (18 Kb blocks). fpgaml reports BRAM in 18 Kb blocks everywhere
(``compiler/synthesis.py``), so normalization converts tiles to blocks (x2) and the
normalized record's ``bram`` values are always 18 Kb blocks.
"""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple, TypedDict

#: Where a record's primary resource numbers (``resource_report``) come from.
LABEL_SOURCES = ("vivado-synth", "vivado-hls", "yosys")

#: wa-hls4ml's resource_report is Vivado post-synthesis utilization (VivadoSynthReport).
WAHLS4ML_LABEL_SOURCE = "vivado-synth"

#: Unit of ``resource_report.bram`` in the *stored* record, per label source: Vivado's
#: utilization report (and our yosys flow, which mirrors it) counts 36 Kb tiles; an HLS
#: report counts 18 Kb blocks. ``hls_resource_report.bram`` is always 18 Kb blocks.
STORED_BRAM_PER_18K_BLOCK = {"vivado-synth": 0.5, "yosys": 0.5, "vivado-hls": 1.0}

RESOURCE_KEYS = ("lut", "ff", "dsp", "bram", "uram")
LATENCY_KEYS = ("cycles_min", "cycles_max", "interval_min", "interval_max", "target_clock", "estimated_clock")

# Tool spellings seen in the wild for the same resource (Vivado HLS says DSP48E, hls4ml DSP...).
_RESOURCE_ALIASES = {
    "lut": "lut", "luts": "lut",
    "ff": "ff", "ffs": "ff", "fd": "ff",
    "dsp": "dsp", "dsp48e": "dsp", "dsps": "dsp", "dsp48": "dsp",
    "bram": "bram", "bram_18k": "bram", "brams": "bram",
    "uram": "uram", "urams": "uram",
}
_LATENCY_ALIASES = {
    "cycles_min": "cycles_min", "bestlatency": "cycles_min", "latency_min": "cycles_min",
    "cycles_max": "cycles_max", "worstlatency": "cycles_max", "latency_max": "cycles_max",
    "interval_min": "interval_min", "intervalmin": "interval_min", "ii_min": "interval_min",
    "interval_max": "interval_max", "intervalmax": "interval_max", "ii_max": "interval_max",
    "target_clock": "target_clock", "targetclockperiod": "target_clock",
    "estimated_clock": "estimated_clock", "estimatedclockperiod": "estimated_clock",
}
# What the tools write when a number does not exist (URAM on 7-series, an unbounded loop).
_MISSING_TEXT = {"", "n/a", "na", "none", "null", "nan", "-", "?", "undef", "undefined"}

# Layer classes that carry weights: what wa-hls4ml counts when it names a subset "3layer".
_WEIGHT_LAYER_CLASSES = {
    "Dense", "Conv1D", "Conv2D", "SeparableConv1D", "SeparableConv2D", "DepthwiseConv1D",
    "DepthwiseConv2D", "Conv1DTranspose", "Conv2DTranspose", "EinsumDense", "MultiHeadAttention",
    "SimpleRNN", "LSTM", "GRU",
}


class MalformedRecord(ValueError):
    """A record that cannot be read as a synthesis result (counted and skipped by load())."""


class MetaData(TypedDict, total=False):
    uuid: str  # 'model_id' in wa-hls4ml's 2_20 subset
    model_name: str
    artifacts_file: str  # the project tarball in fastmachinelearning/wa-hls4ml-projects


class Layer(TypedDict, total=False):
    """One entry of ``model_config`` (rule4ml's ``config_from_keras_model`` layout)."""

    class_name: str
    name: str
    input_shape: list  # [null, 16]; InputLayer in Keras 2 files: [[null, 16]]
    output_shape: list
    parameters: int
    trainable_parameters: int
    neurons: int  # Dense / QDense
    use_bias: bool
    channels: int  # Conv*
    filters: int
    kernel_size: list
    strides: list
    padding: str
    activation: str  # Activation / QActivation: "relu", "quantized_relu(4,1)"
    dtype: str
    reuse_factor: int  # the reuse factor hls4ml actually used for the layer
    inbound_layers: list


class HlsModel(TypedDict, total=False):
    Precision: str | dict  # "ap_fixed<16,6>" or {"default": "fixed<16,6>"}
    ReuseFactor: int
    Strategy: str  # "Resource" | "Latency" (any case)
    BramFactor: int
    TraceOutput: bool


class HlsConfig(TypedDict, total=False):
    Model: HlsModel
    LayerName: dict  # per-layer {"Precision": {"weight": ..., "result": ...}, "ReuseFactor": ...}
    IOType: str


class ResourceReport(TypedDict, total=False):
    """Stored: strings in wa-hls4ml. Normalized: float in 18 Kb BRAM blocks, or None."""

    lut: Any
    ff: Any
    dsp: Any
    bram: Any
    uram: Any


class LatencyReport(TypedDict, total=False):
    """HLS C-synthesis estimates (wa-hls4ml has no post-synthesis latency). Clocks in ns."""

    cycles_min: Any
    cycles_max: Any
    interval_min: Any
    interval_max: Any
    target_clock: Any
    estimated_clock: Any


class Record(TypedDict, total=False):
    meta_data: MetaData
    model_config: list[Layer]
    hls_config: HlsConfig
    resource_report: ResourceReport
    hls_resource_report: ResourceReport
    latency_report: LatencyReport
    target_part: str
    vivado_version: str  # 'backend_version' in 2_20
    backend: str  # hls4ml backend ('VivadoAccelerator', 'Vitis', ...), when known
    hls4ml_version: str
    # fpgaml's own records add:
    label_source: str  # one of LABEL_SOURCES; absent in wa-hls4ml (= vivado-synth)
    tool_versions: dict  # {"vivado": "2023.2", "vivado_hls": ..., "yosys": "0.40", ...}
    fpgaml_version: str
    subset: str
    design_graph: dict  # surrogates.features.DesignSpec.to_dict() of the built ModelGraph


class Precision(NamedTuple):
    total_bits: int
    integer_bits: int
    signed: bool


_FIXED_RE = re.compile(r"^(?:ap_)?(u?)fixed\s*<\s*(\d+)\s*,\s*(-?\d+)\s*(?:,[^>]*)?>$")
_INT_RE = re.compile(r"^(?:ap_)?(u?)int\s*<\s*(\d+)\s*>$")


def parse_precision(text: Any) -> Precision | None:
    """``'ap_fixed<16,6>'`` -> Precision(16, 6, True); None for 'auto', empty or unreadable.

    Accepts hls4ml's spellings (``fixed<2, 1>``, ``ufixed<4,1,RND_CONV,SAT,0>``,
    ``ap_int<8>``); rounding and saturation modes do not change the bit count, so they are
    dropped. Unreadable text gives None rather than an error because dataset files are
    other people's data: one odd precision must not stop a load of 100,000 records.
    """
    if not isinstance(text, str):
        return None
    s = text.strip().lower()
    m = _FIXED_RE.match(s)
    if m:
        return Precision(int(m.group(2)), int(m.group(3)), m.group(1) != "u")
    m = _INT_RE.match(s)
    if m:
        return Precision(int(m.group(2)), int(m.group(2)), m.group(1) != "u")
    return None


def to_number(value: Any) -> float | None:
    """A report value ("1296.0", 1296, "N/A", None) as float, or None when absent.

    Raises MalformedRecord for text that is neither a number nor a known "missing" marker:
    a silent NaN there would hide a broken converter.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)
    if isinstance(value, str):
        try:
            number = float(value)  # the common case first: this runs ~30 times per record
        except ValueError:
            if value.strip().lower() in _MISSING_TEXT:
                return None
            raise MalformedRecord(f"not a number: {value!r}") from None
        return None if math.isnan(number) else number
    raise MalformedRecord(f"not a number: {value!r}")


def activation_name(text: Any) -> str | None:
    """``'quantized_relu(4,1)'`` -> ``'relu'``; ``'relu'`` -> ``'relu'``; None stays None.

    QKeras writes the quantizer into the activation string; surrogates want the function.
    """
    if not isinstance(text, str) or not text.strip():
        return None
    base = text.strip().split("(", 1)[0].strip().lower()
    for prefix in ("quantized_", "binary_", "ternary_"):
        if base.startswith(prefix):
            return base[len(prefix):] or base
    return base


def is_weight_layer(class_name: Any) -> bool:
    """Dense/Conv/RNN-like layers (QKeras ``Q...`` and ``...Batchnorm`` forms included)."""
    if not isinstance(class_name, str):
        return False
    name = class_name
    if name.endswith("Batchnorm"):
        name = name[: -len("Batchnorm")]
    if name.startswith("Q") and name[1:2].isupper():
        name = name[1:]
    return name in _WEIGHT_LAYER_CLASSES


def _section(raw: dict, key: str) -> dict:
    value = raw.get(key)
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise MalformedRecord(f"{key} is a {type(value).__name__}, expected an object")
    return value


def _normalize_resources(report: dict, key: str, bram_per_block: float) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(RESOURCE_KEYS)
    for name, value in report.items():
        canon = _RESOURCE_ALIASES.get(str(name).lower())
        if canon is None:
            continue
        try:
            number = to_number(value)
        except MalformedRecord as err:
            raise MalformedRecord(f"{key}.{name}: {err}") from None
        if canon == "bram" and number is not None:
            number = number / bram_per_block
        out[canon] = number
    return out


def _normalize_latency(report: dict) -> dict[str, float | None]:
    out: dict[str, float | None] = dict.fromkeys(LATENCY_KEYS)
    for name, value in report.items():
        canon = _LATENCY_ALIASES.get(str(name).lower())
        if canon is None:
            continue
        try:
            out[canon] = to_number(value)
        except MalformedRecord as err:
            raise MalformedRecord(f"latency_report.{name}: {err}") from None
    return out


def _normalize_layer(layer: Any, index: int) -> Layer:
    if not isinstance(layer, dict) or not isinstance(layer.get("class_name"), str):
        raise MalformedRecord(f"model_config[{index}] has no class_name")
    out: Layer = dict(layer)  # type: ignore[assignment]
    for key in ("parameters", "trainable_parameters", "neurons", "filters", "channels", "reuse_factor"):
        if key in out:
            try:
                number = to_number(out[key])
            except MalformedRecord as err:
                raise MalformedRecord(f"model_config[{index}].{key}: {err}") from None
            out[key] = None if number is None else int(number)  # type: ignore[literal-required]
    return out


def _label_source(raw: dict) -> str:
    source = raw.get("label_source")
    if source is None:
        return WAHLS4ML_LABEL_SOURCE
    if source not in LABEL_SOURCES:
        raise MalformedRecord(f"label_source {source!r} is not one of {', '.join(LABEL_SOURCES)}")
    return source


def normalize_record(raw: Any) -> Record:
    """Any wa-hls4ml or fpgaml record -> the canonical record with typed numbers.

    The canonical form keeps wa-hls4ml's names (``meta_data.uuid``, ``vivado_version``) and
    always has every section: reports become dicts of float-or-None over
    RESOURCE_KEYS / LATENCY_KEYS (BRAM in 18 Kb blocks, see the module docstring), missing
    sections become empty. ``label_source`` defaults to 'vivado-synth' (what wa-hls4ml's
    resource_report is). Unknown top-level keys (``synthesis_info``...) are kept.

    Raises MalformedRecord when the value is not a record (not an object, no model_config
    list and no hls_config object, a section of the wrong type, a report value that is
    text but not a number).
    """
    if not isinstance(raw, dict):
        raise MalformedRecord(f"record is a {type(raw).__name__}, expected an object")
    model_config = raw.get("model_config")
    hls_config = raw.get("hls_config")
    if not isinstance(model_config, list) and not isinstance(hls_config, dict):
        raise MalformedRecord("record has neither a model_config list nor an hls_config object")
    if model_config is not None and not isinstance(model_config, list):
        raise MalformedRecord(f"model_config is a {type(model_config).__name__}, expected a list")
    if hls_config is not None and not isinstance(hls_config, dict):
        raise MalformedRecord(f"hls_config is a {type(hls_config).__name__}, expected an object")

    label_source = _label_source(raw)
    meta = _section(raw, "meta_data")
    record: Record = {k: v for k, v in raw.items() if k not in Record.__annotations__}  # type: ignore[assignment]
    record.update(
        meta_data={
            "uuid": _text(meta.get("uuid", meta.get("model_id"))),
            "model_name": _text(meta.get("model_name")),
            "artifacts_file": _text(meta.get("artifacts_file")),
        },
        model_config=[_normalize_layer(layer, i) for i, layer in enumerate(model_config or [])],
        hls_config=hls_config or {},
        resource_report=_normalize_resources(
            _section(raw, "resource_report"), "resource_report", STORED_BRAM_PER_18K_BLOCK[label_source]
        ),
        hls_resource_report=_normalize_resources(_section(raw, "hls_resource_report"), "hls_resource_report", 1.0),
        latency_report=_normalize_latency(_section(raw, "latency_report")),
        target_part=_text(raw.get("target_part")),
        vivado_version=_text(raw.get("vivado_version", raw.get("backend_version"))),
        backend=_text(raw.get("backend")),
        hls4ml_version=_text(raw.get("hls4ml_version")),
        label_source=label_source,
        tool_versions=dict(raw.get("tool_versions") or {}),
    )
    for key in ("fpgaml_version", "subset"):
        if key in raw:
            record[key] = _text(raw[key])  # type: ignore[literal-required]
    if isinstance(raw.get("design_graph"), dict):
        record["design_graph"] = raw["design_graph"]
    return record


def _text(value: Any) -> str | None:
    """Identifiers and versions as text: a 2019.1 stored as a JSON number must not become 2019.1000001."""
    if value is None:
        return None
    return value if isinstance(value, str) else str(value)
