"""A small model trained with autograd alone: a 2-16-16-1 MLP on two interleaved moons.

Run: ``python -m autograd.demo``.  Everything here is Tensor ops and ``backward()``; the
``nn`` package wraps the same steps in layers, losses and optimizers.

``python -m autograd.demo --draw graph.png`` instead draws a neuron-sized scalar expression
after backward (the picture in the README), with Graphviz when it is installed.
"""
from __future__ import annotations

import time

import numpy as np

import autograd as ag


def moons(n: int, noise: float, rng: np.random.Generator):
    t = rng.uniform(0, np.pi, n)
    upper = rng.random(n) < 0.5
    x = np.where(upper, np.cos(t), 1 - np.cos(t))
    y = np.where(upper, np.sin(t), 0.5 - np.sin(t))
    pts = np.stack([x, y], axis=1) + rng.normal(0, noise, (n, 2))
    return pts, upper.astype(np.float64)


def main(steps: int = 300, seed: int = 0) -> float:
    rng = np.random.default_rng(seed)
    x, y = moons(200, 0.1, rng)
    sizes = [2, 16, 16, 1]
    params = []
    for a, b in zip(sizes[:-1], sizes[1:]):
        params.append(ag.Tensor(rng.normal(0, np.sqrt(2 / a), (a, b)), requires_grad=True))
        params.append(ag.Tensor(np.zeros(b), requires_grad=True))
    t0 = time.perf_counter()
    for step in range(steps):
        h = x
        for i in range(0, len(params) - 2, 2):
            h = ag.relu(h @ params[i] + params[i + 1])
        logits = (h @ params[-2] + params[-1]).reshape(-1)
        loss = ag.sigmoid_binary_cross_entropy(logits, y)
        for p in params:
            p.grad = None
        loss.backward()
        with ag.no_grad():
            for p in params:
                p -= 0.5 * p.grad
        if step % 50 == 0 or step == steps - 1:
            acc = float(np.mean((logits.data > 0) == (y > 0.5)))
            print(f"step {step:4d}  loss {loss.item():.4f}  accuracy {acc:.3f}")
    print(f"trained in {time.perf_counter() - t0:.2f} s")
    return acc


def draw_example(path: str) -> str:
    """A neuron, micrograd style: tanh(x1 w1 + x2 w2 + b), drawn after backward."""
    x1 = ag.Value(2.0); x1.name = "x1"
    x2 = ag.Value(0.0); x2.name = "x2"
    w1 = ag.Value(-3.0); w1.name = "w1"
    w2 = ag.Value(1.0); w2.name = "w2"
    b = ag.Value(6.8813735870195432); b.name = "b"
    o = ag.tanh(x1 * w1 + x2 * w2 + b)
    o.backward()
    return ag.draw(o, path)


if __name__ == "__main__":
    import argparse
    ap = argparse.ArgumentParser(description="autograd alone: train a small MLP, or draw a graph")
    ap.add_argument("--draw", metavar="PATH", help="draw the example expression to PATH instead")
    ap.add_argument("--steps", type=int, default=300)
    args = ap.parse_args()
    if args.draw:
        print("wrote", draw_example(args.draw))
    else:
        main(args.steps)
