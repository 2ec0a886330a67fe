"""The hls4ml configuration a build uses, and the checks run on the converted ModelGraph.

hls4ml silently "fixes" some inputs (an invalid reuse factor becomes the closest valid
one, with a printed warning) and has traps that produce wrong hardware without an error
(softmax fed by an ``auto`` result precision gives a constant output). fpgaml turns the
first kind into clear errors and steers around the second kind by default.
"""

from __future__ import annotations

import copy
import re
from typing import Any

from .errors import UserError
from .frontends.base import LoadedModel
from .options import BuildOptions

_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")


def deep_merge(base: dict, override: dict) -> dict:
    """Return ``base`` updated recursively with ``override`` (the user's HLSConfig wins)."""
    merged = copy.deepcopy(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = copy.deepcopy(value)
    return merged


def make_hls_config(loaded: LoadedModel, opts: BuildOptions) -> dict:
    """hls4ml's per-layer config for the model, with the build options applied on top."""
    config = loaded.config_from_model(opts.hls4ml_backend, opts.precision, opts.reuse_factor)
    model_cfg = config.setdefault("Model", {})
    model_cfg["ReuseFactor"] = opts.reuse_factor
    model_cfg["Strategy"] = opts.hls4ml_strategy
    if isinstance(model_cfg.get("Precision"), dict):
        model_cfg["Precision"]["default"] = opts.precision
    else:
        model_cfg["Precision"] = opts.precision
    for layer_cfg in config.get("LayerName", {}).values():
        if "ReuseFactor" in layer_cfg:
            layer_cfg["ReuseFactor"] = opts.reuse_factor
    return deep_merge(config, opts.hls_config)


def _is_softmax(layer: Any) -> bool:
    return layer.class_name == "Softmax" or layer.get_attr("activation") == "softmax"


def pin_softmax_inputs(model_graph: Any, config: dict, precision: str) -> list[str]:
    """Give every layer that feeds a softmax an explicit result precision instead of ``auto``.

    Works around hls4ml 1.3.0: a softmax whose input type was inferred from ``auto`` (a
    wide accumulator type) indexes its exp table out of range and outputs a constant.
    Returns the names of the layers changed; the caller re-converts when any were.
    """
    changed = []
    layer_cfgs = config.setdefault("LayerName", {})
    for layer in model_graph.get_layers():
        # HGQ2 softmaxes carry their own bit-exact types; pinning them would only cost a re-convert.
        if not _is_softmax(layer) or layer.get_attr("_bit_exact", False):
            continue
        producer = layer.get_input_node()
        if producer is None:
            continue
        precision_cfg = layer_cfgs.setdefault(producer.name, {}).setdefault("Precision", {})
        if isinstance(precision_cfg, dict) and precision_cfg.get("result", "auto") == "auto":
            precision_cfg["result"] = precision
            changed.append(producer.name)
    return changed


def _valid_reuse_factors(model_graph: Any, layer: Any) -> list[int] | None:
    """Reuse factors hls4ml accepts for a dense-like or convolution layer (None: any)."""
    n_in, n_out = layer.get_attr("n_in"), layer.get_attr("n_out")
    if layer.class_name.startswith("Conv") or layer.class_name.startswith("PointwiseConv"):
        kernel = [layer.get_attr(a) for a in ("filt_width", "filt_height") if layer.get_attr(a)]
        n_in = layer.get_attr("n_chan", 1)
        for k in kernel:
            n_in *= k
        n_out = layer.get_attr("n_filt")
    if not n_in or not n_out:
        return None
    return model_graph.config.backend.get_valid_reuse_factors(int(n_in), int(n_out))


def check_reuse_factors(model_graph: Any, config: dict) -> None:
    """Refuse a reuse factor hls4ml would silently replace, naming the valid values."""
    layer_cfgs = config.get("LayerName", {})
    default = config.get("Model", {}).get("ReuseFactor", 1)
    for layer in model_graph.get_layers():
        got = layer.get_attr("reuse_factor")
        wanted = layer_cfgs.get(layer.name, {}).get("ReuseFactor", default)
        if got is None or got == wanted:
            continue
        valid = _valid_reuse_factors(model_graph, layer)
        shown = ", ".join(map(str, valid)) if valid else f"hls4ml chose {got}"
        raise UserError(
            f"reuse factor {wanted} is not valid for layer '{layer.name}' ({layer.class_name}); valid values: {shown}"
        )


def check_identifiers(model_graph: Any) -> None:
    """Layer names become C++ identifiers and Tcl words: refuse any that is not plain ASCII."""
    for layer in model_graph.get_layers():
        if not _IDENTIFIER.match(layer.name):
            raise UserError(
                f"layer name {layer.name!r} ({layer.class_name}) is not a valid C++ identifier; "
                "rename it to letters, digits and underscores"
            )
