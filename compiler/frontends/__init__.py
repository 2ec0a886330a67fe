"""Frontends: turn a model file or object into a :class:`~.base.LoadedModel`.

Dispatch is by object type or file suffix; each framework's module is imported only when
it is needed, so building a Keras model never imports torch or onnxruntime.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import UserError
from .base import InputSpec, LoadedModel

SUPPORTED = ".keras (Keras 3 / HGQ2), .h5 (QKeras under Keras 2), .onnx (ONNX / QONNX), file.py:factory (PyTorch)"


def _torch_spec(text: str) -> bool:
    head, sep, _ = text.rpartition(":")
    return bool(sep) and head.endswith(".py")


def load_model(source: Any, input_shape: tuple[int, ...] | None = None, weights: Path | None = None) -> LoadedModel:
    """Load ``source`` (a path, a ``file.py:factory`` spec, or a model object) for building."""
    if isinstance(source, LoadedModel):
        return source
    if not isinstance(source, (str, Path)):
        return _load_object(source, input_shape)
    text = str(source)
    if _torch_spec(text):
        from .torch_model import load_torch_spec

        return load_torch_spec(text, input_shape, weights)
    path = Path(text)
    if not path.exists():
        raise UserError(f"{path}: no such model file")
    if not path.is_file():
        raise UserError(f"{path}: not a file; supported model files: {SUPPORTED}")
    suffix = path.suffix.lower()
    if suffix == ".keras":
        from .keras_model import load_keras_file

        return load_keras_file(path)
    if suffix in (".h5", ".hdf5"):
        from .qkeras_h5 import load_qkeras_h5_model

        return load_qkeras_h5_model(path)
    if suffix == ".onnx":
        from .onnx_model import load_onnx_file

        return load_onnx_file(path)
    if suffix == ".py":
        raise UserError(f"{path}: name the factory that returns the PyTorch module, e.g. {path}:make_model")
    raise UserError(f"{path}: unsupported model file type '{suffix}'; supported: {SUPPORTED}")


def _load_object(model: Any, input_shape: tuple[int, ...] | None) -> LoadedModel:
    module = type(model).__module__
    if module.startswith(("keras", "hgq", "tf_keras")) or hasattr(model, "count_params"):
        from .keras_model import wrap_keras_model

        return wrap_keras_model(model)
    if module.startswith("torch") or hasattr(model, "state_dict"):
        from .torch_model import wrap_torch_module

        if input_shape is None:
            input_shape = getattr(model, "input_shape", None)
        return wrap_torch_module(model, input_shape)
    if module.startswith("onnx") and hasattr(model, "SerializeToString"):
        import tempfile

        from .onnx_model import load_onnx_file

        with tempfile.TemporaryDirectory() as tmp:  # one loading path for files and objects
            path = Path(tmp) / f"{model.graph.name or 'model'}.onnx"
            path.write_bytes(model.SerializeToString())
            return load_onnx_file(path)
    raise UserError(f"unsupported model object {type(model).__name__}; supported: keras.Model, torch.nn.Module, "
                    "onnx.ModelProto, or a path to " + SUPPORTED)


__all__ = ["InputSpec", "LoadedModel", "SUPPORTED", "load_model"]
