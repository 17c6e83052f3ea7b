"""``Model.compile(jit_compile=...)``: the train and predict steps under ``autograd.jit``.

The compiled train step is one program (traced by ``autograd.jit``) for the whole step:
the forward, the loss (with its regularization penalties), the backward, and the update as
a ``host`` instruction of that program (``Compiled._update``, ``autograd.jit.effects``):
Python run again at every replay, after the gradients are in ``.grad``.  The update is the
eager step's: a non-finite loss applies nothing (its gradients are dropped, as the eager
step never runs that backward), a non-finite gradient applies nothing (the check covers
every gradient before any parameter changes), else the optimizer's update and then the
weight constraints.  Because that update runs in Python at each call, everything the
optimizer keeps advances exactly as in eager training: ``iterations``, Adam's step counts,
a learning-rate schedule read at the current step (never a value frozen at the trace),
momentum and moment slots, clipping, weight decay.  Under ``jit_compile=True``, for SGD,
Adam, AdamW and RMSprop with one parameter group and no clipping (``_Multi``), the check
and the update of every parameter are one multi-tensor kernel call
(``autograd.kernels.optim_multi``: the same per-array arithmetic as the optimizer's own
kernels); the other optimizers and settings, and "auto" (whose compiled steps keep the eager
numbers bit for bit), run ``training.apply_update`` (a finite check per gradient, then
``opt.step()``'s loop).  The outcome is
read back in ``Compiled.applied``.

Why a host instruction rather than the update traced as array operations (``p -= lr * g``
under ``no_grad``, which ``autograd.jit`` records): a schedule, a step count or a bias
correction is a Python number that changes at every step, so a traced update would need it
fed in as an input and every state write guarded by ``where(finite, new, old)``; the
replayed program would then run one numpy call per operation and one in-place write per
slot per parameter, more than the one kernel call above (measured: the multi-tensor update
of the tiny MLP's 6 parameters is one dispatch of about 5 µs).

Once a batch signature is compiled (from its third call), ``train_on_batch`` and ``fit``
replay it directly (``Compiled.ready``/``replay``): a dict lookup and a few attribute checks
(the optimizer, its parameter count, the loss's penalties), no ``catch_warnings``, and no
switch of every layer to training mode and back (a replay reads no layer's ``training``
flag; the traced calls run in training mode).

Metrics (under True): the program also returns the metrics of ``MetricPlan`` (decided once,
on the first batch's output, that step run eagerly), computed from the forward's output
(recorded after the update instruction, so they neither split the fused forward/backward
segments nor see the updated weights: they read the forward's buffer); the fit loop sums
them as it sums eager values (``Compiled.mvals``).  A metric that does not trace, keeps
Python state or traces to another value stays eager on the step's output, with one
``JitFallbackWarning`` naming it.

The predict step is the forward in inference mode.  Under True, ``evaluate``,
``test_on_batch`` and fit's validation run the evaluate step (``test_step``): forward in
inference mode, loss and the ``MetricPlan``'s metrics in one program; under "auto" they
use the predict step, then the loss and metrics eagerly.  Neither for a model with
regularization penalties (an activity penalty needs the forward run in Python) or a batch
with sample weights.

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
``sample_weight``/``class_weight`` and dict or tuple inputs x run the eager step (a tuple or
dict of targets y, for several outputs, compiles).
``fit(distributed=True)`` compiles each rank's forward, loss and backward on its shard (no
update in that program); the Allreduce of the gradients and the update run after it exactly
as in the eager distributed step (``nn/distributed.py``); there "auto" compiles without
timing (every rank runs the same step).
"""
from __future__ import annotations

import copy
import math
import time
from operator import is_
import warnings
from typing import Any, Optional

import numpy as np

import autograd as ag
from autograd.errors import JitFallbackWarning
from autograd.graph import MODE as _MODE
from autograd.jit import _hand_out
from autograd.jit.effects import host_effect
from autograd.jit.program import StaleProgram

from autograd.kernels import optim_multi as _optim_multi

from .optimizers.base import Optimizer as _Optimizer, _HoldInterrupt

__all__ = ["check_mode", "Compiled", "blocking_layer", "MetricPlan"]

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
        self.opt: Any = None            # the optimizer the train program updates
        self.n_params = 0               # how many parameters it had bound then
        self.cur_plan: Any = None       # the Plan of the running step (its constraints)
        self.applied = False            # the last step's update was applied
        self.multi: Any = None          # the multi-tensor update (_Multi), when it applies
        self.mplan: Optional[MetricPlan] = None     # the metrics compiled into the steps
        self.mvals: Optional[list] = None   # the last compiled step's metric values (or None)
        self.train_fn_mp: Any = None        # the MetricPlan the train program was traced with
        self.eval_fn: Any = None            # the compiled evaluate step (loss and metrics)
        self.eval_fn_mp: Any = None
        self.warned_eval = False

    def _warn(self, why: str) -> None:
        if not self.warned:
            self.warned = True
            warnings.warn(f"jit_compile: training runs eagerly: {why}", JitFallbackWarning,
                          stacklevel=4)

    def _train_program(self, opt: Any, plan: Any) -> Any:
        from .training import compute_loss
        model = self.model
        params = opt.params
        update = self._update
        mp = self.mplan

        def train(xb, yb):
            for p in params:
                p.grad = None
            out = model(xb)
            loss = compute_loss(model, yb, out, None, plan)
            loss.backward()
            update(loss)            # a host instruction: checks, opt.step(), constraints
            # the metrics read the forward's output (its buffer, from before the update);
            # recorded last, so that they do not split the step's fused segments
            return (loss, out, *(mp.outputs(yb, out) if mp is not None else ()))
        return self._jit(train)

    def _metrics_undecided(self) -> bool:
        """Whether the model's metrics (under True) have no ``MetricPlan`` yet."""
        ms = self.model.metrics
        return self.mode is True and bool(ms) and (self.mplan is None
                                                   or not self.mplan.fits(ms))

    def _take(self, vals: Any) -> Any:
        """The compiled train step's results (loss, out, *metric values) as (loss, out), the
        metric values left in ``self.mvals``."""
        mp = self.train_fn_mp
        n = len(mp.active) if mp is not None else 0
        if n:
            self.mvals = mp.values(vals[-n:])
            vals = vals[:-n]
        return vals[0], vals[1]

    @host_effect
    def _update(self, loss: Any) -> None:
        """The update half of the step, recorded in the program as a ``host`` instruction
        (run again, in Python, at every replay, after the gradients are in ``.grad``): a
        non-finite loss applies nothing (the gradients are dropped, as the eager step never
        runs that backward), else (under True) the multi-tensor update (``_Multi``) where it
        applies, or ``training.apply_update`` (finite-gradient check, ``opt.step()``,
        constraints); the outcome is left in ``self.applied`` for ``replay``/``train_step``."""
        self.applied = False
        opt = self.opt
        if not math.isfinite(float(loss)):
            for p in opt.params:
                p.grad = None
            return
        r = None
        if self.mode is True:   # "auto" keeps the eager step's own kernels: bitwise its numbers
            fast = self.multi
            if fast is None or fast.opt is not opt:
                fast = self.multi = _Multi.make(opt)
            if fast is not None:
                r = fast(self.model, self.cur_plan)
        if r is None:
            from .training import apply_update
            r = apply_update(self.model, opt, self.cur_plan, _step)
        self.applied = r

    def _jit(self, fn: Any) -> Any:
        """``autograd.jit(fn)``; under "auto", which switches between the eager and the
        compiled step as it measures, lowered to the plain replay (bitwise the eager
        numbers) rather than generated numba code (equal to 1e-5 in float32)."""
        f = ag.jit(fn)
        if self.mode == "auto":
            f.backend = _plain_replay
        return f

    def ready(self, xb: Any, yb: Any, opt: Any, plan: Any = None) -> Any:
        """The replay of this batch signature's compiled step when it exists and applies
        (arrays, the optimizer and the loss's penalties it was traced with, compiled rather
        than eager), else None.  The checks are attribute reads and one dict lookup: the
        fast path of ``train_step`` and of ``train_on_batch``, which then skips switching the
        model to training mode (a replay reads no layer's ``training`` flag; a trace runs in
        the slow path, in training mode)."""
        f = self.train_fn
        if f is None or type(xb) is not np.ndarray or type(yb) is not np.ndarray \
                or opt is not self.opt or len(opt._ids) != self.n_params \
                or (plan is not None and plan.penalties != self.train_fn_pen) \
                or not self.use_jit or self.train_off is not None \
                or self.train_fn_mp is not self.mplan \
                or (self.mode != True and len(self.timing["eager"]) < 3):   # noqa: E712
            return None
        e = f._fast.get((_MODE.grad, (xb.shape, xb.dtype), (yb.shape, yb.dtype)))
        return None if e is None else e.exe

    def replay(self, exe: Any, xb: Any, yb: Any, plan: Any = None) -> tuple:
        """(loss, output data) from one replay of the compiled step ``exe`` (from
        ``ready``): forward, loss, backward and the update in one call; (value, None) with
        nothing applied on a non-finite loss or gradient, as ``training.train_step``."""
        if plan is not None:
            self.cur_plan = plan
        self.mvals = None
        try:
            vals = exe.run([xb, yb])
        except StaleProgram:
            # a parameter's array changed shape or dtype since the trace (nothing ran): drop
            # the program and take the traced path, which traces this signature again
            f = self.train_fn
            for e in [e for e in f._fast.values() if e.exe is exe]:
                f._stale(e)
            return self.train_step(xb, yb, None, self.model.optimizer, plan)
        value = float(vals[0])
        if not self.applied and math.isfinite(value):
            return float("nan"), None               # a non-finite gradient
        mp = self.train_fn_mp
        n = len(mp.active) if mp is not None else 0
        if n:
            self.mvals = mp.values(vals[-n:])
        if len(vals) == 2 + n and type(vals[1]) is np.ndarray:
            return value, vals[1].copy()    # the program's buffer, overwritten next call
        return value, _hand_out(exe.program, vals, False)[1]

    def train_step(self, xb: Any, yb: Any, swb: Any, opt: Any, plan: Any = None,
                   eager: Any = None) -> tuple:
        """Same contract as ``training.train_step``: (loss, output data); a non-finite loss
        or gradient returns (value, ...) with no step applied."""
        if swb is None:
            exe = self.ready(xb, yb, opt, plan)
            if exe is not None:
                return self.replay(exe, xb, yb, plan)
        self.mvals = None
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
                or not isinstance(xb, np.ndarray) or not _arrays(yb)):
            return eager(model, xb, yb, swb, opt, plan)
        if self._metrics_undecided():
            # one eager step; its output decides which metrics the program computes
            r = eager(model, xb, yb, swb, opt, plan)
            if r[1] is not None and math.isfinite(r[0]):
                self.mplan = MetricPlan.probe(model.metrics, yb, r[1], self._warn_metric)
                self.mvals = self.mplan.first
            return r
        if plan is None:            # train_on_batch: the plan the program was traced with
            if self.plan is None:
                from .training import Plan
                self.plan = Plan(model)
            plan = self.plan
        # the program depends on the optimizer's parameters and on whether the loss adds
        # penalties (a new fit's Plan saying the same reuses it)
        ids = tuple(map(id, opt.params))
        if self.train_fn is None or self.train_fn_opt != ids \
                or self.train_fn_pen != plan.penalties or self.opt is not opt \
                or self.train_fn_mp is not self.mplan:
            self.opt = opt
            self.train_fn = self._train_program(opt, plan)
            self.train_fn_opt, self.train_fn_pen = ids, plan.penalties
            self.train_fn_mp = self.mplan
            self.n_params = len(opt._ids)
        self.cur_plan = plan
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
        self.applied = False
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JitFallbackWarning)
            loss, out = self._take(f(xb, yb))
        if f.fallbacks:
            self.train_off = next(iter(f.fallbacks.values()))
            if self.mode is True:
                self._warn(self.train_off)
        _rewarn(caught)
        value = float(loss)
        if not self.applied and math.isfinite(value):
            return float("nan"), None               # a non-finite gradient
        if ready and not f.fallbacks:
            self.timing["jit"].append(time.perf_counter() - t0)
        return value, out

    def _warn_metric(self, name: str, why: str) -> None:
        warnings.warn(f"jit_compile: metric {name!r} is computed eagerly, on the compiled "
                      f"step's output: {why}", JitFallbackWarning, stacklevel=5)

    def test_step(self, xb: Any, yb: Any, plan: Any) -> Optional[tuple]:
        """(loss, output data, metric values) of one evaluate batch (``evaluate``,
        ``test_on_batch``, the validation of ``fit``) through the compiled evaluate step:
        the forward in inference mode, the loss and the metrics of the ``MetricPlan`` in one
        program (run under ``no_grad``, the model in eval mode); metric values are None for
        the metrics kept eager.  None (the caller runs its eager path) unless under True with
        x an array, y an array or a list/dict of arrays and no penalties in the loss.  The
        first call for undecided metrics runs the compiled forward and the eager loss and
        metrics, and decides the plan on that output."""
        if self.mode is not True or type(xb) is not np.ndarray or not _arrays(yb) \
                or plan.penalties:
            return None
        model = self.model
        if self._metrics_undecided():
            from .training import compute_loss, _out_data
            out = self.forward(xb)
            value = float(compute_loss(model, yb, out, None, plan).data)
            out = _out_data(out)
            self.mplan = MetricPlan.probe(model.metrics, yb, out, self._warn_metric)
            return value, out, self.mplan.first
        mp = self.mplan
        f = self.eval_fn
        if f is None or self.eval_fn_mp is not mp:
            from .training import compute_loss

            def evaluate(xb, yb):
                out = model(xb)
                loss = compute_loss(model, yb, out, None, None)
                return (loss, out, *(mp.outputs(yb, out) if mp is not None else ()))
            f = self.eval_fn = self._jit(evaluate)
            self.eval_fn_mp = mp
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always", JitFallbackWarning)
            vals = f(xb, yb)
        if f.fallbacks and not self.warned_eval:
            self.warned_eval = True
            warnings.warn(f"jit_compile: evaluate runs eagerly: "
                          f"{next(iter(f.fallbacks.values()))}", JitFallbackWarning,
                          stacklevel=4)
        _rewarn(caught)
        n = len(mp.active) if mp is not None else 0
        mv = mp.values(vals[-n:]) if n else None
        out = vals[1]
        return float(np.asarray(vals[0])), (_data(out) if n < len(model.metrics) else None), mv

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


def _step(opt: Any) -> None:
    """``opt.step()``, without its per-call generality where a compiled step never needs it:
    for an optimizer whose ``step`` is the base class's, with no gradient clipping, every
    gradient a C-contiguous array of its parameter's shape and dtype (the program's own
    buffers are), no float16 parameter, and every parameter's state made by an earlier step
    (the traced calls run ``opt.step()`` itself), it is the same loop: the learning rate
    resolved before ``iterations`` advances, then under the same interrupt guard each
    parameter's ``_update`` (the same kernels on the same state) and version bump.
    Anything else runs ``opt.step()``."""
    d = opt.__dict__
    if type(opt).step is not _Optimizer.step or d["clipnorm"] is not None \
            or d["clipvalue"] is not None or d["global_clipnorm"] is not None:
        opt.step()
        return
    by_id = opt.state._by_id
    work = []
    for group in opt.param_groups:
        h = group if type(group["lr"]) is float else opt._resolve(group)
        for p in group["params"]:
            g = p.grad
            if g is None:
                continue
            data = p._data
            e = by_id.get(id(p))
            if e is None or e[0] is not p or type(g) is not np.ndarray \
                    or g.dtype != data.dtype or g.shape != data.shape \
                    or not g.flags.c_contiguous or not data.flags.carray \
                    or data.dtype.char == "e":
                opt.step()
                return
            work.append((data, g, e[1], h, p))
    update = opt._update
    with _HoldInterrupt():
        d["iterations"] += 1
        for data, g, st, h, p in work:
            update(data, g, st, h)
            p._version += 1


#: The most parameter elements (all parameters together) for the multi-tensor update: it
#: saves Python per parameter, which matters on small models; larger ones keep the
#: optimizer's own per-parameter kernels (which pick their numba/numpy form by size).
MULTI_MAX = 16384


class _Multi:
    """The update of a compiled step as one multi-tensor kernel call
    (``autograd.kernels.optim_multi``: the finite check of every gradient, then the update
    of every parameter), where ``training.apply_update`` pays a Python call, a check and a
    kernel dispatch per parameter.  For SGD, Adam, AdamW and RMSprop (exactly those classes:
    a subclass may change ``_update``) with one parameter group, no clipping, float32 or
    float64 parameters (``MULTI_MAX`` elements at most) that all have a gradient and their
    state from an earlier step, and (Adam) one step count.  The arrays are checked once and
    kept; each call first checks that every parameter, gradient and state slot is still the
    same array (a program replays into the same gradient buffers), else rebuilds, and
    returns None when the multi-tensor path does not apply (``apply_update`` then runs, with
    the same result).
    Everything else is ``opt.step()``'s: the learning rate resolved (schedule included)
    before ``iterations`` advances, the same interrupt guard, the version bumps, Adam's step
    counts, then the constraints."""

    KINDS: dict = {}
    SLOTS = {"sgd": ("velocity",), "adam": ("m", "v"), "rmsprop": ("v",)}

    def __init__(self, opt: Any, kind: str) -> None:
        self.opt, self.kind = opt, kind
        #: (parameters, their arrays, gradients, ids, state entries, slot arrays per name)
        self.keep: tuple = ()
        self.arrays: tuple = ()
        self.names: tuple = ()

    @classmethod
    def make(cls, opt: Any) -> "Optional[_Multi]":
        if not cls.KINDS:
            from . import optimizers as O
            cls.KINDS.update({O.SGD: "sgd", O.Adam: "adam", O.AdamW: "adam",
                              O.RMSprop: "rmsprop"})
        kind = cls.KINDS.get(type(opt))
        return None if kind is None else cls(opt, kind)

    def _build(self, params: list, names: tuple) -> bool:
        """Keep the flat arrays of these parameters; False when the kernels do not apply."""
        by_id = self.opt.state._by_id
        ps, gs, entries, slots = [], [], [], []
        for p in params:
            d, g = p._data, p.grad
            e = by_id.get(id(p))
            if g is None or e is None or e[0] is not p or type(g) is not np.ndarray \
                    or type(d) is not np.ndarray or d.dtype.char not in "fd":
                return False
            sl = tuple(e[1].get(n) for n in names)
            if any(type(a) is not np.ndarray for a in sl):
                return False
            ps.append(d)
            gs.append(g)
            entries.append(e)
            slots.append(sl)
        if sum(d.size for d in ps) > MULTI_MAX:
            return False
        ps_t, gs_t = tuple(ps), tuple(gs)
        st_t = tuple(zip(*slots)) if names else ()
        try:
            _optim_multi.check_arrays(f"{self.kind}_update_all", ps_t, gs_t, *st_t,
                                      writable=ps_t + sum(st_t, ()))
        except ag.AutogradError:
            return False
        flat = lambda t: tuple(a.reshape(-1) for a in t)
        self.keep = (list(params), ps, gs, [id(p) for p in params], entries,
                     [list(t) for t in st_t])
        self.names = names
        self.arrays = (flat(ps_t), flat(gs_t), *map(flat, st_t))
        return True

    def _same(self, params: list, names: tuple) -> bool:
        """Whether the kept arrays are still every parameter's, gradient's and slot's, and
        the state entries the optimizer's (``load_state_dict`` makes new ones).  Identity
        tests in C loops (``map(is_, ...)``): about 2 µs for 6 parameters."""
        keep = self.keep
        if not keep or names != self.names or len(params) != len(keep[0]):
            return False
        ps, datas, grads, pids, entries, slots = keep
        if not (all(map(is_, params, ps)) and all(map(is_, [p._data for p in params], datas))
                and all(map(is_, [p.grad for p in params], grads))):
            return False
        es = list(map(self.opt.state._by_id.get, pids))
        if not all(map(is_, es, entries)):
            return False
        for n, arrs in zip(names, slots):
            if not all(map(is_, [e[1][n] for e in es], arrs)):
                return False
        return True

    def __call__(self, model: Any, plan: Any) -> Optional[bool]:
        opt = self.opt
        d = opt.__dict__
        groups = opt.param_groups
        if len(groups) != 1 or type(opt).step is not _Optimizer.step \
                or d["clipnorm"] is not None or d["clipvalue"] is not None \
                or d["global_clipnorm"] is not None:
            return None
        group = groups[0]
        params = group["params"]
        h = group if type(group["lr"]) is float else opt._resolve(group)
        kind = self.kind
        names = self.SLOTS[kind] if kind != "sgd" or h["momentum"] else ()
        if not self._same(params, names) and not self._build(params, names):
            self.keep = ()
            return None
        a = self.arrays
        K = _optim_multi
        if kind == "adam":
            sts = [e[1] for e in self.keep[4]]
            t = sts[0]["t"]
            for st in sts:
                if st["t"] != t:
                    return None
        with _HoldInterrupt():
            if kind == "sgd":
                ok = K.sgd_update_all(a[0], a[1], a[2] if names else None, h["lr"],
                                      h["momentum"], h["nesterov"], h["weight_decay"],
                                      check=True, checked=True)
            elif kind == "adam":
                ok = K.adam_update_all(a[0], a[1], a[2], a[3], t + 1, h["lr"], h["beta_1"],
                                       h["beta_2"], h["epsilon"], h["weight_decay"],
                                       opt._decoupled, check=True, checked=True)
                if ok:
                    for st in sts:
                        st["t"] += 1
            else:
                ok = K.rmsprop_update_all(a[0], a[1], a[2], h["lr"], h["rho"], h["epsilon"],
                                          h["weight_decay"], check=True, checked=True)
            if not ok:
                return False
            d["iterations"] += 1
            for p in params:
                p._version += 1
        pairs = plan.constrained if plan is not None else None
        if pairs is None or pairs:
            from .regularizers import apply_constraints
            apply_constraints(model, pairs)
        return True


def _arrays(y: Any) -> bool:
    """Whether y is an array, or a tuple/list/dict of arrays (a model's several outputs)."""
    if type(y) is np.ndarray:
        return True
    vs = y.values() if isinstance(y, dict) else y if isinstance(y, (tuple, list)) else None
    return bool(vs) and all(type(v) is np.ndarray for v in vs)


def _data(out: Any) -> Any:
    from .training import _out_data
    return _out_data(out)


class MetricPlan:
    """Which of a model's metrics the compiled steps compute (``jit_compile=True``).

    Decided once, on the first batch's output (``probe``): each metric ``m`` is computed in
    the program as ``nn.metrics.traced(m)`` (the same formula on tensors, recorded by
    ``autograd.jit``) when it passes three checks on that batch: its eager call leaves its
    attributes as they were (a metric that keeps Python state, a counter or a running
    total, would be updated only at trace time), it traces (a callable that reads values
    into numpy, calls ``float()`` or returns a Python number does not), and the traced value
    equals the eager one (float32 to 1e-5, else 1e-12, relative).  Otherwise it stays eager,
    on the compiled step's output, with one ``JitFallbackWarning`` naming it.  The fit loop
    keeps the running sums either way, so the logs are the eager ones.
    """

    def __init__(self, metrics: list, fns: list, first: list) -> None:
        self.ids = tuple(map(id, metrics))
        self.fns = fns
        #: indices (in ``model.metrics``) of the metrics computed in the program
        self.active = [i for i, f in enumerate(fns) if f is not None]
        self.n = len(fns)
        #: the eager values of the probe batch (what the fit loop logs for it)
        self.first = first

    def fits(self, metrics: list) -> bool:
        return len(metrics) == self.n and tuple(map(id, metrics)) == self.ids

    def outputs(self, yb: Any, out: Any) -> list:
        """The active metrics on (yb, out) as 0-d tensors, recorded in the program."""
        with ag.no_grad():
            return [self.fns[i](yb, out) for i in self.active]

    def values(self, vals: Any) -> list:
        """Per metric, its value from the program's metric outputs ``vals`` (None for the
        metrics kept eager)."""
        res: list = [None] * self.n
        for i, v in zip(self.active, vals):
            res[i] = float(v)
        return res

    @classmethod
    def probe(cls, metrics: list, yb: Any, out: Any, warn: Any) -> "MetricPlan":
        """The plan for ``metrics`` from one batch: targets ``yb``, output data ``out``
        (arrays); ``warn(name, why)`` for each metric kept eager."""
        from .metrics import metric_name
        fns, first = [], []
        for m in metrics:
            fn, why, value = _probe_metric(m, yb, out)
            fns.append(fn)
            first.append(value)
            if fn is None:
                warn(metric_name(m), why)
        return cls(metrics, fns, first)


def _probe_metric(m: Any, yb: Any, out: Any) -> tuple:
    """(traced function or None, why not, the eager value) of metric ``m`` on one batch."""
    from .metrics import traced
    _resolve(m, yb, out)
    before = _snapshot(m)
    value = float(m(yb, out))                   # the eager call the step logs
    if before is _UNCHECKABLE:
        return None, "its attributes cannot be copied to check that it keeps no state", value
    if not _same(before, _snapshot(m)):
        return None, "it keeps Python state (a call changed its attributes)", value
    fn = traced(m)

    def one(y_true: Any, y_pred: Any) -> Any:
        with ag.no_grad():
            return fn(y_true, y_pred)
    j = ag.jit(one)
    j.backend = _plain_replay
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            v = j(yb, out)
            v = j(yb, out)          # the second trace checks that both record one program
    except Exception as e:         # noqa: BLE001 - any failure to trace keeps it eager
        _restore(m, before)
        return None, f"it cannot be traced ({type(e).__name__}: {e})", value
    if not _same(before, _snapshot(m)):
        _restore(m, before)
        return None, "it keeps Python state (a traced call changed its attributes)", value
    if j.fallbacks:
        return None, f"it cannot be traced ({next(iter(j.fallbacks.values()))})", value
    v = np.asarray(v)
    rtol = 1e-5 if v.dtype.kind == "f" and v.dtype.itemsize <= 4 else 1e-12
    if v.size != 1 or not (np.isclose(float(v), value, rtol=rtol, atol=0.0)
                           or (math.isnan(value) and math.isnan(float(v)))):
        return None, (f"its traced value {float(v) if v.size == 1 else v!r} differs from the "
                      f"eager one {value!r}"), value
    return fn, "", value


def _resolve(m: Any, yb: Any, out: Any) -> None:
    """Resolve an ``'accuracy'`` metric (as its first eager call would) before the state
    check, so that this one-time choice does not count as state."""
    from .functional import OutputMetric, pick
    from .metrics import Accuracy
    if isinstance(m, OutputMetric):
        yb, out = pick(yb, m.index, m.key, m.name), pick(out, m.index, m.key, m.name)
        m = m.fn
    if isinstance(m, Accuracy) and m.resolved is None:
        m.resolved = m.resolve(yb, out)


_UNCHECKABLE = object()


def _snapshot(m: Any) -> Any:
    """A deep copy of the metric's attributes (None: it has none)."""
    d = getattr(m, "__dict__", None)
    if d is None:
        return None
    try:
        return copy.deepcopy(d)
    except Exception:              # noqa: BLE001 - an attribute that cannot be copied
        return _UNCHECKABLE


def _restore(m: Any, before: Any) -> None:
    if isinstance(before, dict):
        m.__dict__.clear()
        m.__dict__.update(before)


def _same(a: Any, b: Any, seen: Optional[set] = None) -> bool:
    """Whether two snapshots hold the same values (False when unsure).  Objects are
    compared by their attributes (``__dict__`` and ``__slots__``), each pair once."""
    if type(a) is not type(b):
        return False
    if a is b:
        return True
    seen = set() if seen is None else seen
    key = (id(a), id(b))
    if key in seen:                 # a cycle, or a pair already being compared
        return True
    if isinstance(a, dict):
        seen.add(key)
        return a.keys() == b.keys() and all(_same(a[k], b[k], seen) for k in a)
    if isinstance(a, (list, tuple)):
        seen.add(key)
        return len(a) == len(b) and all(_same(x, y, seen) for x, y in zip(a, b))
    if isinstance(a, np.ndarray):
        return a.shape == b.shape and a.dtype == b.dtype and \
            bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
    if isinstance(a, type):
        return False
    seen.add(key)
    slots = [n for c in type(a).__mro__ for n in getattr(c, "__slots__", ())
             if isinstance(n, str) and n not in ("__dict__", "__weakref__")]
    if slots and not all(_same(getattr(a, n, None), getattr(b, n, None), seen)
                         for n in slots):
        return False
    d = getattr(a, "__dict__", None)
    if d is not None:
        return _same(d, b.__dict__, seen)
    if slots:
        return True
    try:
        return bool(a == b)
    except Exception:              # noqa: BLE001
        return False


def _rewarn(caught: list) -> None:
    """Warnings other than jit's own, raised again (jit's are reported by this module)."""
    for w in caught:
        if not issubclass(w.category, JitFallbackWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)


def _plain_replay(program: Any) -> Any:
    return program
