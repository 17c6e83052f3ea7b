"""Module: parameter discovery, names, zero_grad, call/forward, train/eval."""
import numpy as np
import pytest

import autograd as ag
import nn


class Block(nn.Module):
    def __init__(self):
        super().__init__()
        self.w = nn.Parameter(np.ones((2, 2)))
        self.scale = ag.Tensor(np.ones(2))  # does not require grad: not a parameter

    def forward(self, x):
        return x @ self.w


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.first = Block()
        self.stack = [Block(), Block()]
        self.heads = {"a": nn.layers.Dense(1, input_dim=2), "b": nn.Parameter(np.zeros(3))}
        self.shared = self.first  # the same module twice: its parameters count once

    def forward(self, x):
        for b in [self.first] + self.stack:
            x = b(x)
        return self.heads["a"](x)


def test_parameters_found_through_attributes_lists_dicts():
    net = Net()
    names = [n for n, _ in net.named_parameters()]
    assert names == ["first.w", "stack.0.w", "stack.1.w", "heads.a.kernel", "heads.a.bias",
                     "heads.b"]
    assert len(net.parameters()) == 6 and net.count_params() == 4 * 3 + 2 + 1 + 3


def test_forward_and_zero_grad():
    net = Net()
    out = net(np.ones((3, 2)))
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters() if p is not net.heads["b"])
    net.zero_grad()
    assert all(p.grad is None for p in net.parameters())


def test_train_eval_recursive():
    net = Net()
    assert net.training and net.stack[1].training
    net.eval()
    assert not net.training and not net.stack[1].training and not net.heads["a"].training
    net.train()
    assert net.heads["a"].training


def test_module_without_call_or_forward():
    with pytest.raises(NotImplementedError, match="call"):
        nn.Module()(1)


def test_keras_call_style_and_lazy_build():
    class M(nn.Model):
        def __init__(self):
            super().__init__()
            self.d = nn.layers.Dense(3)

        def call(self, x):
            return self.d(x)

    m = M()
    assert m.parameters() == []
    m(np.ones((2, 7)))
    assert m.d.kernel.shape == (7, 3) and len(m.parameters()) == 2
    assert m.layers == [m.d]


def test_sequential_layers_and_add():
    s = nn.Sequential([nn.layers.Dense(4, input_dim=2)])
    s.add(nn.layers.Dense(1))
    assert len(s.layers) == 2 and isinstance(s, nn.Model)
    assert s(np.ones((5, 2))).shape == (5, 1)
    with pytest.raises(ValueError):
        s.add("dense")


def test_private_attributes_are_searched_too():
    class P(nn.Module):
        def __init__(self):
            super().__init__()
            self._w = nn.Parameter(np.ones(2))
            self._blocks = [Block()]

    assert [n for n, _ in P().named_parameters()] == ["_w", "_blocks.0.w"]
