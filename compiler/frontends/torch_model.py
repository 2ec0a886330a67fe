"""PyTorch models (plain float ``torch.nn.Module``), given as ``file.py:factory`` or in memory.

A PyTorch model is Python code, not a file format, so the user points at a factory:
``path/to/net.py:make_net``, where ``make_net()`` returns the module or
``(module, example_input)``. Optional trained weights come separately as a state dict
(``torch.save(model.state_dict(), path)``), loaded with ``weights_only=True`` so the weights
file cannot run code. The module is put in ``eval()`` mode (Dropout off, BatchNorm frozen),
which is what the FPGA design computes.

Layout: inputs and outputs stay in PyTorch's own channels-first layout, e.g. ``(batch, C, L)``
for Conv1d; hls4ml transposes to its internal channels-last layout on the way in
(``channels_last_conversion='full'``) and back on the way out (``transpose_outputs=True``).
So the ``--inputs`` .npy array is exactly what the PyTorch model takes, and :meth:`predict`
and the C-simulation take and return the same arrays.

These are float models: hls4ml quantizes them to the configured fixed-point precision, so the
C-simulation is compared with a tolerance, never expected bit-exact.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .base import InputSpec, LoadedModel

#: Module classes hls4ml 1.3's parse_pytorch_model skips (passes through) instead of converting.
_HLS4ML_SKIPPED_MODULES = ("Dropout", "Sequential")


class TorchModel(LoadedModel):
    """A float ``torch.nn.Module`` in eval mode, taking one channels-first tensor."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        import torch

        x = np.asarray(x)
        if x.shape[1:] != tuple(self.inputs.shape):
            raise UserError(
                f"inputs have per-sample shape {x.shape[1:]}, the PyTorch model expects {tuple(self.inputs.shape)} "
                "(batch first, PyTorch's channels-first layout)"
            )
        with torch.no_grad():
            y = self.model(torch.from_numpy(np.ascontiguousarray(x)).to(_param_dtype(self.model)))
        return _output_array(y)

    def config_from_model(self, backend: str, default_precision: str, reuse_factor: int) -> dict:
        import hls4ml

        config = hls4ml.utils.config_from_pytorch_model(
            self.model,
            tuple(self.inputs.shape),
            granularity="name",
            backend=backend,
            default_precision=default_precision,
            default_reuse_factor=reuse_factor,
            channels_last_conversion="full",
            transpose_outputs=True,
        )
        # hls4ml stores the module itself in the config; the converter takes it as an argument
        # instead, and a config without it stays printable/serialisable.
        config.pop("PytorchModel", None)
        return config

    def convert(self, hls_config: dict, **convert_kwargs: Any):
        import hls4ml

        return hls4ml.converters.convert_from_pytorch_model(self.model, hls_config=hls_config, **convert_kwargs)

    @property
    def n_params(self) -> int:
        return int(sum(p.numel() for p in self.model.parameters()))


def wrap_torch_module(module: Any, input_shape: Sequence[int] | None = None, name: str | None = None) -> TorchModel:
    """Wrap an in-memory module; ``input_shape`` excludes the batch (default: ``module.input_shape``)."""
    import torch

    if not isinstance(module, torch.nn.Module):
        raise UserError(f"expected a torch.nn.Module, got {type(module).__name__}")
    module.eval()
    if input_shape is None:
        input_shape = getattr(module, "input_shape", None)
    if input_shape is None:
        raise UserError(
            f"input shape of {type(module).__name__} unknown: pass --input-shape, return (module, example_input) "
            "from the factory, or set an `input_shape` attribute on the module"
        )
    shape = _normalise_shape(input_shape)
    name = name or type(module).__name__
    notes = []
    if type(module).__module__.startswith("torch.nn") and next(module.children(), None) is None:
        # torch.fx traces through the root module, so a bare nn.Conv1d/nn.Linear would reach
        # hls4ml as the functional F.conv1d/F.linear, which it refuses; as a child it is a layer.
        module = torch.nn.Sequential(module)
        notes.append(f"wrapped the bare {type(module[0]).__name__} in nn.Sequential for hls4ml's parser")
    _check_supported(module)
    _check_runs(module, shape)
    _check_linear_inputs(module, shape)
    if len(shape) > 1:
        notes.append(f"inputs and outputs use PyTorch's channels-first layout: (batch, {', '.join(map(str, shape))})")
    return TorchModel(
        name=name,
        source_format="pytorch",
        model=module,
        inputs=InputSpec(shape),
        expect_bit_exact=False,
        notes=notes,
    )


def load_torch_spec(spec: str, input_shape: Sequence[int] | None = None, weights: Path | None = None) -> TorchModel:
    """Build the module from ``path/to/file.py:factory``, load optional weights, and wrap it.

    The input shape (without batch) comes from ``input_shape`` (--input-shape), else from the
    example input the factory returned (its first dimension is the batch), else from the
    module's ``input_shape`` attribute.
    """
    path, factory_name = _parse_spec(spec)
    namespace = _import_file(path)
    factory = getattr(namespace, factory_name, None)
    if factory is None:
        defined = sorted(n for n, v in vars(namespace).items() if callable(v) and not n.startswith("_"))
        raise UserError(
            f"{path}: no factory named '{factory_name}' (callables defined there: {', '.join(defined) or 'none'})"
        )
    if not callable(factory):
        raise UserError(f"{path}: '{factory_name}' is a {type(factory).__name__}, not a callable factory")
    try:
        result = factory()
    except Exception as err:
        raise UserError(f"{path}: {factory_name}() raised {type(err).__name__}: {_one_line(err)}") from None
    module, example = _split_factory_result(path, factory_name, result)
    if weights is not None:
        _load_weights(module, Path(weights))
    if input_shape is None and example is not None:
        input_shape = _example_shape(path, factory_name, example)
    return wrap_torch_module(module, input_shape)


# ---------------------------------------------------------------- loading


def _parse_spec(spec: str) -> tuple[Path, str]:
    file_part, sep, factory = str(spec).rpartition(":")
    if not sep or not file_part or not factory.isidentifier():
        raise UserError(f"'{spec}': expected a PyTorch model spec of the form path/to/file.py:factory")
    path = Path(file_part)
    if not path.is_file():
        raise UserError(f"{path}: no such file (from model spec '{spec}')")
    return path, factory


def _import_file(path: Path) -> Any:
    """Run the user's model file as a module; its directory is importable so helpers next to it load."""
    resolved = path.resolve()
    stem = re.sub(r"\W", "_", resolved.stem)
    mod_name = f"fpgaml_user_{stem}_{hashlib.sha1(str(resolved).encode()).hexdigest()[:8]}"
    module_spec = importlib.util.spec_from_file_location(mod_name, resolved)
    if module_spec is None or module_spec.loader is None:
        raise UserError(f"{path}: cannot be imported as a Python file")
    namespace = importlib.util.module_from_spec(module_spec)
    sys.modules[mod_name] = namespace  # dataclasses / pickling look the module up by name
    sys.path.insert(0, str(resolved.parent))
    try:
        module_spec.loader.exec_module(namespace)
    except Exception as err:  # SyntaxError, ImportError, anything the user's code raises
        sys.modules.pop(mod_name, None)
        raise UserError(f"{path}: importing it raised {type(err).__name__}: {_one_line(err)}") from None
    finally:
        if sys.path and sys.path[0] == str(resolved.parent):
            sys.path.pop(0)
    return namespace


def _split_factory_result(path: Path, factory_name: str, result: Any) -> tuple[Any, Any]:
    import torch

    example = None
    if isinstance(result, tuple) and len(result) == 2:
        result, example = result
    if not isinstance(result, torch.nn.Module):
        raise UserError(
            f"{path}: {factory_name}() returned {type(result).__name__}; expected a torch.nn.Module "
            "or (module, example_input)"
        )
    return result, example


def _example_shape(path: Path, factory_name: str, example: Any) -> tuple[int, ...]:
    """Per-sample shape of the example input, whose first dimension is the batch."""
    shape = getattr(example, "shape", None)
    if shape is None:
        raise UserError(
            f"{path}: {factory_name}() returned an example input of type {type(example).__name__}; "
            "expected one tensor (fpgaml builds single-input models)"
        )
    if len(shape) < 2:
        raise UserError(
            f"{path}: the example input from {factory_name}() has shape {tuple(shape)}; "
            "it needs a batch dimension first"
        )
    return tuple(int(d) for d in shape[1:])


def _load_weights(module: Any, weights: Path) -> None:
    """Load a state dict with weights_only=True (no pickled code runs); keys must match exactly."""
    import torch

    if not weights.is_file():
        raise UserError(f"{weights}: no such weights file")
    try:
        state = torch.load(weights, map_location="cpu", weights_only=True)
    except Exception as err:  # UnpicklingError for full pickled modules, RuntimeError for non-torch files
        raise UserError(
            f"{weights}: not a state dict loadable with torch.load(weights_only=True) "
            f"({type(err).__name__}: {_one_line(err).split('. ')[0]}); "
            "save it with torch.save(model.state_dict(), path)"
        ) from None
    if isinstance(state, Mapping) and isinstance(state.get("state_dict"), Mapping):
        state = state["state_dict"]  # common checkpoint layout {'state_dict': ..., 'epoch': ...}
    if not isinstance(state, Mapping):
        raise UserError(f"{weights}: holds a {type(state).__name__}, not a state dict")
    try:
        module.load_state_dict(state)
    except Exception as err:
        raise UserError(f"{weights}: does not fit {type(module).__name__}: {_one_line(err)}") from None


def _normalise_shape(input_shape: Any) -> tuple[int, ...]:
    try:
        shape = tuple(int(d) for d in input_shape)
    except (TypeError, ValueError):
        raise UserError(f"input shape {input_shape!r} is not a sequence of integers") from None
    if not shape or any(d <= 0 for d in shape):
        raise UserError(f"input shape {shape} must be non-empty positive sizes, without the batch dimension")
    return shape


# ---------------------------------------------------------------- checks


def _check_supported(module: Any) -> None:
    """Refuse modules/functions hls4ml cannot parse, naming them, before hls4ml fails on them.

    Traces the module the way hls4ml 1.3's parse_pytorch_model does (its CustomFXTracer, so
    torch.nn modules are leaves) and applies its rules: module classes must have a registered
    handler; functions and methods are named after the traced node with any ``_<n>`` suffix
    removed and mapped through hls4ml's ``layer_name_map``.
    """
    import hls4ml
    from hls4ml.converters.pytorch_to_hls import layer_name_map
    from hls4ml.utils.torch import CustomFXTracer

    supported = set(hls4ml.converters.get_supported_pytorch_layers()) | set(_HLS4ML_SKIPPED_MODULES)
    listing = ", ".join(sorted(supported, key=str.lower))
    cls = type(module).__name__
    try:
        graph = CustomFXTracer().trace(module)
    except Exception as err:
        raise UserError(
            f"{cls}: torch.fx cannot trace forward() ({type(err).__name__}: {_one_line(err)}); "
            "hls4ml's PyTorch frontend needs a traceable model (no data-dependent Python control flow)"
        ) from None
    for node in graph.nodes:
        if node.op == "call_module":
            sub_cls = type(module.get_submodule(node.target)).__name__
            if sub_cls not in supported:
                raise UserError(
                    f"{cls}: module '{node.target}' ({sub_cls}) is not supported by hls4ml's PyTorch frontend; "
                    f"supported layers: {listing}"
                )
        elif node.op in ("call_function", "call_method"):
            operation = re.sub(r"_\d+$", "", node.name)
            operation = layer_name_map.get(operation, operation)
            if operation != "getitem" and operation not in supported:
                target = getattr(node.target, "__name__", str(node.target))
                kind = "method" if node.op == "call_method" else "function"
                raise UserError(
                    f"{cls}: {kind} '{target}' (traced as '{node.name}') is not supported by hls4ml's PyTorch "
                    f"frontend; supported layers and functions: {listing}"
                )


def _check_linear_inputs(module: Any, shape: tuple[int, ...]) -> None:
    """Refuse a Linear applied to a (sequence, features) tensor, naming the module.

    hls4ml 1.3.0 cannot convert token-wise Linear layers (the pattern of hand-written
    attention): with channels-last conversion it crashes splitting the array ("array split
    does not result in an equal division"), without it the numbers come out wrong.
    """
    import torch
    from hls4ml.utils.torch import CustomFXTracer
    from torch.fx.passes.shape_prop import ShapeProp

    graph_module = torch.fx.GraphModule(module, CustomFXTracer().trace(module))
    ShapeProp(graph_module).propagate(torch.zeros((1, *shape), dtype=_param_dtype(module)))
    for node in graph_module.graph.nodes:
        if node.op != "call_module" or not isinstance(module.get_submodule(node.target), torch.nn.Linear):
            continue
        meta = node.args[0].meta.get("tensor_meta") if node.args else None
        if meta is not None and len(meta.shape) > 2:
            raise UserError(
                f"{type(module).__name__}: module '{node.target}' (Linear) is applied to a "
                f"{tuple(meta.shape[1:])} tensor; hls4ml 1.3 converts Linear only on (batch, features) inputs, "
                "so token-wise Linear layers (attention) are not supported"
            )


def _check_runs(module: Any, shape: tuple[int, ...]) -> None:
    """Run a zero batch through the module so a wrong input shape fails here, in one line."""
    import torch

    try:
        with torch.no_grad():
            y = module(torch.zeros((2, *shape), dtype=_param_dtype(module)))
    except Exception as err:
        raise UserError(
            f"{type(module).__name__}: forward() fails on input shape (batch, {', '.join(map(str, shape))}): "
            f"{type(err).__name__}: {_one_line(err)}"
        ) from None
    if not isinstance(y, torch.Tensor):
        raise UserError(
            f"{type(module).__name__}: forward() returns {type(y).__name__}; fpgaml builds single-output models"
        )


# ---------------------------------------------------------------- helpers


def _param_dtype(module: Any) -> Any:
    """The module's floating dtype (float32 unless the user converted it), for input tensors."""
    import torch

    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.float32


def _output_array(y: Any) -> np.ndarray:
    import torch

    if not isinstance(y, torch.Tensor):
        raise UserError(f"forward() returned {type(y).__name__}; fpgaml builds single-output models")
    return y.detach().cpu().numpy().astype(np.float64)


def _one_line(err: BaseException) -> str:
    """An exception message collapsed onto one line (load_state_dict's spans several)."""
    text = " ".join(str(err).split())
    text = text or type(err).__name__
    return text if len(text) <= 400 else text[:397] + "..."
