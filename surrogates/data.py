"""NodeTable + analytic costs -> torch tensors, for one big batch or a list of PyG ``Data``.

Inference builds one batch straight from the flat NodeTable (no per-design Python objects:
that is what makes 10,000 designs a second possible); training uses PyG's ``Data`` list and
``DataLoader`` for shuffled mini-batches.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import Tensor

from .analytic import AnalyticModel
from .features import NodeTable, edge_matrix, node_matrix


@dataclass
class TensorBatch:
    """Everything ResidualCostModel.forward needs for a set of designs."""

    x: Tensor
    edge_index: Tensor
    edge_attr: Tensor
    batch: Tensor
    num_graphs: int
    node_cost: Tensor
    const: Tensor

    def model_args(self) -> tuple:
        return (self.x, self.edge_index, self.edge_attr, self.batch, self.num_graphs, self.node_cost, self.const)


def tensor_batch(table: NodeTable, node_cost: np.ndarray, const: np.ndarray) -> TensorBatch:
    """The network inputs for ``table``, with the analytic per-layer costs it corrects (computed
    once by the caller, which also needs them for the analytic totals)."""
    return TensorBatch(
        x=torch.from_numpy(node_matrix(table)),
        edge_index=torch.from_numpy(np.stack([table.src, table.dst])).long(),
        edge_attr=torch.from_numpy(edge_matrix(table)),
        batch=torch.from_numpy(table.graph).long(),
        num_graphs=table.n_graphs,
        node_cost=torch.from_numpy(node_cost.astype(np.float32)),
        const=torch.from_numpy(const.astype(np.float32)),
    )


def data_list(table: NodeTable, analytic: AnalyticModel, y: np.ndarray) -> list:
    """One PyG ``Data`` per design (x, edge_index, edge_attr, node_cost, const, y [1, T] with NaN
    for unknown targets), for PyG's DataLoader."""
    from torch_geometric.data import Data

    whole = tensor_batch(table, *analytic.node_costs(table))
    starts = np.searchsorted(table.graph, np.arange(table.n_graphs + 1))
    edge_graph = table.graph[table.src]
    edge_starts = np.searchsorted(edge_graph, np.arange(table.n_graphs + 1))
    if np.any(np.diff(edge_graph) < 0):
        raise ValueError("edges must be grouped by design (tabulate keeps them so)")
    yt = torch.from_numpy(np.asarray(y, dtype=np.float32))
    out = []
    for g in range(table.n_graphs):
        a, b = starts[g], starts[g + 1]
        ea, eb = edge_starts[g], edge_starts[g + 1]
        out.append(Data(x=whole.x[a:b], edge_index=whole.edge_index[:, ea:eb] - a, edge_attr=whole.edge_attr[ea:eb],
                        node_cost=whole.node_cost[a:b], const=whole.const[g:g + 1], y=yt[g:g + 1]))
    return out
