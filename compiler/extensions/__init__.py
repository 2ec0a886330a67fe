"""What fpgaml adds to hls4ml 1.3 so transformers build: call :func:`register` before converting.

hls4ml 1.3.0 with hgq2 0.2.0 cannot convert a transformer as shipped: the HGQ2 attention
handlers are registered under class paths hgq2 no longer uses, and its LayerNormalization
is neither bit-exact nor usable with Keras' default ``axis=-1``. :func:`register` fixes both
through hls4ml's own extension points (layer-handler registry, ``register_layer``, backend
templates and sources, a bit-exact-pass rule) without touching the installed package, and
imports :class:`~.layers.QLayerNormalization` so ``.keras`` files using it deserialize.
"""

from __future__ import annotations

_BACKENDS = ("Vivado", "Vitis")
_registered = False


def register() -> None:
    """Install fpgaml's hls4ml extensions; safe to call any number of times."""
    global _registered
    if _registered:
        return
    import hls4ml.backends
    import hls4ml.model.layers
    from hls4ml.model.optimizer.passes import bit_exact

    from . import layers  # noqa: F401  (registers QLayerNormalization as a Keras serializable)
    from .hgq_attention import alias_moved_attention_handlers
    from .hls_layernorm import (
        HLS_CLASS,
        FpgamlLayerNorm,
        FpgamlLayerNormConfigTemplate,
        FpgamlLayerNormFunctionTemplate,
        QLayerNormalizationHandler,  # noqa: F401  (defining it registers the Keras-v3 handler)
        header_path,
        produce_kif,
    )

    alias_moved_attention_handlers()
    hls4ml.model.layers.register_layer(HLS_CLASS, FpgamlLayerNorm)
    header = header_path()
    for name in _BACKENDS:
        backend = hls4ml.backends.get_backend(name)
        backend.register_template(FpgamlLayerNormConfigTemplate)
        backend.register_template(FpgamlLayerNormFunctionTemplate)
        backend.register_source(header)
    # hls4ml's bit-exact pass (on for every HGQ2 model) derives each layer's output precision
    # with a singledispatch function that raises for unknown layer classes.
    bit_exact._produce_kif.register(FpgamlLayerNorm)(produce_kif)
    _registered = True


__all__ = ["register"]
