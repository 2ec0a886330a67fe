"""The learned part: a small message-passing network that corrects the analytic model.

Why a residual on the analytic model rather than a free regressor: the analytic model already
knows the structure (DSP = multipliers per cycle, latency = sum of reuse factors), so the
network only has to learn what the formulas miss (how Vivado packs ROMs, muxes and control
logic), needs few parameters and little data, and falls back to exactly the analytic model
when its corrections are zero -- which is also how it starts (zero-initialized heads).

Readout: each layer (node) v predicts a log-correction delta_v per target, and the design's
cost is  sum_v analytic_v * exp(delta_v) + const * exp(delta_graph). So the GNN learns
``log(target) - log(analytic)`` as a cost-weighted mix of per-layer corrections: a design is
the sum of its layers, whatever its depth. II is a maximum over layers, not a sum.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch_geometric.nn import GINEConv, global_max_pool, global_mean_pool
from torch_geometric.utils import scatter

from .analytic import TARGETS

MAX_CORRECTION = 3.0  # |delta| <= 3: at most a factor e^3 ~ 20 away from the analytic model


@dataclass(frozen=True)
class GNNConfig:
    node_dim: int
    edge_dim: int
    hidden: int = 64
    layers: int = 3
    n_targets: int = len(TARGETS)
    max_readout: tuple[bool, ...] = tuple(t == "ii" for t in TARGETS)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "GNNConfig":
        data = dict(data)
        data["max_readout"] = tuple(data.get("max_readout", cls.max_readout))
        return cls(**data)


def _mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, n_out))


class CostGNN(nn.Module):
    """GINE message passing over the layer graph (edge features: tensor width and size),
    residual + LayerNorm per round, then per-node and per-design correction heads."""

    def __init__(self, config: GNNConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.encode = _mlp(config.node_dim, h, h)
        self.convs = nn.ModuleList(
            GINEConv(_mlp(h, h, h), train_eps=True, edge_dim=config.edge_dim) for _ in range(config.layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(h) for _ in range(config.layers))
        self.node_head = _mlp(h, h, config.n_targets)
        self.graph_head = _mlp(2 * h, h, config.n_targets)
        for head in (self.node_head, self.graph_head):
            nn.init.zeros_(head[-1].weight)
            nn.init.zeros_(head[-1].bias)
        self.register_buffer("max_mask", torch.tensor(config.max_readout, dtype=torch.bool))

    def corrections(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor,
                    num_graphs: int) -> tuple[Tensor, Tensor]:
        """(per-node delta [nodes, T], per-design delta [designs, T]), each within +-MAX_CORRECTION."""
        h = self.encode(x)
        for conv, norm in zip(self.convs, self.norms):
            h = norm(h + conv(h, edge_index, edge_attr))
        pooled = torch.cat([global_mean_pool(h, batch, num_graphs), global_max_pool(h, batch, num_graphs)], dim=1)
        bound = lambda z: MAX_CORRECTION * torch.tanh(z / MAX_CORRECTION)  # noqa: E731
        return bound(self.node_head(h)), bound(self.graph_head(pooled))

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int,
                node_cost: Tensor, const: Tensor) -> Tensor:
        """Predicted totals [designs, T] in natural units (LUTs, cycles, ...)."""
        delta_v, delta_g = self.corrections(x, edge_index, edge_attr, batch, num_graphs)
        per_node = node_cost * torch.exp(delta_v)
        summed = scatter(per_node, batch, dim=0, dim_size=num_graphs, reduce="sum") + const * torch.exp(delta_g)
        maxed = scatter(per_node, batch, dim=0, dim_size=num_graphs, reduce="max")
        return torch.where(self.max_mask, maxed, summed).clamp_min(0.0)
