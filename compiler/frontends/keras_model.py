"""Keras 3 models, plain or quantized with HGQ2, from `.keras` files or in memory.

HGQ2 models are quantization-aware end to end and hls4ml derives every precision from
their quantizers, so the C-simulation must match them bit for bit: the build treats a
mismatch as an error. Plain Keras float models are compared with a tolerance instead.
"""

from __future__ import annotations

import contextlib
import re
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import UserError
from .base import InputSpec, LoadedModel
from .tensorflow_runtime import import_keras_quietly

import_keras_quietly()

from ..extensions import register as _register_extensions  # noqa: E402  (needs Keras imported first)

# Before any Keras model is loaded or converted: fpgaml's layers must deserialize under
# safe_mode, and hls4ml must know the handlers fpgaml adds (attention, LayerNorm).
_register_extensions()


_NOT_FOUND = re.compile(r"Layer <class '([\w.]+)'> not found in registry")


def supported_keras_layers() -> list[str]:
    """Layer classes hls4ml 1.3 converts: its Keras 3 handlers plus its Keras 2 fallbacks."""
    from hls4ml.converters.keras_v2_to_hls import get_supported_keras_layers
    from hls4ml.converters.keras_v3 import layer_handlers

    names = {key.rsplit(".", 1)[-1] for key in layer_handlers} | set(get_supported_keras_layers())
    return sorted(n for n in names if n.isidentifier())


def _keep_parsed_softmax_implementation(layers: list[dict], config: dict) -> None:
    """Let a softmax keep the implementation its handler chose (e.g. QSoftmax(stable=False) ->
    'latency'): hls4ml 1.3.0's config_from_keras_model writes 'Implementation: stable' for
    every softmax, which overrides it and then fails (KeyError 'inp_norm_t')."""
    for layer in layers:
        if "implementation" in layer and layer.get("class_name") in ("Softmax", "QSoftmax"):
            config.get("LayerName", {}).get(layer["name"], {}).pop("Implementation", None)


def _is_hgq_layer(layer: Any) -> bool:
    return type(layer).__module__.startswith("hgq.")


class KerasModel(LoadedModel):
    """A Keras 3 model (HGQ2 layers allowed)."""

    def predict(self, x: np.ndarray) -> np.ndarray:
        # A direct call in chunks: model.predict traces a tf.function first (~0.6 s), ten
        # times the cost of the check itself for a 1000-sample batch.
        chunks = [np.asarray(self.model(x[i : i + 4096], training=False)) for i in range(0, len(x), 4096)]
        return np.concatenate(chunks).astype(np.float64)

    def config_from_model(self, backend: str, default_precision: str, reuse_factor: int) -> dict:
        import hls4ml
        from hls4ml.converters.keras_v3_to_hls import parse_keras_v3_model

        with self._unsupported_layers_named():
            # Parse once without the DA fallback first: config_from_keras_model always tries it,
            # and hls4ml 1.3.0 then prints "da4ml is missing" before the unsupported-layer error.
            layers, *_ = parse_keras_v3_model(self.model, allow_da_fallback=False)
            config = hls4ml.utils.config_from_keras_model(
                self.model,
                granularity="name",
                backend=backend,
                default_precision=default_precision,
                default_reuse_factor=reuse_factor,
            )
        _keep_parsed_softmax_implementation(layers, config)
        return config

    def convert(self, hls_config: dict, **convert_kwargs: Any):
        import hls4ml

        # No DA fallback: hls4ml 1.3.0's da_call requires da4ml<0.6 (not installed), so trying
        # it only prints a "package da4ml is missing" line before the real error.
        with self._unsupported_layers_named():
            return hls4ml.converters.convert_from_keras_model(
                self.model, hls_config=hls_config, allow_da_fallback=False, **convert_kwargs
            )

    @contextlib.contextmanager
    def _unsupported_layers_named(self) -> Iterator[None]:
        """Turn hls4ml's "Layer <class ...> not found in registry" into a one-line UserError."""
        try:
            yield
        except ValueError as err:
            match = _NOT_FOUND.search(str(err))
            if not match:
                raise
            cls = match.group(1).rsplit(".", 1)[-1]
            names = [layer.name for layer in self.model.layers if type(layer).__name__ == cls]
            where = f"layer '{names[0]}'" if names else "a layer"
            raise UserError(
                f"{where} of class {cls} is not supported by hls4ml; supported Keras layers: "
                + ", ".join(supported_keras_layers())
            ) from None

    @property
    def n_params(self) -> int:
        return int(self.model.count_params())


def _input_spec(model: Any) -> InputSpec:
    """Input shape, and the range of the first HGQ2 input quantizer when there is one."""
    if len(model.inputs) != 1:
        raise UserError(f"model '{model.name}' has {len(model.inputs)} inputs; fpgaml builds single-input models")
    shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    for layer in model.layers:
        iq = getattr(layer, "iq", None)
        if _is_hgq_layer(layer) and iq is not None and getattr(iq, "built", False):
            try:
                low, high = float(np.min(np.asarray(iq.min))), float(np.max(np.asarray(iq.max)))
            except (AttributeError, TypeError, ValueError):
                break
            if np.isfinite(low) and np.isfinite(high) and high > low:
                return InputSpec(shape, low, high)
        if layer.__class__.__name__ != "InputLayer":
            break
    return InputSpec(shape)


def wrap_keras_model(model: Any) -> KerasModel:
    """Wrap an in-memory Keras model; HGQ2 models are marked as expected bit-exact."""
    import keras

    if not isinstance(model, keras.Model):
        raise UserError(f"expected a keras.Model, got {type(model).__name__}")
    hgq = any(_is_hgq_layer(layer) for layer in model.layers)
    return KerasModel(
        name=model.name,
        source_format="hgq2" if hgq else "keras",
        model=model,
        inputs=_input_spec(model),
        expect_bit_exact=hgq,
    )


def load_keras_file(path: Path) -> KerasModel:
    """Load a `.keras` archive with safe_mode, so a Lambda layer carrying code is refused."""
    import keras

    import hgq  # noqa: F401  (registers HGQ2's layers and quantizers as Keras serializables)

    if not zipfile.is_zipfile(path):
        raise UserError(f"{path}: not a Keras 3 .keras archive (a zip file); is it corrupt or another format?")
    try:
        model = keras.saving.load_model(path, safe_mode=True, compile=False)
    except ValueError as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        if "safe_mode" in str(err) or "Lambda" in str(err):
            raise UserError(f"{path}: refused to load a layer that carries Python code (safe_mode): {first}") from None
        raise UserError(f"{path}: cannot load Keras model: {first}") from None
    except (TypeError, KeyError, OSError, zipfile.BadZipFile) as err:
        raise UserError(f"{path}: cannot load Keras model: {type(err).__name__}: {err}") from None
    return wrap_keras_model(model)
