"""One MLP training step per library, all from the same weights: the peers of mlp_step and digits.

Every peer computes the same thing: ReLU hidden layers, a linear last layer, mean
softmax-cross-entropy with integer labels, backward, then SGD (``p -= lr * v`` with
``v = momentum * v + grad``, PyTorch's form; plain ``p -= lr * grad`` when momentum is 0).
``params`` is a list of ``(W, b)`` float32 numpy arrays, W of shape (in, out).

``make(name, params, lr, momentum)`` returns a :class:`Runner` or raises :class:`Unavailable`
(the peer is not installed or cannot run here) with the reason.  A runner's ``prepare(x, y)``
turns numpy data into the peer's own arrays (outside the timed region when the batch is
fixed); ``step(batch)`` runs one training step and returns the loss as a float-convertible
object, finished (JAX is blocked on, tinygrad realized); ``predict(x)`` gives numpy logits.
"""
from __future__ import annotations

from typing import Callable


class Unavailable(Exception):
    """The peer cannot run: not installed, or failed to start (the message says which)."""


class Runner:
    def __init__(self, prepare: Callable, step: Callable, predict: Callable) -> None:
        self.prepare, self.step, self.predict = prepare, step, predict


#: Display names, in table order.  "numpy by hand" is the no-autograd reference.
PEERS = {
    "hand": "numpy by hand",
    "autograd": "autograd",
    "nn": "nn.Model + nn.optimizers.SGD",
    "jit": "autograd, step under autograd.jit",
    "nn-jit": "nn.Model, jit_compile=True (train_on_batch)",
    "torch": "PyTorch eager",
    "jax": "JAX jax.jit",
    "mygrad": "MyGrad",
    "tinygrad": "tinygrad TinyJit",
}
INSTALL = {
    "torch": "pip install torch --index-url https://download.pytorch.org/whl/cpu",
    "jax": "pip install jax jaxlib",
    "mygrad": "pip install mygrad",
    "tinygrad": "pip install tinygrad (its CPU device also needs clang)",
    "micrograd": "pip install micrograd",
}


def _import(mod: str, peer: str):
    import importlib
    try:
        return importlib.import_module(mod)
    except ImportError as e:
        raise Unavailable(f"{PEERS.get(peer, peer)} skipped: `{mod}` is not installed "
                          f"({INSTALL.get(peer, 'pip install ' + mod)}) [{e}]") from None


def make(name: str, params: list, lr: float, momentum: float = 0.0) -> Runner:
    try:
        return _MAKERS[name](params, lr, momentum)
    except Unavailable:
        raise
    except Exception as e:  # noqa: BLE001 - any failure to start means: skip with the reason
        raise Unavailable(f"{PEERS.get(name, name)} skipped: failed to start "
                          f"({type(e).__name__}: {str(e).splitlines()[0][:200]})") from None


# ----------------------------------------------------------------------------- numpy by hand
def _hand(params, lr, momentum):
    import numpy as np
    ps = [(W.copy(), b.copy()) for W, b in params]
    vel = [(np.zeros_like(W), np.zeros_like(b)) for W, b in ps] if momentum else None
    last = len(ps) - 1

    def forward(x):
        acts = [x]
        h = x
        for i, (W, b) in enumerate(ps):
            h = h @ W
            h += b
            if i < last:
                np.maximum(h, 0, out=h)
            acts.append(h)
        return acts

    def step(batch):
        x, y = batch
        acts = forward(x)
        z = acts[-1]
        n = z.shape[0]
        p = np.exp(z - z.max(axis=1, keepdims=True))
        p /= p.sum(axis=1, keepdims=True)
        rows = np.arange(n)
        loss = -np.log(p[rows, y]).mean()
        g = p
        g[rows, y] -= 1.0
        g /= n
        for i in range(last, -1, -1):
            W, b = ps[i]
            gW = acts[i].T @ g
            gb = g.sum(axis=0)
            if i:
                g = g @ W.T
                g *= acts[i] > 0
            if vel is None:
                W -= lr * gW
                b -= lr * gb
            else:
                vW, vb = vel[i]
                vW *= momentum
                vW += gW
                vb *= momentum
                vb += gb
                W -= lr * vW
                b -= lr * vb
        return loss

    return Runner(lambda x, y: (x, y), step, lambda x: forward(x)[-1])


# ----------------------------------------------------------------------------- this library
def _autograd(params, lr, momentum):
    """The functional form: one fused ``dense`` node per layer, one xent node, kernel SGD."""
    import numpy as np
    import autograd as ag
    from autograd import kernels as K
    ps = [(ag.Tensor(W.copy(), requires_grad=True), ag.Tensor(b.copy(), requires_grad=True))
          for W, b in params]
    flat = [t for wb in ps for t in wb]
    vel = [np.zeros_like(t.data) for t in flat] if momentum else [None] * len(flat)
    last = len(ps) - 1

    def forward(x):
        h = x
        for i, (W, b) in enumerate(ps):
            h = ag.dense(h, W, b, activation="relu" if i < last else None)
        return h

    def step(batch):
        x, y = batch
        loss = ag.softmax_cross_entropy(forward(x), y)
        loss.backward()
        for t, v in zip(flat, vel):
            K.sgd_update(t._data, t.grad, v, lr, momentum)
            t.grad = None
        return loss

    def predict(x):
        with ag.no_grad():
            return forward(x).data

    return Runner(lambda x, y: (x, y), step, predict)


def _jit(params, lr, momentum):
    """The functional step (``dense`` per layer, xent, ``p -= lr * grad`` under no_grad)
    compiled with ``autograd.jit``: traced twice, replayed from the third call."""
    import autograd as ag
    ps = [(ag.Tensor(W.copy(), requires_grad=True), ag.Tensor(b.copy(), requires_grad=True))
          for W, b in params]
    flat = [t for wb in ps for t in wb]
    last = len(ps) - 1

    def forward(x):
        h = x
        for i, (W, b) in enumerate(ps):
            h = ag.dense(h, W, b, activation="relu" if i < last else None)
        return h

    @ag.jit
    def train(x, y):
        loss = ag.softmax_cross_entropy(forward(x), y)
        loss.backward()
        with ag.no_grad():
            for t in flat:
                t -= lr * ag.Tensor(t.grad)
                t.grad = None
        return loss

    def step(batch):
        return train(*batch)

    def predict(x):
        with ag.no_grad():
            return forward(x).data

    return Runner(lambda x, y: (x, y), step, predict)


def _nn_jit(params, lr, momentum):
    """``Model.compile(..., jit_compile=True)`` and ``train_on_batch``: the compiled
    forward/loss/backward, then the eager update, checks and logs."""
    import autograd as ag
    import nn
    model = build_nn_model(params)
    model.compile(nn.optimizers.SGD(learning_rate=lr, momentum=momentum),
                  nn.losses.SparseCategoricalCrossentropy(from_logits=True), jit_compile=True)

    def step(batch):
        return model.train_on_batch(*batch)

    def predict(x):
        with ag.no_grad():
            return model(x).data

    return Runner(lambda x, y: (x, y), step, predict)


def build_nn_model(params):
    """An ``nn.Sequential`` of Dense layers holding copies of ``params``."""
    import nn
    sizes = [params[0][0].shape[0]] + [W.shape[1] for W, _ in params]
    layers = [nn.layers.Dense(n_out, activation="relu" if i < len(params) - 1 else None,
                              input_dim=sizes[i] if i == 0 else None)
              for i, n_out in enumerate(sizes[1:])]
    model = nn.Sequential(layers)
    model.build((None, sizes[0]))
    for layer, (W, b) in zip(model.layers, params):
        layer.kernel.data = W.copy()
        layer.bias.data = b.copy()
    return model


def _nn(params, lr, momentum):
    """The Keras-style layer on top: Sequential, a loss object and an optimizer object."""
    import autograd as ag
    import nn
    model = build_nn_model(params)
    loss_fn = nn.losses.SparseCategoricalCrossentropy(from_logits=True)
    opt = nn.optimizers.SGD(model.parameters(), learning_rate=lr, momentum=momentum)

    def step(batch):
        x, y = batch
        opt.zero_grad()
        loss = loss_fn(y, model(x))
        loss.backward()
        opt.step()
        return loss

    def predict(x):
        with ag.no_grad():
            return model(x).data

    return Runner(lambda x, y: (x, y), step, predict)


# ----------------------------------------------------------------------------- peers
def _torch(params, lr, momentum):
    torch = _import("torch", "torch")
    from benchmarks._common import THREADS
    torch.set_num_threads(THREADS)
    F = torch.nn.functional
    # PyTorch's own layout: weight (out, in), y = x @ weight.T + b (F.linear)
    ps = [(torch.tensor(W.T.copy(), requires_grad=True), torch.tensor(b.copy(), requires_grad=True))
          for W, b in params]
    opt = torch.optim.SGD([t for wb in ps for t in wb], lr=lr, momentum=momentum)
    last = len(ps) - 1

    def forward(x):
        h = x
        for i, (W, b) in enumerate(ps):
            h = F.linear(h, W, b)
            if i < last:
                h = F.relu(h)
        return h

    def step(batch):
        x, y = batch
        opt.zero_grad()
        loss = F.cross_entropy(forward(x), y)
        loss.backward()
        opt.step()
        return loss.detach()

    def predict(x):
        with torch.no_grad():
            return forward(torch.from_numpy(x)).numpy()

    return Runner(lambda x, y: (torch.from_numpy(x), torch.from_numpy(y)), step, predict)


def _jax(params, lr, momentum):
    jax = _import("jax", "jax")
    import jax.numpy as jnp
    import numpy as np
    jax.config.update("jax_platforms", "cpu")
    ps = [(jnp.asarray(W), jnp.asarray(b)) for W, b in params]
    vel = [(jnp.zeros_like(W), jnp.zeros_like(b)) for W, b in ps]
    last = len(ps) - 1

    def forward(ps, x):
        h = x
        for i, (W, b) in enumerate(ps):
            h = h @ W + b
            if i < last:
                h = jax.nn.relu(h)
        return h

    def loss_fn(ps, x, y):
        logp = jax.nn.log_softmax(forward(ps, x))
        return -jnp.mean(jnp.take_along_axis(logp, y[:, None], axis=1))

    @jax.jit
    def _sgd(ps, x, y):
        loss, g = jax.value_and_grad(loss_fn)(ps, x, y)
        return jax.tree_util.tree_map(lambda p, gp: p - lr * gp, ps, g), loss

    @jax.jit
    def _momentum(ps, vel, x, y):
        loss, g = jax.value_and_grad(loss_fn)(ps, x, y)
        vel = jax.tree_util.tree_map(lambda v, gp: momentum * v + gp, vel, g)
        return jax.tree_util.tree_map(lambda p, v: p - lr * v, ps, vel), vel, loss

    state = {"ps": ps, "vel": vel}

    def step(batch):
        x, y = batch
        if momentum:
            state["ps"], state["vel"], loss = _momentum(state["ps"], state["vel"], x, y)
        else:
            state["ps"], loss = _sgd(state["ps"], x, y)
        jax.block_until_ready(state["ps"])
        return loss.block_until_ready()

    fwd = jax.jit(forward)
    return Runner(lambda x, y: (jnp.asarray(x), jnp.asarray(y.astype(np.int32))), step,
                  lambda x: np.asarray(fwd(state["ps"], jnp.asarray(x))))


def _mygrad(params, lr, momentum):
    mg = _import("mygrad", "mygrad")
    import numpy as np
    from mygrad.nnet.activations import relu
    from mygrad.nnet.losses import softmax_crossentropy
    ps = [(mg.Tensor(W.copy()), mg.Tensor(b.copy())) for W, b in params]
    flat = [t for wb in ps for t in wb]
    vel = [np.zeros_like(t.data) for t in flat]
    last = len(ps) - 1

    def forward(x):
        h = x
        for i, (W, b) in enumerate(ps):
            h = mg.matmul(h, W) + b
            if i < last:
                h = relu(h)
        return h

    def step(batch):
        x, y = batch
        loss = softmax_crossentropy(forward(x), y)
        loss.backward()
        for t, v in zip(flat, vel):
            if momentum:
                v *= momentum
                v += t.grad
                t.data -= lr * v
            else:
                t.data -= lr * t.grad
        return loss.item()

    def predict(x):
        with mg.no_autodiff:
            return np.asarray(forward(x))

    return Runner(lambda x, y: (x, y), step, predict)


def _tinygrad(params, lr, momentum):
    tg = _import("tinygrad", "tinygrad")
    import numpy as np
    from tinygrad import Tensor, TinyJit
    from tinygrad.helpers import Context
    from tinygrad.nn.optim import SGD
    ps = [(Tensor(W.copy()).realize(), Tensor(b.copy()).realize()) for W, b in params]
    opt = SGD([t for wb in ps for t in wb], lr=lr, momentum=momentum)
    last = len(ps) - 1

    def forward(x):
        h = x
        for i, (W, b) in enumerate(ps):
            h = h.linear(W, b)
            if i < last:
                h = h.relu()
        return h

    def _step(x, y):
        with Context(TRAINING=1):
            opt.zero_grad()
            loss = forward(x).sparse_categorical_crossentropy(y).backward()
            # the loss is lazy: realize it in the same schedule as the update, or it would
            # be computed from the updated weights
            return loss.realize(*opt.schedule_step())

    jits: dict = {}   # one TinyJit per batch shape (a fit's last batch may be shorter)

    def step(batch):
        x, y = batch
        f = jits.get(x.shape)
        if f is None:
            f = jits[x.shape] = TinyJit(_step)
        return f(x, y)

    def predict(x):
        return forward(Tensor(x)).numpy()

    del tg
    return Runner(lambda x, y: (Tensor(x).realize(), Tensor(y.astype(np.int32)).realize()),
                  step, predict)


_MAKERS = {"hand": _hand, "autograd": _autograd, "nn": _nn, "jit": _jit, "nn-jit": _nn_jit, "torch": _torch, "jax": _jax,
           "mygrad": _mygrad, "tinygrad": _tinygrad}


def init_params(sizes: list, seed: int = 0) -> list:
    """He-normal weights and zero biases, float32: the one set every peer starts from."""
    import numpy as np
    rng = np.random.default_rng(seed)
    return [((rng.standard_normal((i, o)) * (2.0 / i) ** 0.5).astype(np.float32),
             np.zeros(o, np.float32)) for i, o in zip(sizes[:-1], sizes[1:])]
