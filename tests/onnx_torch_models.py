"""Small seeded ONNX, QONNX and PyTorch models, built in code, shared by the frontend and
build tests (no binary fixtures: each graph is made with ``onnx.helper`` or torch here)."""

from __future__ import annotations

from typing import Any

import numpy as np


def _init(name: str, value: Any) -> Any:
    from onnx import numpy_helper

    return numpy_helper.from_array(np.asarray(value, dtype=np.float32), name)


def plain_onnx_mlp(seed: int = 0):
    """16 -> Gemm(32) -> Relu -> Gemm(5) -> Identity, as torch.onnx.export writes a Linear MLP."""
    import onnx
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed)
    inits = [
        _init("fc1.weight", rng.normal(0, 0.3, (32, 16))),
        _init("fc1.bias", rng.normal(0, 0.1, 32)),
        _init("fc2.weight", rng.normal(0, 0.3, (5, 32))),
        _init("fc2.bias", rng.normal(0, 0.1, 5)),
    ]
    nodes = [
        helper.make_node("Gemm", ["x", "fc1.weight", "fc1.bias"], ["h1"], name="fc1", transB=1),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
        helper.make_node("Gemm", ["a1", "fc2.weight", "fc2.bias"], ["logits"], name="fc2", transB=1),
        helper.make_node("Identity", ["logits"], ["y"], name="out"),
    ]
    graph = helper.make_graph(
        nodes,
        "plain_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, ["batch", 5])],
        inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    return model


def _quant(name: str, inp: str, out: str, scale: float, bits: int, signed: int = 1, narrow: int = 0):
    """A QONNX Quant node with constant scale / zero point / bit width, Brevitas-style."""
    from onnx import helper

    node = helper.make_node(
        "Quant",
        [inp, f"{name}_scale", f"{name}_zeropt", f"{name}_bitwidth"],
        [out],
        name=name,
        domain="qonnx.custom_op.general",
        signed=signed,
        narrow=narrow,
        rounding_mode="ROUND",
    )
    return node, [_init(f"{name}_scale", scale), _init(f"{name}_zeropt", 0.0), _init(f"{name}_bitwidth", bits)]


def qonnx_mlp(seed: int = 0, in_bits: int = 8):
    """Quant(8b input) -> MatMul(Quant 4b W) + Quant(16b b) -> Relu -> Quant(6b unsigned) -> ... -> Identity.

    Power-of-two scales, as Brevitas' *FixedPoint quantizers export them. The trailing
    Identity reproduces the hls4ml 1.3 empty-output-port trap that the frontend removes.
    """
    from onnx import TensorProto, helper

    rng = np.random.default_rng(seed)
    nodes, inits = (
        [],
        [
            _init("W1", rng.normal(0, 0.3, (16, 32))),
            _init("b1", rng.normal(0, 0.1, 32)),
            _init("W2", rng.normal(0, 0.3, (32, 5))),
            _init("b2", rng.normal(0, 0.1, 5)),
        ],
    )

    def add_quant(*args, **kwargs) -> None:
        node, params = _quant(*args, **kwargs)
        nodes.append(node)
        inits.extend(params)

    add_quant("quant_in", "x", "xq", 2.0**-4, in_bits)
    add_quant("quant_w1", "W1", "W1q", 2.0**-3, 4, narrow=1)
    add_quant("quant_b1", "b1", "b1q", 2.0**-7, 16)
    nodes += [
        helper.make_node("MatMul", ["xq", "W1q"], ["mm1"], name="matmul1"),
        helper.make_node("Add", ["mm1", "b1q"], ["h1"], name="add1"),
        helper.make_node("Relu", ["h1"], ["a1"], name="relu1"),
    ]
    add_quant("quant_a1", "a1", "a1q", 2.0**-3, 6, signed=0)
    add_quant("quant_w2", "W2", "W2q", 2.0**-3, 4, narrow=1)
    add_quant("quant_b2", "b2", "b2q", 2.0**-7, 16)
    nodes += [
        helper.make_node("MatMul", ["a1q", "W2q"], ["mm2"], name="matmul2"),
        helper.make_node("Add", ["mm2", "b2q"], ["logits"], name="add2"),
        helper.make_node("Identity", ["logits"], ["y"], name="out"),
    ]
    graph = helper.make_graph(
        nodes,
        "qonnx_mlp",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 16])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 5])],
        inits,
    )
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)]
    )


def torch_mlp(seed: int = 0):
    import torch

    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.ReLU(), torch.nn.Linear(32, 5))
    with torch.no_grad():
        for p in model.parameters():
            p.normal_(0.0, 0.3)
    return model


CONV1D_FILE = '''
import torch
from torch import nn


class Conv1dNet(nn.Module):
    """Conv1d -> ReLU -> Conv1d(same) -> ReLU -> Flatten (channels-first order!) -> Linear."""

    def __init__(self):
        super().__init__()
        self.conv1 = nn.Conv1d(4, 8, 3)
        self.relu1 = nn.ReLU()
        self.conv2 = nn.Conv1d(8, 8, 3, padding=1)
        self.relu2 = nn.ReLU()
        self.flatten = nn.Flatten()
        self.fc = nn.Linear(8 * 30, 5)

    def forward(self, x):
        return self.fc(self.flatten(self.relu2(self.conv2(self.relu1(self.conv1(x))))))


def make_net():
    torch.manual_seed(1)
    return Conv1dNet(), torch.zeros(1, 4, 32)


def trained_weights():
    torch.manual_seed(2)
    net = Conv1dNet()
    with torch.no_grad():
        for name, p in net.named_parameters():
            p.normal_(0.0, 0.1 if name.startswith("fc") else 0.3)
    return net.state_dict()


def broken():
    raise ValueError("no such checkpoint")


def not_a_module():
    return 42


def with_gelu():
    return nn.Sequential(nn.Linear(16, 8), nn.GELU()), torch.zeros(1, 16)


class Cosine(nn.Module):
    def forward(self, x):
        return torch.cos(x)


def with_cosine():
    return Cosine(), torch.zeros(1, 16)
'''
