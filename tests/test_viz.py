"""Graph drawing: DOT structure for a known graph, rendering where Graphviz exists."""
import re
import shutil

import numpy as np
import pytest

import autograd as ag


def _parse(dot):
    nodes = dict(re.findall(r'^\s*(n\d+) \[label="\{ (.*?) \}"', dot, re.M))
    edges = set(re.findall(r"^\s*(n\d+) -> (n\d+);", dot, re.M))
    return nodes, edges


def _by_first_field(nodes):
    return {label.split(" | ")[0]: name for name, label in nodes.items()}


def test_known_scalar_graph_has_every_node_and_edge():
    a = ag.Value(2.0); a.name = "a"
    b = ag.Value(-3.0); b.name = "b"
    c = a * b
    d = ag.tanh(c)
    dot = ag.to_dot(d)
    assert dot.startswith("digraph") and dot.rstrip().endswith("}")
    nodes, edges = _parse(dot)
    names = _by_first_field(nodes)
    assert set(names) == {"a", "b", "multiply", "tanh"}
    assert edges == {(names["a"], names["multiply"]), (names["b"], names["multiply"]),
                     (names["multiply"], names["tanh"])}
    assert "data -6" in nodes[names["multiply"]]


def test_after_backward_tiny_values_and_grads_are_shown():
    a = ag.Value(2.0); a.name = "a"
    y = a * a
    y.backward()
    nodes, _ = _parse(ag.to_dot(y))
    names = _by_first_field(nodes)
    assert "grad 4" in nodes[names["a"]]          # d(a^2)/da = 2a = 4
    assert "grad 1" in nodes[names["multiply"]]
    # a Value's scalar graph is kept after backward (micrograd's semantics): nothing released
    assert "released" not in ag.to_dot(y)


def test_after_backward_a_tensor_graph_is_drawn_as_released():
    a = ag.Tensor(2.0, requires_grad=True); a.name = "a"
    y = a * a
    y.backward()
    dot = ag.to_dot(y)
    assert "released" in dot and "grad 4" in dot


def test_mlp_graph_and_node_cap():
    rng = np.random.default_rng(0)
    x = ag.Tensor(rng.normal(size=(8, 3)))
    w1 = ag.Tensor(rng.normal(size=(3, 5)), requires_grad=True)
    w2 = ag.Tensor(rng.normal(size=(5, 2)), requires_grad=True)
    loss = ag.softmax_cross_entropy(ag.relu(x @ w1) @ w2, np.arange(8) % 2)
    nodes, edges = _parse(ag.to_dot(loss))
    ops = [lbl.split(" | ")[0] for lbl in nodes.values()]
    assert ops.count("matmul") == 2 and "relu" in ops and "softmax_cross_entropy" in ops
    assert ops.count("param") == 2 and ops.count("const") == 1
    y = ag.Value(1.0)
    for _ in range(50):
        y = y * 1.0
    capped = ag.to_dot(y, max_nodes=10)
    assert len(_parse(capped)[0]) == 10 and "40 more operations not drawn" in capped


def test_draw_without_graphviz_writes_dot(tmp_path, monkeypatch):
    monkeypatch.setattr(shutil, "which", lambda name: None)
    y = ag.Value(1.0) * 2
    with pytest.warns(UserWarning, match="Graphviz"):
        out = ag.draw(y, tmp_path / "g.svg")
    assert out.endswith("g.dot") and open(out).read().startswith("digraph")


@pytest.mark.skipif(shutil.which("dot") is None, reason="Graphviz 'dot' not installed")
@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".png", b"\x89PNG"), (".pdf", b"%PDF")])
def test_draw_renders(tmp_path, suffix, magic):
    y = ag.tanh(ag.Value(0.5) * ag.Value(2.0))
    out = ag.draw(y, tmp_path / f"g{suffix}")
    assert open(out, "rb").read(len(magic)) == magic
