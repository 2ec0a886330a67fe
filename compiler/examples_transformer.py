"""A small particle transformer for jet tagging, in the example zoo's style (seeded, calibrated, no data).

The shape follows the constituent-based jet taggers of "Ultra Fast Transformers on FPGAs for
Particle Physics Experiments" (Jiang et al., 2024): each jet is a set of its 16
highest-momentum constituents with a few features each, embedded per constituent, mixed by
multi-head self-attention in post-norm encoder blocks, pooled, and classified into the 5
classes of the hls4ml jet data set (g, q, W, Z, t). Weights are seeded, not trained: the
example exercises conversion, bit-exact C-simulation and cost estimates on a realistic graph.

It needs :func:`fpgaml.compiler.extensions.register` (the build calls it) because hls4ml
1.3.0 cannot convert hgq2 0.2.0's QMultiHeadAttention or a bit-exact LayerNorm by itself.
"""

from __future__ import annotations

from typing import Any

from .examples import _SEED, _calibrate, _scopes

N_CONSTITUENTS = 16
N_FEATURES = 6  # e.g. pT, eta, phi relative to the jet axis, E, and two particle-ID flags
D_MODEL = 16
N_HEADS = 2
FF_DIM = 32
N_BLOCKS = 2
N_CLASSES = 5


def _encoder_block(x: Any, b: int) -> Any:
    """Post-norm encoder block: attention + residual + LayerNorm, feed-forward + residual + LayerNorm."""
    from hgq.layers import QAdd, QDense, QMultiHeadAttention

    from .extensions.layers import QLayerNormalization

    attn = QMultiHeadAttention(N_HEADS, D_MODEL // N_HEADS, name=f"block{b}_attention")(x, x)
    x = QLayerNormalization(name=f"block{b}_norm1")(QAdd(name=f"block{b}_residual1")([x, attn]))
    h = QDense(FF_DIM, activation="relu", name=f"block{b}_ff1")(x)
    h = QDense(D_MODEL, name=f"block{b}_ff2")(h)
    return QLayerNormalization(name=f"block{b}_norm2")(QAdd(name=f"block{b}_residual2")([x, h]))


def jet_transformer() -> Any:
    """HGQ2 particle transformer: 16 constituents x 6 features, 2 encoder blocks with 2-head attention, 5 classes."""
    import keras
    from hgq.layers import QDense, QGlobalAveragePooling1D

    from .extensions import register

    register()  # hls4ml needs fpgaml's extensions to convert this model; self-contained until the build calls it
    keras.utils.set_random_seed(_SEED)
    s1, s2, s3 = _scopes()
    with s1, s2, s3:
        inputs = keras.Input((N_CONSTITUENTS, N_FEATURES), name="constituents")
        x = QDense(D_MODEL, name="embedding")(inputs)
        for b in range(1, N_BLOCKS + 1):
            x = _encoder_block(x, b)
        x = QGlobalAveragePooling1D(name="pool")(x)
        outputs = QDense(N_CLASSES, name="class_logits")(x)
        model = keras.Model(inputs, outputs, name="jet_transformer")
    return _calibrate(model, (N_CONSTITUENTS, N_FEATURES))
