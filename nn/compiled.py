"""``Model.compile(jit_compile=...)``: the train and predict steps under ``autograd.jit``.

The compiled train step is the eager one split where it must touch Python: the program
(traced by ``autograd.jit``) is the forward, the loss (with its regularization penalties)
and the backward, leaving each parameter's gradient in ``.grad``; then, eagerly, the
finite-loss and finite-gradient checks, ``optimizer.step()`` and the weight constraints,
exactly as the eager step does them.  The predict step is the forward in inference mode;
``evaluate`` uses it too (then the loss and metrics on its output, eagerly), except for a
model with regularization penalties (an activity penalty needs the forward run in Python).

``jit_compile``:

* ``False``: eager, as before.
* ``True``: compile.  Every layer of ``nn.layers`` compiles.  Dropout and SpatialDropout2D
  draw their masks through ``autograd.jit.random_draw``: the program draws again at each
  replay, from the generator the eager step uses (the layer's own, or the nn generator
  looked up at each draw, so ``nn.set_seed`` applies), in the same order, so compiled and
  eager training give the same numbers.  BatchNormalization's moving-statistics update is
  a program effect (the ``batch_norm`` primitive declares the arguments it writes,
  ``Primitive.mutates``) re-run on the live tensors at each replay.  What still trains
  eagerly, with one ``JitFallbackWarning`` naming the layer (its predict step is still
  compiled): a random or stateful layer that does not declare its draws/updates to jit
  (one of ``_RANDOM``/``_STATEFUL`` without ``jit_draws``/``jit_state``, e.g. a user's
  GaussianNoise drawing with numpy), and a step jit cannot follow (a ``Lambda`` or custom
  layer reading values into numpy; see ``autograd.jit``).
* ``"auto"`` (the default): like True without the warning for such a layer, then measured:
  after the two traced steps, three compiled steps and three eager ones are timed (each a
  real training step) and the faster one is kept.

Each batch shape is a signature of its own: the last, smaller batch of an epoch gets its own
program (traced twice, then replayed in the following epochs).  Batches with
``sample_weight``/``class_weight`` and dict or tuple inputs run the eager step.
``fit(distributed=True)`` compiles each rank's forward, loss and backward on its shard; the
Allreduce of the gradients and the update run after it exactly as in the eager distributed
step (``nn/distributed.py``); there "auto" compiles without timing (every rank runs the same
step).
"""
from __future__ import annotations

import math
import time
import warnings
from typing import Any, Optional

import numpy as np

import autograd as ag
from autograd.errors import JitFallbackWarning

__all__ = ["check_mode", "Compiled", "blocking_layer"]

#: layers that draw random numbers in training: compiled when the layer draws through
#: ``autograd.jit.random_draw`` (class attribute ``jit_draws``), else trained eagerly
_RANDOM = ("Dropout", "SpatialDropout1D", "SpatialDropout2D", "SpatialDropout3D",
           "GaussianNoise", "GaussianDropout", "AlphaDropout")
#: layers that update state in training: compiled when the update is recorded as a program
#: effect (class attribute ``jit_state``: BatchNormalization's moving statistics, written by
#: the ``batch_norm`` primitive, see ``Primitive.mutates``), else trained eagerly
_STATEFUL = ("BatchNormalization",)


def check_mode(value: Any) -> Any:
    if value is True or value is False or value == "auto":
        return value if value is not np.bool_ else bool(value)
    raise ag.InvalidValueError(f"compile: jit_compile must be True, False or 'auto', got "
                               f"{value!r}")


def blocking_layer(model: Any) -> Optional[str]:
    """The first layer whose training behaviour a compiled step cannot replay, or None."""
    for name, m in model.named_modules():
        cls = type(m)
        kinds = {c.__name__ for c in cls.__mro__}
        if kinds & set(_RANDOM) and not _declares(cls, "jit_draws") and \
                float(getattr(m, "rate", 0.0) or getattr(m, "stddev", 0.0) or 0.0) > 0:
            return f"{cls.__name__} layer {getattr(m, 'name', name)!r} (random in training)"
        if kinds & set(_STATEFUL) and not _declares(cls, "jit_state") and \
                getattr(m, "trainable", True):
            return (f"{cls.__name__} layer {getattr(m, 'name', name)!r} (updates its moving "
                    f"statistics in training)")
    return None


def _declares(cls: type, attr: str) -> bool:
    """Whether the class whose ``call`` runs declares ``attr`` itself (a subclass that
    overrides ``call`` must declare it again: its own draws may not go through jit)."""
    for c in cls.__mro__:                   # from cls up to the class defining call
        if attr in c.__dict__:
            return bool(c.__dict__[attr])
        if "call" in c.__dict__:
            return False
    return False


class Compiled:
    """One model's compiled steps (kept on the model while its compile settings hold)."""

    def __init__(self, model: Any, mode: Any) -> None:
        self.model = model
        self.mode = mode
        self.train_fn: Any = None
        self.predict_fn: Any = None
        self.train_off: Optional[str] = None
        self.timing: dict = {"jit": [], "eager": []}
        self.use_jit = True
        self.warned = False
        self.warned_predict = False
        self.train_fn_opt: Any = None
        self.train_fn_pen: Any = None
        self.plan: Any = None
        self.checked = False

    def _warn(self, why: str) -> None:
        if not self.warned:
            self.warned = True
            warnings.warn(f"jit_compile: training runs eagerly: {why}", JitFallbackWarning,
                          stacklevel=4)

    def _train_program(self, opt: Any, plan: Any) -> Any:
        from .training import compute_loss
        model = self.model
        params = opt.params

        def grad_step(xb, yb):
            for p in params:
                p.grad = None
            out = model(xb)
            loss = compute_loss(model, yb, out, None, plan)
            loss.backward()
            return loss, out
        return self._jit(grad_step)

    def _jit(self, fn: Any) -> Any:
        """``autograd.jit(fn)``; under "auto", which switches between the eager and the
        compiled step as it measures, lowered to the plain replay (bitwise the eager
        numbers) rather than generated numba code (equal to 1e-5 in float32)."""
        f = ag.jit(fn)
        if self.mode == "auto":
            f.backend = _plain_replay
        return f

    def train_step(self, xb: Any, yb: Any, swb: Any, opt: Any, plan: Any = None,
                   eager: Any = None) -> tuple:
        """Same contract as ``training.train_step``: (loss, output data); a non-finite loss
        or gradient returns (value, ...) with no step applied."""
        model = self.model
        if self.train_off is None and not self.checked:
            self.checked = True
            why = blocking_layer(model)
            if why is not None:
                self.train_off = why
                if self.mode is True:           # "auto" decides quietly
                    self._warn(why)
        if (self.train_off is not None or not self.use_jit or swb is not None
                or getattr(model, "_unbound", True) or not opt.param_groups
                or not isinstance(xb, np.ndarray) or not isinstance(yb, np.ndarray)):
            return eager(model, xb, yb, swb, opt, plan)
        if plan is None:            # train_on_batch: the plan the program was traced with
            if self.plan is None:
                from .training import Plan
                self.plan = Plan(model)
            plan = self.plan
        # the program depends on the optimizer's parameters and on whether the loss adds
        # penalties (a new fit's Plan saying the same reuses it)
        ids = tuple(map(id, opt.params))
        if self.train_fn is None or self.train_fn_opt != ids \
                or self.train_fn_pen != plan.penalties:
            self.train_fn = self._train_program(opt, plan)
            self.train_fn_opt, self.train_fn_pen = ids, plan.penalties
        f = self.train_fn
        timing = self.mode == "auto" and len(self.timing["eager"]) < 3
        if timing and len(self.timing["jit"]) >= 3:        # "auto": the eager side
            t0 = time.perf_counter()
            r = eager(model, xb, yb, swb, opt, plan)
            self.timing["eager"].append(time.perf_counter() - t0)
            if len(self.timing["eager"]) == 3:
                self.use_jit = bool(np.median(self.timing["jit"]) < np.median(self.timing["eager"]))
            return r
        ready = timing and f.program(xb, yb) is not None     # a replay (not a trace) to time
        t0 = time.perf_counter()
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JitFallbackWarning)
            loss, out = f(xb, yb)
        if f.fallbacks:
            self.train_off = next(iter(f.fallbacks.values()))
            if self.mode is True:
                self._warn(self.train_off)
        _rewarn(caught)
        value = float(loss)
        from .training import apply_update
        if math.isfinite(value) and not apply_update(model, opt, plan):
            return float("nan"), None
        if ready and not f.fallbacks:
            self.timing["jit"].append(time.perf_counter() - t0)
        return value, out

    def distributed_program(self, grads: Any) -> Any:
        """``fit(distributed=True)``'s compiled shard step: ``autograd.jit(grads)``, where
        ``grads(xs, ys, seed)`` is ``DataParallel``'s forward, loss and backward of one shard;
        the Allreduce of the gradients and the update then run as in the eager step.  None
        (eager, warned under True) for a model with a layer a compiled step cannot replay.
        "auto" compiles without timing, so that every rank runs the same step."""
        why = self.train_off if self.checked else blocking_layer(self.model)
        self.checked = True
        if why is not None:
            self.train_off = why
            if self.mode is True:
                self._warn(why)
            return None
        return ag.jit(grads)

    def call(self, f: Any, *args: Any) -> Any:
        """``f(*args)`` for a jitted ``f``, its fallback reported once (under True) as a
        ``JitFallbackWarning``; other warnings pass through."""
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JitFallbackWarning)
            r = f(*args)
        if f.fallbacks and self.mode is True:
            self._warn(next(iter(f.fallbacks.values())))
        _rewarn(caught)
        return r

    def predict(self, xb: Any) -> Any:
        """The model's output on a batch in inference mode (no graph), as arrays.  The first
        call runs eagerly (it may build the model's layers)."""
        model = self.model
        if self.predict_fn is None:
            self.predict_fn = self._jit(lambda x: model(x))
            with ag.no_grad():
                return model(xb)
        with ag.no_grad(), warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JitFallbackWarning)
            out = self.predict_fn(xb)
        if self.predict_fn.fallbacks and self.mode is True and not self.warned_predict:
            self.warned_predict = True
            warnings.warn(f"jit_compile: predict runs eagerly: "
                          f"{next(iter(self.predict_fn.fallbacks.values()))}",
                          JitFallbackWarning, stacklevel=4)
        _rewarn(caught)
        return out

    def forward(self, xb: Any) -> Any:
        """The compiled predict step's output as tensors (evaluate's forward)."""
        out = self.predict(xb)
        if isinstance(out, ag.Tensor):
            return out
        from autograd.transforms import tree_flatten, tree_unflatten
        leaves, spec = tree_flatten(out)
        return tree_unflatten(spec, [ag.Tensor._make(v) if isinstance(v, np.ndarray) else v
                                     for v in leaves])

    def __reduce__(self) -> tuple:
        # a copy or pickle of the model gets fresh (uncompiled) steps
        return (Compiled, (self.model, self.mode))


def _rewarn(caught: list) -> None:
    """Warnings other than jit's own, raised again (jit's are reported by this module)."""
    for w in caught:
        if not issubclass(w.category, JitFallbackWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _plain_replay(program: Any) -> Any:
    return program
