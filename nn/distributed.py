"""Data-parallel training on MPI (through mpi4py): the parts, and the engine of
``fit(distributed=True)``.

Start the same script on every rank, each holding the same full arrays::

    mpiexec -n 4 python train.py          # train.py calls model.fit(..., distributed=True)

Every global batch of ``batch_size`` samples is cut into one contiguous shard per rank; each
rank computes the gradient of its shard, and one ``Allreduce`` per step (every gradient, the
loss and the metrics packed in one buffer) sums them, so every rank applies the same update.

Why the result equals one process with the same batch size (to rounding): nn losses are means
over the batch.  A rank holding k of the B samples of a batch seeds its backward with k / B
instead of 1, so its gradient is (sum of its k per-sample gradients) / B, and the sum over
ranks is the gradient of the mean over all B samples, also for an uneven last batch (a rank
whose shard is empty contributes zeros).  Loss and metrics are reduced the same way, as
shard-size-weighted sums divided by B.  Rank 0's permutation of the samples is broadcast every
epoch and rank 0's initial weights before the first step, so all ranks start and stay
identical.  Every decision (non-finite loss, parameters without gradient) is taken from the
reduced buffer, which is the same on every rank, so the ranks never disagree about control
flow.

Without mpi4py (or outside ``mpiexec``) this is one rank: ``rank() == 0``, ``size() == 1``,
and the collective functions do nothing.

No hangs: a rank that stops taking part ends the job instead of leaving the others blocked in
a collective call.
- An uncaught exception on any rank prints its traceback and calls ``MPI.Abort`` (through
  ``sys.excepthook``, armed when ``nn`` is imported under a launcher with several ranks).
- ``fit(distributed=True)`` has three phases.  Before training (the argument and data checks
  up to the first collective), an error on some ranks is exchanged in that first collective:
  the failing rank raises its own error and every other rank a ``RankMismatchError`` naming
  it, so all leave ``fit`` together and the script may catch it.  During training (the first
  step to the final broadcast of rank 0's weights) any exception leaving ``fit`` on one rank
  (a callback's error, ``sys.exit``, Ctrl-C) aborts the job even if the script catches it,
  except the errors every rank raises alike from reduced values (``NonFiniteLossError``).
- Stop decisions are collective: ``model.stop_training`` is reduced (MAX) over the ranks after
  every batch and every epoch, so a callback that stops on one rank only (``EarlyStopping``
  on the root alone) stops all ranks at the same step; the first epoch is checked the same
  way after ``on_train_begin`` (a backup found on some ranks only raises RankMismatchError
  on every rank).  After ``on_train_end`` rank 0's
  weights are broadcast, so a callback that changed them on one rank (``EarlyStopping``'s
  ``restore_best_weights``) leaves every rank with rank 0's.
- Every collective of this module is non-blocking and polled.  A rank that ends its script
  (returns, ``sys.exit``) first tells the others (an exit handshake on a reserved tag, at
  ``atexit``; a rank that never used MPI starts it for that); a rank waiting in one of these
  collectives that hears it aborts the job, naming both ranks and the collective.
- The watchdog: with a timeout set (``set_timeout(seconds)`` or the environment variable
  ``AUTOGRAD_DIST_TIMEOUT``, in seconds; unset or 0: none), a rank that waits in a collective
  longer than that aborts the job, naming itself, the collective and where in ``fit`` it was.
  Set it well above the longest time one rank may spend away from the others (a step, a
  checkpoint written by rank 0, an evaluation only one rank runs between collectives).
Not covered: collectives you call on mpi4py yourself, and a rank that never imports ``nn``.
A rank that has ended its script waits at exit, without the watchdog, for the others to end
theirs (as ``MPI_Finalize`` would); the others may go on working as long as they need.
"""
from __future__ import annotations

import atexit
import json
import math
import os
import sys
import time
import traceback
import zlib
from typing import Any, Callable, Optional

import numpy as np

import autograd as ag

__all__ = ["rank", "size", "is_root", "shard", "barrier", "broadcast_parameters",
           "allreduce_gradients", "RankMismatchError", "INSTALL_HINT", "set_timeout",
           "get_timeout", "TIMEOUT_ENV"]

INSTALL_HINT = ('pip install "autograd-nn[distributed]" (mpi4py and the mpich wheel; no system '
                'packages needed), or pip install mpi4py built against a system MPI')

_UNSET = object()
_MPI: Any = _UNSET          # the mpi4py.MPI module, None when unavailable, _UNSET before a look
_MPI_ERROR = ""
_HOOKED = False


class RankMismatchError(ag.AutogradError, ValueError):
    """The ranks of a job disagree on the model (parameter names, shapes, dtypes) or on the
    data and settings given to ``fit``; raised on every rank alike."""


# ---------------------------------------------------------------------- the communicator
def _mpi() -> Any:
    """mpi4py.MPI, or None when it cannot be imported.  Imported on first use only, since
    importing it initializes MPI."""
    global _MPI, _MPI_ERROR
    if _MPI is _UNSET:
        try:
            from mpi4py import MPI
        except (ImportError, RuntimeError, OSError) as e:  # not installed, or no MPI library
            MPI, _MPI_ERROR = None, f"{type(e).__name__}: {e}"
        _MPI = MPI
        if MPI is not None and MPI.COMM_WORLD.Get_size() > 1:
            _install_abort_hook()
            _install_exit_handshake()
    return _MPI


def _comm() -> Any:
    MPI = _mpi()
    return None if MPI is None else MPI.COMM_WORLD


def _require(where: str) -> Any:
    """COMM_WORLD, or an ImportError saying how to install the extra."""
    comm = _comm()
    if comm is None:
        raise ImportError(f"{where} needs mpi4py and an MPI library ({_MPI_ERROR}); install "
                          f"them with: {INSTALL_HINT}")
    return comm


def rank() -> int:
    """This process's rank in ``MPI.COMM_WORLD`` (0 without MPI)."""
    comm = _comm()
    return 0 if comm is None else comm.Get_rank()


def size() -> int:
    """The number of ranks in ``MPI.COMM_WORLD`` (1 without MPI)."""
    comm = _comm()
    return 1 if comm is None else comm.Get_size()


def is_root() -> bool:
    """True on rank 0, the one that prints and writes files (always True without MPI)."""
    return rank() == 0


def barrier() -> None:
    """Wait until every rank gets here (nothing without MPI), e.g. before other ranks read a
    file rank 0 wrote."""
    comm = _comm()
    if comm is not None and comm.Get_size() > 1:
        _wait(comm.Ibarrier(), "Ibarrier (nn.distributed.barrier)")


def _bounds(n: int, r: int, s: int) -> tuple[int, int]:
    return (r * n) // s, ((r + 1) * n) // s


def shard(n: int) -> slice:
    """This rank's contiguous part of ``range(n)``: rank r of s gets ``[r*n//s, (r+1)*n//s)``
    (sizes differ by at most one; a part may be empty when n < s)."""
    return slice(*_bounds(int(n), rank(), size()))


def _writes_files() -> bool:
    """False only on a non-root rank of a running MPI job.  Never imports mpi4py, so plain
    scripts do not start MPI by saving weights."""
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is None or not MPI.Is_initialized() or MPI.Is_finalized():
        return True
    return MPI.COMM_WORLD.Get_rank() == 0


# ---------------------------------------------------------------------- failing loudly
def _who(comm: Any) -> str:
    return "?" if comm is None else f"{comm.Get_rank()} of {comm.Get_size()}"


def _abort_with(message: str) -> None:
    """Print ``message`` (prefixed ``nn.distributed: ``) on stderr, then MPI Abort."""
    MPI = _mpi()
    comm = None if MPI is None else MPI.COMM_WORLD
    try:
        sys.stdout.flush()
        sys.stderr.write(f"nn.distributed: {message}\n")
        sys.stderr.flush()
        time.sleep(0.5)  # let the launcher forward the message before Abort kills the job
    finally:
        if comm is not None:
            comm.Abort(1)
        os._exit(1)


def _abort(exc_info: Optional[tuple] = None) -> None:
    """Print the current (or given) exception with this rank's number, then MPI Abort."""
    tb = "".join(traceback.format_exception(*(exc_info or sys.exc_info())))
    _abort_with(f"rank {_who(_comm())} raised an exception; aborting every rank (MPI Abort)\n"
                f"{tb}")


def _excepthook(tp: type, value: BaseException, tb: Any) -> None:
    _abort((tp, value, tb))


def _install_abort_hook() -> None:
    global _HOOKED
    if not _HOOKED:
        _HOOKED = True
        sys.excepthook = _excepthook


# ---------------------------------------------------------------------- the watchdog
TIMEOUT_ENV = "AUTOGRAD_DIST_TIMEOUT"
_TIMEOUT: Any = _UNSET      # seconds (float) or None; read from the environment on first use


def _parse_timeout(value: Any, where: str) -> Optional[float]:
    try:
        t = float(value)
    except (TypeError, ValueError):
        t = float("nan")
    if isinstance(value, bool) or not (t >= 0) or math.isinf(t):
        raise ag.InvalidValueError(f"{where} must be a number of seconds >= 0 (0: no "
                                   f"watchdog), got {value!r}")
    return t or None


def set_timeout(seconds: Optional[float]) -> None:
    """Arm (or, with None or 0, disarm) the watchdog: a rank that waits longer than
    ``seconds`` in a collective of this module (every one ``fit(distributed=True)`` makes,
    and the parts) aborts the job with a message naming the rank, the collective and where
    in ``fit`` it was.  Overrides ``AUTOGRAD_DIST_TIMEOUT``; set the same on every rank."""
    global _TIMEOUT
    _TIMEOUT = None if seconds is None else _parse_timeout(seconds, "set_timeout: seconds")


def get_timeout() -> Optional[float]:
    """The watchdog's timeout in seconds, or None (no watchdog): ``set_timeout``'s value, else
    the environment variable ``AUTOGRAD_DIST_TIMEOUT`` (unset or 0: None; anything but a
    number >= 0 is a configuration error naming the variable)."""
    global _TIMEOUT
    if _TIMEOUT is _UNSET:
        raw = os.environ.get(TIMEOUT_ENV)
        _TIMEOUT = None if raw is None else _parse_timeout(
            raw, f"configuration: the environment variable {TIMEOUT_ENV}")
    return _TIMEOUT


_BYE_TAG = 28270            # reserved point-to-point tag on COMM_WORLD: "this rank has ended"
_GRACE = 1.0                # seconds a collective may still complete after a peer has ended
_SPIN = 0.02                # seconds of busy polling before the poll loop starts to nap


def _wait(req: Any, what: str) -> None:
    """Complete the non-blocking collective ``req`` (``what`` names it in messages), polling:
    abort the job when another rank has ended its script without joining (``_GRACE`` seconds
    after its exit notice, so a collective it did finish still completes here) or when the
    watchdog's timeout passes."""
    if req.Test():
        return
    MPI = _MPI
    comm = MPI.COMM_WORLD
    timeout = get_timeout()
    t0 = time.monotonic()
    gone: Optional[tuple[int, float]] = None
    status = MPI.Status()
    spins = 0
    while not req.Test():
        spins += 1
        if spins & 15:
            continue
        now = time.monotonic()
        if gone is None and comm.Iprobe(source=MPI.ANY_SOURCE, tag=_BYE_TAG, status=status):
            gone = (status.Get_source(), now)
        if gone is not None and now - gone[1] > _GRACE:
            _abort_with(f"rank {_who(comm)} is waiting in {what}, but rank {gone[0]} has "
                        f"ended its script (it returned or called sys.exit) without joining: "
                        f"aborting every rank (MPI Abort)")
        if timeout is not None and now - t0 > timeout:
            _abort_with(f"rank {_who(comm)} waited {now - t0:.1f} s in {what}, longer than "
                        f"the watchdog's timeout ({TIMEOUT_ENV} / nn.distributed.set_timeout: "
                        f"{timeout:g} s); another rank stopped taking part (blocked, too slow, "
                        f"or outside this collective): aborting every rank (MPI Abort)")
        if now - t0 > _SPIN:     # a long wait: the others are computing; give the core away
            time.sleep(0.0002)


# ---------------------------------------------------------------------- the exit handshake
_EXIT_HOOKED = False


def _install_exit_handshake() -> None:
    global _EXIT_HOOKED
    if not _EXIT_HOOKED:
        _EXIT_HOOKED = True
        atexit.register(_exit_handshake)


def _exit_handshake() -> None:
    """At exit, tell every other rank that this one has ended (so one waiting in a collective
    aborts instead of hanging), then wait for the same notice from each: every rank of a job
    that imported ``nn`` ends through here, before mpi4py finalizes MPI.  A rank that never
    used MPI starts it for this."""
    MPI = sys.modules.get("mpi4py.MPI")
    if MPI is None or not MPI.Is_initialized():
        if _launched_size() <= 1:
            return
        MPI = _mpi()
        if MPI is None:
            return
    if MPI.Is_finalized():
        return
    comm = MPI.COMM_WORLD
    n, me = comm.Get_size(), comm.Get_rank()
    if n == 1:
        return
    note = np.zeros(1, np.int8)
    got = np.zeros(n, np.int8)
    reqs = [comm.Isend(note, dest=r, tag=_BYE_TAG) for r in range(n) if r != me]
    reqs += [comm.Irecv(got[r:r + 1], source=r, tag=_BYE_TAG) for r in range(n) if r != me]
    while not MPI.Request.Testall(reqs):     # polled with naps: no core burnt while the
        time.sleep(0.001)                    # others finish their scripts


def _launched_size() -> int:
    """The job size an MPI launcher announces in the environment (MPICH/hydra and Intel MPI:
    PMI_SIZE; Open MPI: OMPI_COMM_WORLD_SIZE), 1 when there is none.  Read without MPI."""
    for var in ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE"):
        try:
            return int(os.environ[var])
        except (KeyError, ValueError):
            pass
    return 1


# Under a launcher with several ranks, arm the abort hook at import: a rank that fails before
# it ever touches MPI (say, reading its data) must still end the job, not leave it hanging.
if _launched_size() > 1:
    _install_abort_hook()
    _install_exit_handshake()


# ---------------------------------------------------------------------- agreement checks
def _allgather_json(comm: Any, obj: Any, what: str) -> list:
    """``obj`` (JSON data) from every rank, in rank order: a polled ``Iallgather`` of the
    lengths, then of the bytes (no pickle)."""
    data = np.frombuffer(json.dumps(obj).encode(), dtype=np.uint8)
    counts = np.zeros(comm.Get_size(), np.int64)
    _wait(comm.Iallgather(np.array([data.size], np.int64), counts), f"Iallgather ({what})")
    displs = np.concatenate([[0], np.cumsum(counts)[:-1]])
    recv = np.zeros(int(counts.sum()), np.uint8)
    _wait(comm.Iallgatherv(data, [recv, counts.tolist(), displs.tolist(), _MPI.BYTE]),
          f"Iallgatherv ({what})")
    return [json.loads(recv[d:d + c].tobytes()) for d, c in zip(displs, counts)]


def _check_same(comm: Any, signature: list, what: str, every: Optional[list] = None) -> None:
    """Allgather ``signature`` (a list of (label, value)), or take ``every`` rank's already
    gathered, and raise RankMismatchError on every rank when some rank's differs from rank
    0's, naming the first difference."""
    if every is None:
        every = _allgather_json(comm, signature, f"the {what} check")
    every = [[tuple(e) for e in sig] for sig in every]   # JSON made the pairs lists
    ref = every[0]
    for r, sig in enumerate(every):
        if sig == ref:
            continue
        for (k0, v0), (k1, v1) in zip(ref, sig):
            if (k0, v0) != (k1, v1):
                detail = (f"{k0}: {v0} on rank 0, but {k1}: {v1} on rank {r}" if k0 != k1
                          else f"{k0}: {v0} on rank 0 but {v1} on rank {r}")
                break
        else:
            detail = f"rank 0 has {len(ref)} entries, rank {r} has {len(sig)}"
        raise RankMismatchError(f"nn.distributed: the {what} differs between ranks: {detail}. "
                                f"Every rank must build the same model and pass the same data "
                                f"and settings.")


def _named(params: Any) -> list[tuple[str, ag.Tensor]]:
    if hasattr(params, "named_weights") and callable(params.named_weights):
        return list(params.named_weights())     # a model: frozen weights too
    if hasattr(params, "named_parameters") and callable(params.named_parameters):
        return list(params.named_parameters())
    if hasattr(params, "parameters") and callable(params.parameters):
        params = params.parameters()
    return [(f"parameter {i}", p) for i, p in enumerate(params)]


def _param_signature(named: list) -> list:
    return [(f"parameter {name!r}" if not name.startswith("parameter ") else name,
             f"shape {tuple(p.shape)} dtype {np.dtype(p.dtype).name}") for name, p in named]


def _fingerprint(a: np.ndarray) -> str:
    """Shape, dtype and a CRC of up to 64 evenly spaced samples: cheap, and enough to catch
    ranks that loaded or shuffled their data differently."""
    idx = np.unique(np.linspace(0, len(a) - 1, min(len(a), 64)).astype(np.int64))
    return f"{a.shape} {a.dtype.name} crc {zlib.crc32(np.ascontiguousarray(a[idx]).tobytes()):08x}"


# ---------------------------------------------------------------------- PyTorch-style parts
def _pack_dtype(params: list) -> np.dtype:
    return np.result_type(*[p.dtype for p in params]) if params else np.dtype(np.float64)


def broadcast_parameters(params: Any, root: int = 0) -> None:
    """Overwrite every parameter with ``root``'s values (one ``Bcast`` of one packed buffer).

    params : a Module (names are used in errors) or an iterable of parameter Tensors, in the
    same order on every rank.  First checks that all ranks hold the same parameter names,
    shapes and dtypes, raising ``RankMismatchError`` on every rank otherwise.  Lazily built
    layers must be built first (``model.build((None, n_features))``), or a ValueError says
    so.  Nothing happens on one rank.
    """
    comm = _comm()
    if comm is None or comm.Get_size() == 1:
        return
    if hasattr(params, "named_modules"):
        from .module import _check_built
        _check_built(params, "broadcast_parameters")
    named = _named(params)
    _check_same(comm, _param_signature(named), "model")
    _bcast_values(comm, [p for _, p in named], root, "Ibcast (broadcast_parameters)")


def _bcast_values(comm: Any, plist: list, root: int, what: str) -> None:
    """Overwrite every tensor of ``plist`` with root's values: one polled Ibcast."""
    buf = np.empty(sum(p.size for p in plist), dtype=_pack_dtype(plist))
    at = 0
    for p in plist:
        buf[at:at + p.size] = np.ravel(p.data)
        at += p.size
    _wait(comm.Ibcast(buf, root=root), what)
    if comm.Get_rank() != root:
        at = 0
        for p in plist:
            p.data = buf[at:at + p.size].reshape(p.shape).astype(p.dtype, copy=True)
            at += p.size


def allreduce_gradients(params: Any, average: bool = True) -> None:
    """Sum every parameter's ``grad`` over the ranks in one ``Allreduce`` of one packed buffer;
    ``average=True`` then divides by the number of ranks.

    A ``grad`` of None counts as zeros and stays None only if it is None on every rank.
    Averaging is exact for the mean loss over the global batch when every rank's batch has the
    same size; for unequal shards, seed each rank's backward with ``k / B`` (its shard size over
    the global batch size), ``loss.backward(np.asarray(k / B))``, and use ``average=False``, as
    ``fit(distributed=True)`` does.  Nothing happens on one rank.
    """
    comm = _comm()
    if comm is None or comm.Get_size() == 1:
        return
    plist = [p for _, p in _named(params)]
    n = sum(p.size for p in plist)
    buf = np.zeros(n + len(plist), dtype=_pack_dtype(plist))
    at = 0
    for i, p in enumerate(plist):
        g = p.grad
        if g is not None:
            buf[at:at + p.size] = np.ravel(g.data if isinstance(g, ag.Tensor) else g)
            buf[n + i] = 1
        at += p.size
    _wait(comm.Iallreduce(_MPI.IN_PLACE, buf, op=_MPI.SUM), "Iallreduce (allreduce_gradients)")
    if average:
        buf[:n] /= comm.Get_size()
    at = 0
    for i, p in enumerate(plist):
        p.grad = buf[at:at + p.size].reshape(p.shape).astype(p.dtype, copy=True) \
            if buf[n + i] > 0 else None
        at += p.size


# ---------------------------------------------------------------------- fit(distributed=True)
def begin_fit(verbose: int) -> int:
    """fit's first hook: MPI is required (ImportError with the install line otherwise); only
    rank 0 shows progress, so the verbosity is 0 elsewhere."""
    comm = _require("fit(distributed=True)")
    get_timeout()                   # a bad AUTOGRAD_DIST_TIMEOUT fails here, on every rank
    return verbose if comm.Get_rank() == 0 else 0


class _FitGuard:
    """The phase of one ``fit(distributed=True)`` on this rank (see the module docstring)."""

    def __init__(self) -> None:
        self.started = False        # the ranks exchanged their start in the first collective
        self.dp: Optional["DataParallel"] = None
        self.done = False           # past the last collective of fit
        self.collective = False     # the error being raised is raised on every rank alike


_GUARDS: list = []


def guarded_fit(fit: Callable, *args: Any) -> Any:
    """Run ``fit(*args)`` (``training._fit`` with distributed=True) so that no rank is left
    waiting: an error before the ranks start training is told to every rank, which all
    raise; an exception leaving fit on one rank during training aborts the job."""
    comm = _require("fit(distributed=True)")
    guard = _FitGuard()
    _GUARDS.append(guard)
    try:
        return fit(*args)
    except BaseException as e:
        if comm.Get_size() > 1:
            if not guard.started:
                _start(comm, e)     # the others learn of it in the first collective
            elif not (guard.done or guard.collective):
                dp = guard.dp
                where = "" if dp is None else f" at epoch {dp.at[0]}, batch {dp.at[1]}"
                tb = "".join(traceback.format_exception(type(e), e, e.__traceback__))
                _abort_with(f"rank {_who(comm)} left fit(distributed=True){where} with "
                            f"{type(e).__name__}: {e}; the other ranks cannot go on without "
                            f"it: aborting every rank (MPI Abort)\n{tb}")
        raise
    finally:
        _GUARDS.remove(guard)


def collective_error() -> None:
    """Mark the error fit is about to raise as raised on every rank alike (from reduced
    values), so leaving fit with it does not abort the job."""
    if _GUARDS:
        _GUARDS[-1].collective = True


def _start(comm: Any, error: Optional[BaseException], signature: Any = None) -> list:
    """fit's first collective: every rank's start (an error message, or None and the
    signature to compare), in rank order.  A rank whose start failed returns (to re-raise
    its own error); on the others a RankMismatchError names the failed rank and its error."""
    mine = {"error": None if error is None else f"{type(error).__name__}: {error}",
            "signature": signature}
    every = _allgather_json(comm, mine, "the start of fit(distributed=True)")
    if _GUARDS:
        _GUARDS[-1].started = True
    failed = [(r, e["error"]) for r, e in enumerate(every) if e["error"] is not None]
    if failed and error is None:
        if _GUARDS:
            _GUARDS[-1].collective = True
        r, msg = failed[0]
        raise RankMismatchError(f"nn.distributed: fit(distributed=True) could not start on rank "
                                f"{r}: {msg}; every rank raises, so none is left waiting")
    return every


class DataParallel:
    """The per-fit state of data-parallel training: made by ``fit(distributed=True)`` after
    its input checks; checks that the ranks agree, broadcasts rank 0's weights, then runs the
    steps.  ``comm_seconds`` adds up the time spent in the step's Allreduce (including waiting
    for the slowest rank).  Every collective is polled (``_wait``); ``at`` is the (epoch,
    batch), from 1, that messages name."""

    def __init__(self, model: Any, x: np.ndarray, y: np.ndarray, batch_size: int, epochs: int,
                 shuffle: bool, vx: Optional[np.ndarray] = None,
                 vy: Optional[np.ndarray] = None, compiled: Any = None) -> None:
        self.comm = comm = _require("fit(distributed=True)")
        self.rank, self.size = comm.Get_rank(), comm.Get_size()
        self.model, self.opt = model, model.optimizer
        self.params = list(self.opt.params)
        self.at = (0, 0)
        settings = [("batch_size", batch_size), ("epochs", epochs), ("shuffle", bool(shuffle)),
                    ("x", _fingerprint(x)), ("y", _fingerprint(y)),
                    ("validation x", None if vx is None else _fingerprint(vx)),
                    ("validation y", None if vy is None else _fingerprint(vy)),
                    ("loss", type(model.loss).__name__),
                    ("metrics", [type(m).__name__ for m in model.metrics]),
                    ("optimizer", repr(self.opt))]
        if _GUARDS:
            _GUARDS[-1].dp = self
        # one collective for the start: every rank's error (if any) and its signatures
        model_sig = _param_signature(_named(model))
        every = _start(comm, None, [model_sig, settings + _param_signature(_named(self.params))])
        try:
            _check_same(comm, model_sig, "model", [e["signature"][0] for e in every])
            _check_same(comm, None, "fit data or settings", [e["signature"][1] for e in every])
        except RankMismatchError:
            if _GUARDS:
                _GUARDS[-1].collective = True
            raise
        # every weight, frozen ones included
        _bcast_values(comm, [p for _, p in _named(model)], 0,
                      "Ibcast (rank 0's initial weights, start of fit(distributed=True))")
        n = sum(p.size for p in self.params)
        nm = len(model.metrics)
        # layout: [gradients | one has-grad flag per parameter | loss sum | metric sums]
        self.buf = np.zeros(n + len(self.params) + 1 + nm, dtype=_pack_dtype(self.params))
        self.views = []
        at = 0
        for p in self.params:
            self.views.append(self.buf[at:at + p.size].reshape(p.shape))
            at += p.size
        self.n_grad, self.i_loss = n, n + len(self.params)
        self.metric_index = {id(m): self.i_loss + 1 + i for i, m in enumerate(model.metrics)}
        self.comm_seconds = 0.0
        self.steps = 0
        self.last_batch = 1
        self._flag = np.zeros(1, np.int8)
        # jit_compile: the shard's forward, loss and backward as one compiled program (None:
        # eager); the Allreduce and the update below are the same either way
        self._jit = compiled
        self.program = None if compiled is None else compiled.distributed_program(self._grads)

    def _grads(self, xs: Any, ys: Any, seed: Any) -> tuple:
        """The shard's loss and output, leaving d(seed * loss)/dw in ``.grad`` (what
        ``autograd.jit`` traces under ``jit_compile``)."""
        for p in self.params:
            p.grad = None
        out = self.model(xs)
        loss = self.model.loss(ys, out)
        (loss * seed).backward()
        return loss, out

    def _where(self, what: str) -> str:
        e, b = self.at
        return f"{what} of fit(distributed=True)" + (f" at epoch {e}, batch {b}" if e else "")

    def agree_stop(self, stop: Any) -> bool:
        """Whether any rank wants to stop (``model.stop_training`` there): one polled
        ``Iallreduce`` (MAX) of one byte; the answer is set as ``model.stop_training`` on
        every rank, so all ranks break out of the loop at the same step."""
        self._flag[0] = 1 if stop else 0
        _wait(self.comm.Iallreduce(_MPI.IN_PLACE, self._flag, op=_MPI.MAX),
              self._where("Iallreduce (the stop flag)"))
        self.model.stop_training = bool(self._flag[0])
        return self.model.stop_training

    def agree_start(self, epoch: int) -> None:
        """Check that every rank starts training at the same epoch (a callback such as
        ``BackupAndRestore`` may move it on some ranks only): one polled ``Iallreduce`` of
        (epoch, -epoch), MAX; a difference raises RankMismatchError on every rank."""
        both = np.array([epoch, -epoch], np.int64)
        _wait(self.comm.Iallreduce(_MPI.IN_PLACE, both, op=_MPI.MAX),
              self._where("Iallreduce (the first epoch)"))
        if both[0] != -both[1]:
            collective_error()
            raise RankMismatchError(
                f"nn.distributed: the ranks would start training at different epochs "
                f"({-both[1] + 1} to {both[0] + 1}; this rank at {epoch + 1}): a callback "
                f"(BackupAndRestore?) moved the start on some ranks only; give every rank "
                f"the same backup, or none")

    def finish(self) -> None:
        """fit's last collective, after ``on_train_end``: rank 0's weights on every rank (a
        callback may have changed them on one rank only, say restoring its best epoch)."""
        _bcast_values(self.comm, [p for _, p in _named(self.model)], 0,
                      self._where("Ibcast (rank 0's final weights, end)"))
        if _GUARDS:
            _GUARDS[-1].done = True

    def same_order(self, order: np.ndarray) -> np.ndarray:
        """Rank 0's permutation of the samples, on every rank."""
        order = np.ascontiguousarray(order, dtype=np.int64)
        _wait(self.comm.Ibcast(order, root=0), self._where("Ibcast (rank 0's sample order)"))
        return order

    def train_step(self, xb: np.ndarray, yb: np.ndarray) -> tuple[float, Any]:
        """One step on this rank's shard of the global batch (xb, yb); returns what
        ``Model._train_step`` returns, for the global batch: (mean loss, output marker), with
        (non-finite loss, None or marker) and no update when the loss or a gradient is NaN/inf.
        An exception on this rank's side of the step aborts the job."""
        model, buf = self.model, self.buf
        bs = len(xb)
        lo, hi = _bounds(bs, self.rank, self.size)
        k = hi - lo
        buf.fill(0)
        out_data: Any = np.empty((0,))
        try:
            for p in self.params:
                p.grad = None
            if k:
                xs, ys = xb[lo:hi], yb[lo:hi]
                # d(k/B * shard mean)/dw = (sum over the shard)/B: ranks sum to the batch mean
                if self.program is not None:    # forward, loss and backward compiled
                    seed = np.asarray(k / bs, dtype=buf.dtype)
                    loss, out = self._jit.call(self.program, xs, ys, seed)
                    value = float(loss)
                    out_data = out.data if isinstance(out, ag.Tensor) else out
                else:
                    out = model(xs)
                    loss = model.loss(ys, out)
                    value = float(loss.data)
                    out_data = out.data
                    if math.isfinite(value):
                        loss.backward(np.asarray(k / bs, dtype=loss.dtype))
                buf[self.i_loss] = value * k
                if math.isfinite(value):
                    for m in model.metrics:
                        buf[self.metric_index[id(m)]] = float(m(ys, out_data)) * k
                    for i, (p, v) in enumerate(zip(self.params, self.views)):
                        g = p.grad
                        if g is not None:
                            v[...] = g.data if isinstance(g, ag.Tensor) else g
                            buf[self.n_grad + i] = 1
        except BaseException:
            if self.size > 1:  # the other ranks are (or will be) waiting in the Allreduce
                _abort()
            raise
        t0 = time.perf_counter()
        _wait(self.comm.Iallreduce(_MPI.IN_PLACE, buf, op=_MPI.SUM),
              self._where("Iallreduce (the training step's gradients)"))
        self.comm_seconds += time.perf_counter() - t0
        self.steps += 1
        self.last_batch = bs
        value = float(buf[self.i_loss]) / bs
        if not math.isfinite(value):
            return value, out_data
        if not np.isfinite(buf[:self.n_grad]).all():
            return float("nan"), None
        for i, (p, v) in enumerate(zip(self.params, self.views)):
            p.grad = v if buf[self.n_grad + i] > 0 else None
        self.opt.step()
        return value, out_data

    def metric(self, m: Any) -> float:
        """The metric's mean over the last global batch."""
        return float(self.buf[self.metric_index[id(m)]]) / self.last_batch

    def evaluate(self, x: np.ndarray, y: np.ndarray, batch_size: int) -> dict:
        """``Model._evaluate_arrays`` over (x, y) with each rank taking a contiguous shard;
        the figures are sample-weighted sums reduced over the ranks, divided by len(x)."""
        n = len(x)
        lo, hi = _bounds(n, self.rank, self.size)
        names = ["loss"] + [_metric_name(m) for m in self.model.metrics]
        sums = np.zeros(len(names))
        try:
            if hi > lo:
                logs = self.model._evaluate_arrays(x[lo:hi], y[lo:hi], batch_size)
                sums[:] = [logs[k] * (hi - lo) for k in names]
        except BaseException:
            if self.size > 1:
                _abort()
            raise
        _wait(self.comm.Iallreduce(_MPI.IN_PLACE, sums, op=_MPI.SUM),
              self._where("Iallreduce (the validation figures)"))
        return {k: float(v) / n for k, v in zip(names, sums)}


def _metric_name(m: Any) -> str:
    from .metrics import metric_name
    return metric_name(m)
