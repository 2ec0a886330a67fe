"""Point hls4ml's HGQ2 attention handlers at the class paths hgq2 0.2.0 actually uses.

hls4ml 1.3.0 looks Keras-v3 layer handlers up by ``f"{cls.__module__}.{cls.__name__}"``
and registers its attention handlers under hgq2's old module paths
(``hgq.layers.multi_head_attention.QMultiHeadAttention``,
``hgq.layers.linformer_attention.QLinformerAttention``). hgq2 0.2.0 moved both classes into
``hgq.layers.attn.mha`` / ``hgq.layers.attn.linformer``, so every QMultiHeadAttention model
fails with "Layer <class 'hgq.layers.attn.mha.QMultiHeadAttention'> not found in registry".
The handlers themselves work unchanged with hgq2 0.2.0 (verified bit-exact by C-simulation
in tests/test_transformer.py), so the fix is an alias of the registry entry. ``setdefault``
leaves a later hls4ml that registers the new paths itself in charge.
"""

from __future__ import annotations

# (where hgq2 0.2.0 defines the class, where hls4ml 1.3.0 registered its handler)
MOVED_CLASSES: tuple[tuple[str, str], ...] = (
    ("hgq.layers.attn.mha.QMultiHeadAttention", "hgq.layers.multi_head_attention.QMultiHeadAttention"),
    ("hgq.layers.attn.linformer.QLinformerAttention", "hgq.layers.linformer_attention.QLinformerAttention"),
)


def alias_moved_attention_handlers() -> list[str]:
    """Register hls4ml's attention handlers under hgq2 0.2.0's class paths; returns the paths added."""
    from hls4ml.converters.keras_v3 import layer_handlers

    added = []
    for new_path, old_path in MOVED_CLASSES:
        handler = layer_handlers.get(old_path)
        if handler is not None and new_path not in layer_handlers:
            layer_handlers[new_path] = handler
            added.append(new_path)
    return added
