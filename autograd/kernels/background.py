"""numba builds in a child process, so that no call of this process waits for a compile and
numba's compiler never runs in a thread of this process.

The tiered kernels (``autograd.jit.codegen``'s segments, ``optim_multi``'s multi-tensor
updates) run their numpy forms for their first ``HOT_CALLS`` calls and then want their numba
form without stalling the caller.  Compiling in a thread of this process did not do that:

* numba compiles a function at its first *call*, so a thread that only imported the module
  left the compile (5-45 s for a generated step on an empty cache) to the next call of the
  main thread;
* numba's compiler enters ``warnings.catch_warnings``, which before Python 3.14 saves and
  restores the process-wide warning filters: a compile in a thread could undo or leak a
  filter the main thread set meanwhile (a user's ``simplefilter``, a test's
  ``pytest.warns``);
* and it holds the GIL for much of the compile.

So a build is a child process (``python -m autograd.kernels.background``, one running at a
time, the rest queued) that imports the function's module, compiles it for the types of
example arguments (``Dispatcher.compile``) and exits; with ``cache=True`` numba writes the
machine code to its on-disk cache, and this process's first call of the function loads it
from there (milliseconds, after numba's one-time set-up of ~0.5 s).  The caller polls
``Job.poll()`` (a ``waitpid``, no blocking) and switches when it says done.  A job that
fails (the child's exit status, its last stderr lines in ``Job.error``) leaves the numpy
form in place: slower, same numbers.  Unfinished children are terminated at exit.

The arguments are described without numba (``describe``): arrays by dtype, ndim and
writeability, tuples by their items, Python numbers by type; the child rebuilds them as
scratch data and takes ``numba.typeof`` of each, so the compiled signature is the one the
real call has.
"""
from __future__ import annotations

import atexit
import collections
import importlib
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import threading
from typing import Any, Optional

import numpy as np

from ..errors import DTypeError

__all__ = ["Job", "Preload", "submit", "describe", "load", "MAX_RUNNING", "TIMEOUT"]

#: Children compiling at once (the others wait in a queue): one leaves the other core to
#: the caller on a 2-core machine.
MAX_RUNNING = 1
#: Seconds a child may take before it is killed and its job failed.
TIMEOUT = 900.0

_QUEUE: collections.deque = collections.deque()
_LOCK = threading.Lock()
_RUNNING: list = []
_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def describe(value: Any) -> list:
    """A JSON-able description of an argument, enough to rebuild one of the same numba type."""
    if isinstance(value, np.ndarray):
        return ["a", value.dtype.str, value.ndim, bool(value.flags.writeable)]
    if isinstance(value, tuple):
        return ["t", [describe(v) for v in value]]
    if isinstance(value, (bool, np.bool_)):
        return ["b"]
    if isinstance(value, int):
        return ["i"]
    if isinstance(value, float):
        return ["f"]
    if isinstance(value, np.generic):
        return ["s", value.dtype.str]
    raise DTypeError(f"background build: cannot describe an argument of type "
                    f"{type(value).__name__}")


def _example(d: list) -> Any:
    """Scratch data of the type ``d`` describes (the inverse of ``describe``)."""
    kind = d[0]
    if kind == "a":
        a = np.zeros((1,) * d[2], dtype=np.dtype(d[1]))
        a.flags.writeable = d[3]
        return a
    if kind == "t":
        return tuple(_example(v) for v in d[1])
    if kind == "b":
        return True
    if kind == "i":
        return 1
    if kind == "f":
        return 1.0
    return np.dtype(d[1]).type(0)


class Job:
    """One build: ``spec`` is {"module": importable name} or {"path": file, "name": module
    name} (a generated module, imported as ``codegen_compile`` imports it), plus "function"
    and "args" (``describe`` of each argument)."""

    __slots__ = ("spec", "proc", "state", "error", "_err", "_started")

    def __init__(self, spec: dict) -> None:
        self.spec = spec
        self.proc = None
        self.state = "queued"              # queued, running, done, failed
        self.error: Optional[str] = None
        self._err = None
        self._started = 0.0

    def poll(self) -> bool:
        """Whether the job has finished (done or failed); never blocks."""
        if self.state in ("done", "failed"):
            return True
        _pump()
        return self.state in ("done", "failed")

    def wait(self, timeout: Optional[float] = None) -> bool:
        """Block until the job has finished (at most ``timeout`` seconds); whether it has."""
        import time
        end = None if timeout is None else time.monotonic() + timeout
        while not self.poll():
            if self.proc is not None:
                left = None if end is None else max(end - time.monotonic(), 0.0)
                try:
                    self.proc.wait(left)
                except subprocess.TimeoutExpired:
                    return False
            elif end is not None and time.monotonic() >= end:
                return False
            else:
                time.sleep(0.01)
        return True

    def _start(self) -> None:
        env = dict(os.environ)
        from . import TMP_CACHE
        if TMP_CACHE[0]:                   # this process caches in a temp dir: so does the child
            env["NUMBA_CACHE_DIR"] = TMP_CACHE[0]
        env["PYTHONPATH"] = _ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH")
                                     else "")
        self._err = tempfile.TemporaryFile()
        try:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "autograd.kernels.background"], cwd=_ROOT, env=env,
                stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=self._err,
                start_new_session=True)          # the terminal's Ctrl-C is the caller's alone
            self.proc.stdin.write(json.dumps(self.spec).encode())
            self.proc.stdin.close()
        except (OSError, ValueError) as e:
            self._fail(f"could not start the build process: {e}")
            return
        import time
        self._started = time.monotonic()
        self.state = "running"

    def _reap(self) -> bool:
        rc = self.proc.poll()
        if rc is None:
            import time
            if time.monotonic() - self._started > TIMEOUT:
                self.proc.kill()
                self.proc.wait()
                self._fail(f"the build took longer than {TIMEOUT:.0f} s")
                return True
            return False
        if rc == 0:
            self.state = "done"
            self._err.close()
        else:
            self._err.seek(0)
            tail = self._err.read()[-2000:].decode(errors="replace")
            self._fail(f"the build process exited with status {rc}: {tail}")
        return True

    def _fail(self, why: str) -> None:
        self.state, self.error = "failed", why
        if self._err is not None:
            self._err.close()


class Preload:
    """``fn()`` (imports: numba, a kernel module) run in a daemon thread while the child
    compiles, so that switching costs the calling thread only the cache load.  Imports do
    not enter numba's compiler (``tests/test_jit_codegen.py`` checks that no thread but the
    main one enters ``warnings.catch_warnings`` during a build)."""

    __slots__ = ("thread", "value", "error")

    def __init__(self, fn) -> None:
        self.value = self.error = None

        def run():
            try:
                self.value = fn()
            except Exception as e:   # noqa: BLE001 - reported by result()
                self.error = e
        self.thread = threading.Thread(target=run, name="autograd-kernel-import", daemon=True)
        self.thread.start()

    def done(self) -> bool:
        return not self.thread.is_alive()

    def result(self, timeout: Optional[float] = None):
        """``fn()``'s value (re-raising its exception); None while still running."""
        self.thread.join(timeout)
        if self.thread.is_alive():
            return None
        if self.error is not None:
            raise self.error
        return self.value


def submit(spec: dict) -> Job:
    """Queue a build of ``spec`` (see ``Job``) and start it if a slot is free."""
    json.dumps(spec)                       # fail here, in the caller, on a bad description
    job = Job(spec)
    _QUEUE.append(job)
    _pump()
    return job


def _pump() -> None:
    """Reap finished children, start queued jobs while fewer than MAX_RUNNING run (under a
    lock: steps of compiled functions may poll from several threads)."""
    with _LOCK:
        for job in list(_RUNNING):
            if job._reap():
                _RUNNING.remove(job)
        while _QUEUE and len(_RUNNING) < MAX_RUNNING:
            job = _QUEUE.popleft()
            job._start()
            if job.state == "running":
                _RUNNING.append(job)


@atexit.register
def _stop_all() -> None:
    """At exit: no queued job starts, running children are terminated (numba writes its
    cache files atomically, so a cut build leaves no damaged entry)."""
    _QUEUE.clear()
    for job in _RUNNING:
        try:
            job.proc.kill()
            job.proc.wait(5)
            job._err.close()
        except Exception:  # noqa: BLE001 - exiting anyway
            pass
    _RUNNING.clear()


def load(dispatcher, spec: dict) -> None:
    """In this process: give ``dispatcher`` (a numba function) its overload for the types of
    ``spec["args"]``: loaded from numba's cache when the child wrote it, else compiled here."""
    import numba
    dispatcher.compile(tuple(numba.typeof(_example(d)) for d in spec["args"]))


def _forget() -> None:
    """In a forked child: the parent's builds are not this process's to poll or kill."""
    global _LOCK
    _LOCK = threading.Lock()
    _QUEUE.clear()
    _RUNNING.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget)


def _child(spec: dict) -> None:
    """In the child: set numba up as the package does, import, compile, exit."""
    from . import _load
    _load()
    import numba
    if "module" in spec:
        mod = importlib.import_module(spec["module"])
    else:
        from .codegen_compile import import_generated
        mod = import_generated(spec["path"], spec["name"])
    fn = getattr(mod, spec["function"])
    args = [_example(d) for d in spec["args"]]
    fn.compile(tuple(numba.typeof(a) for a in args))


if __name__ == "__main__":
    _child(json.loads(sys.stdin.read()))
