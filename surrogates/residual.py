"""What every learned surrogate shares: its configuration and the residual readout.

Why a residual on the analytic model rather than a free regressor: the analytic model already
knows the structure (DSP = multipliers per cycle, latency = sum of reuse factors), so the
network only has to learn what the formulas miss (how Vivado packs ROMs, muxes and control
logic), needs few parameters and little data, and falls back to exactly the analytic model
when its corrections are zero -- which is also how it starts (zero-initialized heads).

Readout: each layer (node) v predicts a log-correction delta_v per target, and the design's
cost is  sum_v analytic_v * exp(delta_v) + const * exp(delta_graph). So the network learns
``log(target) - log(analytic)`` as a cost-weighted mix of per-layer corrections: a design is
the sum of its layers, whatever its depth. II is a maximum over layers, not a sum.

Two encoders fill in the per-layer corrections (see :func:`build_network`): message passing
over the data-flow graph (gnn.py) and self-attention over the layers as a token sequence
(transformer.py).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import torch
from torch import Tensor, nn
from torch_geometric.nn import global_max_pool, global_mean_pool
from torch_geometric.utils import scatter

from .analytic import TARGETS

MAX_CORRECTION = 3.0  # |delta| <= 3: at most a factor e^3 ~ 20 away from the analytic model
ARCHITECTURES = ("gnn", "transformer")


@dataclass(frozen=True)
class NetworkConfig:
    node_dim: int
    edge_dim: int
    arch: str = "gnn"
    hidden: int = 64
    layers: int = 3
    heads: int = 4  # attention heads (transformer only)
    n_targets: int = len(TARGETS)
    max_readout: tuple[bool, ...] = tuple(t == "ii" for t in TARGETS)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> NetworkConfig:
        data = dict(data)
        data["max_readout"] = tuple(data.get("max_readout", cls.max_readout))
        return cls(**data)


def mlp(n_in: int, hidden: int, n_out: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(n_in, hidden), nn.SiLU(), nn.Linear(hidden, n_out))


def bound(z: Tensor) -> Tensor:
    """Squash a correction into +-MAX_CORRECTION, smoothly."""
    return MAX_CORRECTION * torch.tanh(z / MAX_CORRECTION)


class ResidualCostModel(nn.Module):
    """Per-layer embeddings (from a subclass's :meth:`embed`) -> corrections -> totals."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__()
        self.config = config
        h = config.hidden
        self.node_head = mlp(h, h, config.n_targets)
        self.graph_head = mlp(2 * h, h, config.n_targets)
        for head in (self.node_head, self.graph_head):
            nn.init.zeros_(head[-1].weight)
            nn.init.zeros_(head[-1].bias)
        self.register_buffer("max_mask", torch.tensor(config.max_readout, dtype=torch.bool))

    def embed(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        """[nodes, hidden] embeddings of the layers in their design's context."""
        raise NotImplementedError

    def corrections(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor,
                    num_graphs: int) -> tuple[Tensor, Tensor]:
        """(per-node delta [nodes, T], per-design delta [designs, T]), each within +-MAX_CORRECTION."""
        h = self.embed(x, edge_index, edge_attr, batch, num_graphs)
        pooled = torch.cat([global_mean_pool(h, batch, num_graphs), global_max_pool(h, batch, num_graphs)], dim=1)
        return bound(self.node_head(h)), bound(self.graph_head(pooled))

    def forward(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int,
                node_cost: Tensor, const: Tensor) -> Tensor:
        """Predicted totals [designs, T] in natural units (LUTs, cycles, ...)."""
        delta_v, delta_g = self.corrections(x, edge_index, edge_attr, batch, num_graphs)
        per_node = node_cost * torch.exp(delta_v)
        summed = scatter(per_node, batch, dim=0, dim_size=num_graphs, reduce="sum") + const * torch.exp(delta_g)
        maxed = scatter(per_node, batch, dim=0, dim_size=num_graphs, reduce="max")
        return torch.where(self.max_mask, maxed, summed).clamp_min(0.0)


def build_network(config: NetworkConfig) -> ResidualCostModel:
    """The encoder ``config.arch`` names, freshly initialized."""
    if config.arch == "gnn":
        from .gnn import CostGNN

        return CostGNN(config)
    if config.arch == "transformer":
        from .transformer import CostTransformer

        return CostTransformer(config)
    raise ValueError(f"unknown network architecture {config.arch!r}; expected one of {', '.join(ARCHITECTURES)}")
