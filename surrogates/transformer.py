"""The attention encoder: a transformer over a design's layers as a token sequence.

Why a second encoder: message passing sees a fixed neighbourhood (three rounds, three layers
away), while attention lets every layer see every other one, which suits effects that span
the design (the whole pipeline's depth, one wide layer setting every register width). Tokens
are the same node features the GNN reads, in hls4ml's (topological) layer order, plus a
learned position embedding; data-flow edges are implied by that order for the chains and
skip connections our networks have, so they are not attended to separately.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn
from torch_geometric.utils import to_dense_batch

from .residual import NetworkConfig, ResidualCostModel, mlp

MAX_POSITIONS = 64  # later layers share the last position embedding


class CostTransformer(ResidualCostModel):
    """Pre-norm transformer encoder (no dropout: the data are deterministic tool outputs)."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        h = config.hidden
        self.encode = mlp(config.node_dim, h, h)
        self.position = nn.Embedding(MAX_POSITIONS, h)
        nn.init.normal_(self.position.weight, std=0.02)
        layer = nn.TransformerEncoderLayer(d_model=h, nhead=config.heads, dim_feedforward=2 * h, dropout=0.0,
                                           activation="gelu", batch_first=True, norm_first=True)
        self.encoder = nn.TransformerEncoder(layer, num_layers=config.layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(h)

    def embed(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        counts = torch.bincount(batch, minlength=num_graphs)
        starts = torch.cumsum(counts, 0) - counts
        position = (torch.arange(len(batch), device=batch.device) - starts[batch]).clamp_max(MAX_POSITIONS - 1)
        h = self.encode(x) + self.position(position)
        dense, mask = to_dense_batch(h, batch, batch_size=num_graphs)
        dense = self.encoder(dense, src_key_padding_mask=~mask)
        return self.norm(dense[mask])
