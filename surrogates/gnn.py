"""The message-passing encoder: GINE over the data-flow graph of layers.

Edge features (tensor width and size) tell each layer what it receives; three rounds reach
three layers up- and downstream, which is where the effects the analytic model misses live
(a narrow producer shrinking the next layer's multipliers, a pipeline boundary's registers).
"""

from __future__ import annotations

from torch import Tensor, nn
from torch_geometric.nn import GINEConv

from .residual import NetworkConfig, ResidualCostModel, mlp


class CostGNN(ResidualCostModel):
    """GINE message passing, residual + LayerNorm per round."""

    def __init__(self, config: NetworkConfig) -> None:
        super().__init__(config)
        h = config.hidden
        self.encode = mlp(config.node_dim, h, h)
        self.convs = nn.ModuleList(
            GINEConv(mlp(h, h, h), train_eps=True, edge_dim=config.edge_dim) for _ in range(config.layers)
        )
        self.norms = nn.ModuleList(nn.LayerNorm(h) for _ in range(config.layers))

    def embed(self, x: Tensor, edge_index: Tensor, edge_attr: Tensor, batch: Tensor, num_graphs: int) -> Tensor:
        h = self.encode(x)
        for conv, norm in zip(self.convs, self.norms):
            h = norm(h + conv(h, edge_index, edge_attr))
        return h
