"""``nn.data``: a small input pipeline, ``tf.data``-shaped, on numpy arrays.

>>> import numpy as np, nn
>>> ds = (nn.data.Dataset.from_tensor_slices((np.arange(10.0).reshape(5, 2), np.arange(5)))
...       .shuffle(5, seed=0).batch(2).prefetch(2))
>>> [xb.shape for xb, yb in ds]
[(2, 2), (2, 2), (1, 2)]

A Dataset is re-iterable: each ``iter(ds)`` starts a new pass (a new shuffle order).  An
element is an array, a tuple of arrays or a dict of arrays; ``batch`` stacks them along a new
first axis.  ``model.fit(ds)`` takes elements ``(x, y)`` or ``(x, y, sample_weight)``; it
loops over ``for xb, yb in ds`` as a PyTorch DataLoader would.  An infinite dataset
(``repeat()``) needs ``steps_per_epoch``.

The folder also holds the shipped data files (``digits.csv.gz``, see README.md), read by
``nn.datasets``.
"""
from __future__ import annotations

import queue
import threading
from typing import Any, Callable, Iterator, Optional

import numpy as np

import autograd as ag

__all__ = ["Dataset", "AUTOTUNE", "INFINITE", "UNKNOWN"]

AUTOTUNE = -1      #: ``prefetch(AUTOTUNE)``: a buffer of 2 batches
INFINITE = -1      #: ``cardinality()`` of a dataset that never ends
UNKNOWN = -2       #: ``cardinality()`` of a generator's dataset


def _slice_len(t: Any, where: str) -> int:
    if isinstance(t, dict):
        lens = {k: _slice_len(v, where) for k, v in t.items()}
    elif isinstance(t, (tuple, list)):
        lens = {i: _slice_len(v, where) for i, v in enumerate(t)}
    else:
        if np.ndim(t) == 0:
            raise ag.ShapeError(f"{where}: every array needs a first axis to slice, got a scalar")
        return len(t)
    if not lens:
        raise ag.InvalidValueError(f"{where}: nothing to slice")
    if len(set(lens.values())) != 1:
        raise ag.ShapeError(f"{where}: the arrays hold different numbers of elements: {lens}")
    return next(iter(lens.values()))


def _as_arrays(t: Any) -> Any:
    if isinstance(t, dict):
        return {k: _as_arrays(v) for k, v in t.items()}
    if isinstance(t, (tuple, list)):
        return tuple(_as_arrays(v) for v in t)
    return t.data if isinstance(t, ag.Tensor) else np.asarray(t)


def _index(t: Any, i: Any) -> Any:
    if isinstance(t, dict):
        return {k: _index(v, i) for k, v in t.items()}
    if isinstance(t, tuple):
        return tuple(_index(v, i) for v in t)
    return t[i]


def _stack(items: list, where: str) -> Any:
    first = items[0]
    if isinstance(first, dict):
        return {k: _stack([it[k] for it in items], where) for k in first}
    if isinstance(first, tuple):
        return tuple(_stack([it[j] for it in items], where) for j in range(len(first)))
    try:
        return np.stack([np.asarray(it) for it in items])
    except ValueError as e:
        raise ag.ShapeError(f"{where}: elements of different shapes cannot be batched "
                            f"({e})") from None


class Dataset:
    """A re-iterable pipeline of elements.  Make one with ``from_tensor_slices`` or
    ``from_generator``; chain ``shuffle``, ``map``, ``batch``, ``repeat``, ``take``,
    ``prefetch``; iterate it, or pass it to ``Model.fit``/``evaluate``/``predict``."""

    def __init__(self, make_iter: Callable[[], Iterator], cardinality: int) -> None:
        self._make_iter = make_iter
        self._cardinality = int(cardinality)

    # ------------------------------------------------------------------ sources
    @staticmethod
    def from_tensor_slices(tensors: Any) -> "Dataset":
        """One element per index of the first axis: ``tensors`` is an array, a tuple/list of
        arrays (elements are tuples) or a dict of arrays (elements are dicts), all with the
        same first dimension."""
        data = _as_arrays(tensors)
        n = _slice_len(data, "Dataset.from_tensor_slices")

        def it():
            for i in range(n):
                yield _index(data, i)
        return Dataset(it, n)

    @staticmethod
    def from_generator(generator: Callable[[], Any]) -> "Dataset":
        """Elements from ``generator()``, a function returning an iterable (called afresh for
        each pass).  The length is unknown."""
        if not callable(generator):
            raise ag.ArgumentTypeError("Dataset.from_generator: give a function that returns an "
                                       "iterator (called once per pass), not the iterator itself")
        return Dataset(lambda: iter(generator()), UNKNOWN)

    # ------------------------------------------------------------------ transformations
    def map(self, fn: Callable) -> "Dataset":
        """``fn(*element)`` for a tuple element (as tf.data), else ``fn(element)``."""
        if not callable(fn):
            raise ag.ArgumentTypeError(f"Dataset.map: fn must be callable, got {fn!r}")
        src = self._make_iter

        def it():
            for el in src():
                yield fn(*el) if isinstance(el, tuple) else fn(el)
        return Dataset(it, self._cardinality)

    def batch(self, batch_size: int, drop_remainder: bool = False) -> "Dataset":
        """Stack ``batch_size`` consecutive elements; the last, shorter batch is kept unless
        ``drop_remainder``."""
        if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)) \
                or batch_size < 1:
            raise ag.InvalidValueError(f"Dataset.batch: batch_size must be an int >= 1, got "
                                       f"{batch_size!r}")
        b, src = int(batch_size), self._make_iter

        def it():
            buf = []
            for el in src():
                buf.append(el)
                if len(buf) == b:
                    yield _stack(buf, "Dataset.batch")
                    buf = []
            if buf and not drop_remainder:
                yield _stack(buf, "Dataset.batch")
        n = self._cardinality
        card = n if n < 0 else (n // b if drop_remainder else -(-n // b))
        return Dataset(it, card)

    def shuffle(self, buffer_size: int, seed: Optional[int] = None,
                reshuffle_each_iteration: bool = True) -> "Dataset":
        """Shuffle through a buffer of ``buffer_size`` elements (tf.data's algorithm: fill the
        buffer, then each output is a random buffer slot, refilled from the input).  A buffer
        at least as long as the data gives a uniform shuffle.  ``seed`` fixes the orders
        (``nn.set_seed`` does when None); each pass draws a new order unless
        ``reshuffle_each_iteration=False``."""
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)) \
                or buffer_size < 1:
            raise ag.InvalidValueError(f"Dataset.shuffle: buffer_size must be an int >= 1, got "
                                       f"{buffer_size!r}")
        from .. import _random
        size, src = int(buffer_size), self._make_iter
        master = np.random.default_rng(seed) if seed is not None else None
        fixed = []

        def it():
            if not reshuffle_each_iteration and fixed:
                rng = np.random.default_rng(fixed[0])
            else:
                base = master if master is not None else _random.get_rng()
                s = int(base.integers(2 ** 63))
                fixed[:] = [s]
                rng = np.random.default_rng(s)
            buf = []
            for el in src():
                if len(buf) < size:
                    buf.append(el)
                    continue
                j = int(rng.integers(size))
                yield buf[j]
                buf[j] = el
            while buf:
                j = int(rng.integers(len(buf)))
                buf[j], buf[-1] = buf[-1], buf[j]
                yield buf.pop()
        return Dataset(it, self._cardinality)

    def repeat(self, count: Optional[int] = None) -> "Dataset":
        """The data ``count`` times over (None: forever)."""
        if count is not None and (isinstance(count, bool) or not isinstance(count, (int, np.integer))
                                  or count < 0):
            raise ag.InvalidValueError(f"Dataset.repeat: count must be None or an int >= 0, got "
                                       f"{count!r}")
        src = self._make_iter

        def it():
            k = 0
            while count is None or k < count:
                empty = True
                for el in src():
                    empty = False
                    yield el
                if empty:
                    return
                k += 1
        n = self._cardinality
        if count is None:
            card = 0 if n == 0 else INFINITE
        else:
            card = n * int(count) if n >= 0 else n
        return Dataset(it, card)

    def take(self, count: int) -> "Dataset":
        """At most the first ``count`` elements."""
        if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 0:
            raise ag.InvalidValueError(f"Dataset.take: count must be an int >= 0, got {count!r}")
        src, c = self._make_iter, int(count)

        def it():
            if c == 0:
                return
            for i, el in enumerate(src()):
                yield el
                if i + 1 >= c:
                    return
        n = self._cardinality
        card = c if n == INFINITE else (min(n, c) if n >= 0 else UNKNOWN)
        return Dataset(it, card)

    def prefetch(self, buffer_size: int = AUTOTUNE) -> "Dataset":
        """Produce up to ``buffer_size`` elements ahead on a background thread (the pipeline's
        work, ``map`` included, overlaps the training step).  Errors in the pipeline are
        raised in the consumer; stopping early (``break``) stops the thread."""
        if buffer_size == AUTOTUNE:
            buffer_size = 2
        if isinstance(buffer_size, bool) or not isinstance(buffer_size, (int, np.integer)) \
                or buffer_size < 1:
            raise ag.InvalidValueError(f"Dataset.prefetch: buffer_size must be an int >= 1 or "
                                       f"AUTOTUNE, got {buffer_size!r}")
        src, size = self._make_iter, int(buffer_size)

        def it():
            q: queue.Queue = queue.Queue(maxsize=size)
            stop = threading.Event()

            def put(item):
                while not stop.is_set():
                    try:
                        q.put(item, timeout=0.05)
                        return True
                    except queue.Full:
                        continue
                return False

            def work():
                try:
                    for el in src():
                        if not put((0, el)):
                            return
                    put((1, None))
                except BaseException as e:  # handed to the consumer, raised there
                    put((2, e))

            t = threading.Thread(target=work, name="nn.data.prefetch", daemon=True)
            t.start()
            try:
                while True:
                    kind, el = q.get()
                    if kind == 0:
                        yield el
                    elif kind == 1:
                        return
                    else:
                        raise el
            finally:
                stop.set()
        return Dataset(it, self._cardinality)

    # ------------------------------------------------------------------ reading
    def __iter__(self) -> Iterator:
        return iter(self._make_iter())

    def as_numpy_iterator(self) -> Iterator:
        return iter(self)

    def cardinality(self) -> int:
        """The number of elements: an int, ``INFINITE`` (-1) or ``UNKNOWN`` (-2)."""
        return self._cardinality

    def __len__(self) -> int:
        n = self._cardinality
        if n < 0:
            raise ag.ArgumentTypeError("Dataset: the length is " + ("infinite" if n == INFINITE
                                                                     else "unknown"))
        return n

    def __repr__(self) -> str:
        n = self._cardinality
        return f"<Dataset of {'infinite' if n == INFINITE else 'unknown' if n == UNKNOWN else n} elements>"


