"""Callbacks: hooks ``fit``/``evaluate``/``predict`` call, each with ``self.model`` set.

The hooks are Keras's: ``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)``,
``on_train_batch_begin/end(batch, logs)`` (by default these call ``on_batch_begin/end``),
``on_test_begin/end``, ``on_test_batch_begin/end``, ``on_predict_begin/end``,
``on_predict_batch_begin/end``.  ``logs`` holds, as in Keras: at a train batch's end the
running means of 'loss' and the metrics over the epoch so far; at an epoch's end the epoch
means plus the 'val_' figures (one dict, shared by the callbacks in order, so a callback may
add entries such as 'learning_rate' that History then records); at a predict batch's end
``{'outputs': ...}``.  ``self.params`` holds 'epochs', 'steps' and 'verbose'.  Setting
``self.model.stop_training = True`` stops training after the current step.
"""
from __future__ import annotations

import csv
import inspect
import json
import math
import os
import sys
import time
import warnings
from typing import Any, Callable, Optional

import numpy as np

from autograd.errors import ArgumentTypeError, InvalidValueError

__all__ = ["Callback", "CallbackList", "History", "ProgbarLogger", "EarlyStopping",
           "TerminateOnNaN", "ModelCheckpoint", "LearningRateScheduler", "ReduceLROnPlateau",
           "CSVLogger", "LambdaCallback", "BackupAndRestore"]

HOOKS = ("on_train_begin", "on_train_end", "on_epoch_begin", "on_epoch_end",
         "on_train_batch_begin", "on_train_batch_end", "on_batch_begin", "on_batch_end",
         "on_test_begin", "on_test_end", "on_test_batch_begin", "on_test_batch_end",
         "on_predict_begin", "on_predict_end", "on_predict_batch_begin", "on_predict_batch_end")


class Callback:
    """Base class; every hook does nothing (the train-batch hooks call the batch hooks)."""

    def __init__(self) -> None:
        self.model: Any = None
        self.params: dict = {}

    def set_model(self, model: Any) -> None:
        self.model = model

    def set_params(self, params: dict) -> None:
        self.params = params

    def on_train_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_train_end(self, logs: Optional[dict] = None) -> None: ...
    def on_epoch_begin(self, epoch: int, logs: Optional[dict] = None) -> None: ...
    def on_epoch_end(self, epoch: int, logs: Optional[dict] = None) -> None: ...
    def on_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_batch_end(self, batch: int, logs: Optional[dict] = None) -> None: ...

    def on_train_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None:
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch: int, logs: Optional[dict] = None) -> None:
        self.on_batch_end(batch, logs)

    def on_test_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_test_end(self, logs: Optional[dict] = None) -> None: ...
    def on_test_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_test_batch_end(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_predict_begin(self, logs: Optional[dict] = None) -> None: ...
    def on_predict_end(self, logs: Optional[dict] = None) -> None: ...
    def on_predict_batch_begin(self, batch: int, logs: Optional[dict] = None) -> None: ...
    def on_predict_batch_end(self, batch: int, logs: Optional[dict] = None) -> None: ...


class CallbackList:
    """The callbacks of one ``fit``/``evaluate``/``predict``: the user's, then History
    (fit) and a ProgbarLogger (verbose != 0, unless one was given), as Keras orders them.
    ``cbs.on_<hook>(...)`` calls the hook on each, in order."""

    def __init__(self, callbacks: Any = None, model: Any = None, add_history: Any = None,
                 add_progbar: bool = False, verbose: int = 1, epochs: int = 1,
                 steps: Optional[int] = None, mode: str = "train") -> None:
        if isinstance(callbacks, Callback):
            callbacks = [callbacks]
        self.callbacks = list(callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise InvalidValueError(f"callbacks must be nn.callbacks.Callback instances, got "
                                        f"{type(cb).__name__}")
        if add_history is not None:
            self.callbacks.append(add_history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger())
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params: dict) -> None:
        for cb in self.callbacks:
            cb.set_params(params)

    def __getattr__(self, hook: str) -> Callable:
        if hook not in HOOKS:
            raise AttributeError(hook)

        def call(*args: Any) -> None:
            for cb in self.callbacks:
                getattr(cb, hook)(*args)
        return call


class History(Callback):
    """What ``fit`` returns: ``history`` maps 'loss', each metric and their 'val_' versions
    to per-epoch lists; ``epoch`` lists the epoch indices."""

    def __init__(self) -> None:
        super().__init__()
        self.history: dict[str, list] = {}
        self.epoch: list[int] = []

    def on_train_begin(self, logs=None):
        self.epoch = []
        self.history = {}

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)

    def __repr__(self) -> str:
        return f"History({self.history!r})"

    def plot(self, path=None, keys=None):
        """Draw each quantity per epoch, training and validation ('val_') on one panel each.

        path : where to save the figure (.png, .svg, .pdf); None shows it with pyplot.
        keys : the quantities to draw (default: 'loss' and every metric).
        Returns the matplotlib Figure.  matplotlib is optional: without it this raises
        ImportError saying how to install it (``pip install matplotlib``).
        """
        try:
            from matplotlib.figure import Figure
        except ImportError:
            raise ImportError("History.plot needs matplotlib, which is optional: "
                              "pip install matplotlib (or pip install 'autograd-nn[plot]')") from None
        if not self.history:
            raise InvalidValueError("History.plot: nothing to draw yet (fit the model first)")
        keys = list(keys) if keys is not None else [k for k in self.history if not k.startswith("val_")]
        fig = Figure(figsize=(4.2 * len(keys), 3.2), layout="constrained")
        axes = fig.subplots(1, len(keys), squeeze=False)[0]
        epochs = [e + 1 for e in (self.epoch or range(len(self.history[keys[0]])))]
        for ax, key in zip(axes, keys):
            ax.plot(epochs, self.history[key], marker="o", ms=3, label="training")
            if "val_" + key in self.history:
                ax.plot(epochs, self.history["val_" + key], marker="o", ms=3, label="validation")
            ax.set_title(key)
            ax.set_xlabel("epoch")
            ax.grid(alpha=0.3)
            ax.legend()
        if path is not None:
            fig.savefig(path, dpi=110)
        else:
            import matplotlib.pyplot as plt
            managed = plt.figure(figsize=fig.get_size_inches())
            plt.close(managed)
            fig.set_canvas(managed.canvas)
            plt.show()
        return fig


def _mode_op(who: str, mode: str, monitor: str) -> str:
    if mode not in ("auto", "min", "max"):
        raise InvalidValueError(f"{who}: mode must be 'auto', 'min' or 'max', got {mode!r}")
    if mode == "auto":
        return "max" if ("acc" in monitor or monitor.startswith("fmeasure")) else "min"
    return mode


def _check_nonneg_int(who: str, name: str, v: Any) -> int:
    if isinstance(v, bool) or not isinstance(v, (int, np.integer)) or v < 0:
        raise InvalidValueError(f"{who}: {name} must be an int >= 0, got {v!r}")
    return int(v)


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs (Keras's rule: after ``patience`` epochs without improvement).

    mode : 'min', 'max' or 'auto' (max for names containing 'acc', else min).
    baseline : stop unless the monitored value beats it within ``patience`` epochs.
    restore_best_weights : at the end, put back the weights of the best epoch.
    start_from_epoch : epochs to wait before watching (warm-up).
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 verbose: int = 0, mode: str = "auto", baseline: Optional[float] = None,
                 restore_best_weights: bool = False, start_from_epoch: int = 0) -> None:
        super().__init__()
        self.monitor = monitor
        self.mode = mode
        self._op = _mode_op("EarlyStopping", mode, monitor)
        self.patience = _check_nonneg_int("EarlyStopping", "patience", patience)
        self.start_from_epoch = _check_nonneg_int("EarlyStopping", "start_from_epoch",
                                                  start_from_epoch)
        self.min_delta = abs(float(min_delta))
        self.baseline = baseline
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self.stopped_epoch = None
        self.best_epoch = None

    def _better(self, a: float, b: Optional[float]) -> bool:
        if b is None:
            return True
        return a > b + self.min_delta if self._op == "max" else a < b - self.min_delta

    def on_train_begin(self, logs=None):
        known = self.params.get("metrics")
        if known is not None and self.monitor not in known:
            raise InvalidValueError(f"EarlyStopping: monitor {self.monitor!r} is not among the logged "
                             f"values {known} (val_ values need validation data)")
        self.wait = 0
        self.best: Optional[float] = None
        self.best_weights = None
        self.best_epoch = None
        self.stopped_epoch = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.monitor not in logs:
            if any(k.startswith("val_") for k in self.params.get("metrics") or ()) \
                    and self.monitor.startswith("val_"):
                return                          # a validation_freq epoch without validation
            raise InvalidValueError(f"EarlyStopping: monitor {self.monitor!r} is not among the logged "
                             f"values {sorted(logs)}")
        if epoch < self.start_from_epoch:
            return
        value = float(logs[self.monitor])
        self.wait += 1
        if self._better(value, self.best):
            self.best, self.best_epoch = value, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            if self.baseline is None or self._better(value, float(self.baseline)):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.restore_best_weights and self.best_weights is not None:
            self.model.load_state_dict(self.best_weights)
        if self.verbose and self.stopped_epoch is not None:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping (best {self.monitor} "
                  f"{self.best:.4g} at epoch {self.best_epoch + 1})", file=sys.stdout)


class TerminateOnNaN(Callback):
    """Stop training quietly on a NaN or inf loss.

    Without it, ``fit`` raises ``nn.NonFiniteLossError``; with it, ``fit`` returns normally
    after printing a note.  Either way the step with the bad loss is not applied: the
    weights are those of the last finite step.
    """

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(loss):
            print(f"Batch {batch}: invalid loss {loss}, terminating training")
            self.model.stop_training = True


class ProgbarLogger(Callback):
    """The progress display ``fit``/``evaluate``/``predict`` add when verbose != 0: with
    verbose 1 a bar per epoch (one final line per epoch when stdout is not a terminal), with
    verbose 2 one line per epoch."""

    def __init__(self) -> None:
        super().__init__()
        self.bar = None
        self.stream = None

    def _verbose(self) -> int:
        return int(self.params.get("verbose", 1))

    def _start(self) -> None:
        from .progress import Progbar
        self.stream = sys.stdout
        self.bar = Progbar(self.params.get("steps"), stream=self.stream) \
            if self._verbose() == 1 else None
        self.done = 0
        self.t0 = time.perf_counter()

    def on_epoch_begin(self, epoch, logs=None):
        if self._verbose() == 1:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')}", file=sys.stdout)
        self._start()

    def on_train_batch_end(self, batch, logs=None):
        logs = logs or {}
        loss = logs.get("loss")
        if loss is not None and not math.isfinite(loss):
            if self.bar is not None and self.bar.live:
                self.stream.write("\n")
            return
        self.done = batch + 1
        if self.bar is not None:
            self.bar.update(self.done, logs)

    def on_epoch_end(self, epoch, logs=None):
        from .progress import format_logs
        if self.bar is not None:
            self.bar.finish(self.done, logs or {})
        elif self._verbose() == 2:
            print(f"Epoch {epoch + 1}/{self.params.get('epochs')} - "
                  f"{time.perf_counter() - self.t0:.2f}s - {format_logs(logs or {})}",
                  file=sys.stdout)

    def on_train_begin(self, logs=None):
        self._in_fit = True                     # fit's validation shows no bar of its own

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_test_begin(self, logs=None):
        if getattr(self, "_in_fit", False):
            return
        self._start()

    def on_test_batch_end(self, batch, logs=None):
        if getattr(self, "_in_fit", False):
            return
        self.done = batch + 1
        if self.bar is not None:
            self.bar.update(self.done, logs or {})

    def on_test_end(self, logs=None):
        from .progress import format_logs
        if getattr(self, "_in_fit", False):
            return
        if self.bar is not None:
            self.bar.finish(self.done, logs or {})
        elif self._verbose() == 2:
            print(format_logs(logs or {}), file=sys.stdout)

    def on_predict_begin(self, logs=None):
        self._start()

    def on_predict_batch_end(self, batch, logs=None):
        self.done = batch + 1
        if self.bar is not None:
            self.bar.update(self.done, {})

    def on_predict_end(self, logs=None):
        if self.bar is not None:
            self.bar.finish(self.done, {})


class ModelCheckpoint(Callback):
    """Save the model (or its weights) during training.

    filepath : formatted with ``epoch`` (from 1), ``batch`` (with an int save_freq) and the
    logs, e.g. ``'ckpt-{epoch:02d}-{val_loss:.2f}.weights.npz'``.  Writes are atomic (a
    temporary file, then ``os.replace``).
    save_best_only : save only when ``monitor`` improves (``mode`` 'min', 'max' or 'auto';
    ``initial_value_threshold``: the value to beat first).
    save_weights_only : ``model.save_weights`` (an .npz) rather than ``model.save`` (the whole
    model, where the model has a ``save`` method).
    save_freq : 'epoch', or an int: every that many batches.
    """

    def __init__(self, filepath: Any, monitor: str = "val_loss", verbose: int = 0,
                 save_best_only: bool = False, save_weights_only: bool = False,
                 mode: str = "auto", save_freq: Any = "epoch",
                 initial_value_threshold: Optional[float] = None) -> None:
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor = monitor
        self.verbose = verbose
        self.save_best_only = bool(save_best_only)
        self.save_weights_only = bool(save_weights_only)
        self.mode = mode
        self._op = _mode_op("ModelCheckpoint", mode, monitor)
        if save_freq != "epoch" and (isinstance(save_freq, bool)
                                     or not isinstance(save_freq, (int, np.integer))
                                     or save_freq < 1):
            raise InvalidValueError(f"ModelCheckpoint: save_freq must be 'epoch' or an int >= 1, "
                                    f"got {save_freq!r}")
        self.save_freq = save_freq
        self.best = None if initial_value_threshold is None else float(initial_value_threshold)
        self._batches = 0
        self._epoch = 0

    def on_train_begin(self, logs=None):
        if not self.save_weights_only and not callable(getattr(self.model, "save", None)):
            raise InvalidValueError(
                f"ModelCheckpoint: {type(self.model).__name__} has no save() for whole-model "
                f"checkpoints; use save_weights_only=True")
        self._batches = 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches += 1
        if self._batches % self.save_freq == 0:
            self._save(self._epoch, batch, logs or {})

    def on_epoch_end(self, epoch, logs=None):
        if self.save_freq == "epoch":
            self._save(epoch, None, logs or {})

    def _better(self, value: float) -> bool:
        if self.best is None:
            return True
        return value > self.best if self._op == "max" else value < self.best

    def _path(self, epoch: int, batch: Optional[int], logs: dict) -> str:
        try:
            fields = {k: v for k, v in logs.items()}
            fields["epoch"] = epoch + 1
            if batch is not None:
                fields["batch"] = batch + 1
            return self.filepath.format(**fields)
        except (KeyError, IndexError, ValueError) as e:
            raise InvalidValueError(f"ModelCheckpoint: cannot format filepath "
                                    f"{self.filepath!r} with epoch and the logs {sorted(logs)} "
                                    f"({type(e).__name__}: {e})") from None

    def _save(self, epoch: int, batch: Optional[int], logs: dict) -> None:
        if self.save_best_only:
            value = logs.get(self.monitor)
            if value is None:
                warnings.warn(f"ModelCheckpoint: monitor {self.monitor!r} is not among the logs "
                              f"{sorted(logs)}; nothing saved", RuntimeWarning, stacklevel=2)
                return
            value = float(value)
            if not self._better(value):
                return
            if self.verbose:
                print(f"Epoch {epoch + 1}: {self.monitor} improved from {self.best} to "
                      f"{value:.5f}, saving model")
            self.best = value
        path = self._path(epoch, batch, logs)
        if self.save_weights_only:
            self.model.save_weights(path)      # atomic itself
        else:
            self.model.save(path)              # atomic itself
        if self.verbose and not self.save_best_only:
            print(f"Epoch {epoch + 1}: saving model to {path}")


def _n_args(fn: Callable) -> int:
    try:
        ps = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 2
    if any(p.kind == p.VAR_POSITIONAL for p in ps):
        return 2
    return sum(p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) for p in ps)


class LearningRateScheduler(Callback):
    """At each epoch's start, set the learning rate to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``), epoch counting from 0; the value is logged as 'learning_rate'."""

    def __init__(self, schedule: Callable, verbose: int = 0) -> None:
        super().__init__()
        if not callable(schedule):
            raise ArgumentTypeError(f"LearningRateScheduler: schedule must be a function of the "
                                    f"epoch (and the learning rate), got {schedule!r}")
        self.schedule = schedule
        self.verbose = verbose
        self._two = _n_args(schedule) >= 2

    def on_epoch_begin(self, epoch, logs=None):
        opt = self.model.optimizer
        lr = self.schedule(epoch, opt.learning_rate) if self._two else self.schedule(epoch)
        try:
            opt.learning_rate = lr
        except (TypeError, ValueError) as e:
            raise InvalidValueError(f"LearningRateScheduler: the schedule returned {lr!r} at "
                                    f"epoch {epoch}: {e}") from None
        if self.verbose:
            print(f"Epoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["learning_rate"] = float(self.model.optimizer.learning_rate)


class ReduceLROnPlateau(Callback):
    """Multiply the learning rate by ``factor`` when ``monitor`` has not improved by more
    than ``min_delta`` for ``patience`` epochs; then wait ``cooldown`` epochs; never below
    ``min_lr``.  Logs 'learning_rate' (Keras's rule throughout)."""

    def __init__(self, monitor: str = "val_loss", factor: float = 0.1, patience: int = 10,
                 verbose: int = 0, mode: str = "auto", min_delta: float = 1e-4,
                 cooldown: int = 0, min_lr: float = 0.0, **kwargs: Any) -> None:
        super().__init__()
        if kwargs:
            from .optimizers.base import check_kwargs
            check_kwargs("ReduceLROnPlateau", kwargs, ReduceLROnPlateau.__init__)
        if not 0 <= float(factor) < 1.0:
            raise InvalidValueError(f"ReduceLROnPlateau: factor must be in [0, 1), got {factor!r}")
        self.monitor = monitor
        self.factor = float(factor)
        self.patience = _check_nonneg_int("ReduceLROnPlateau", "patience", patience)
        self.cooldown = _check_nonneg_int("ReduceLROnPlateau", "cooldown", cooldown)
        self.verbose = verbose
        self.mode = mode
        self._op = _mode_op("ReduceLROnPlateau", mode, monitor)
        self.min_delta = abs(float(min_delta))
        self.min_lr = float(min_lr)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.cooldown_counter = 0
        self.best = -math.inf if self._op == "max" else math.inf

    def _better(self, a: float) -> bool:
        return a > self.best + self.min_delta if self._op == "max" else a < self.best - self.min_delta

    def on_train_begin(self, logs=None):
        self._reset()

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        opt = self.model.optimizer
        logs["learning_rate"] = float(opt.learning_rate)
        if self.monitor not in logs:
            warnings.warn(f"ReduceLROnPlateau: monitor {self.monitor!r} is not among the logs "
                          f"{sorted(logs)}", RuntimeWarning, stacklevel=2)
            return
        current = float(logs[self.monitor])
        if self.cooldown_counter > 0:
            self.cooldown_counter -= 1
            self.wait = 0
        if self._better(current):
            self.best = current
            self.wait = 0
        elif self.cooldown_counter <= 0:
            self.wait += 1
            if self.wait >= self.patience:
                old = float(opt.learning_rate)
                if old > self.min_lr:
                    new = max(old * self.factor, self.min_lr)
                    if not isinstance(opt.defaults["lr"], float):
                        raise InvalidValueError("ReduceLROnPlateau: the optimizer's learning "
                                                "rate is a schedule; it cannot also be reduced")
                    opt.learning_rate = new
                    if self.verbose:
                        print(f"Epoch {epoch + 1}: ReduceLROnPlateau reducing learning rate "
                              f"to {new}.")
                    self.cooldown_counter = self.cooldown
                    self.wait = 0


class CSVLogger(Callback):
    """Write one CSV row per epoch: 'epoch' (from 0) then the logs, columns sorted by name
    (Keras's layout).  append=True adds to an existing file (no second header)."""

    def __init__(self, filename: Any, separator: str = ",", append: bool = False) -> None:
        super().__init__()
        self.filename = os.fspath(filename)
        self.sep = separator
        self.append = bool(append)
        self.file = None
        self.writer = None
        self.keys: Optional[list] = None

    def on_train_begin(self, logs=None):
        exists = self.append and os.path.exists(self.filename) \
            and os.path.getsize(self.filename) > 0
        self._header = not exists
        self.file = open(self.filename, "a" if self.append else "w", newline="")
        self.keys = None

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            self.writer = csv.DictWriter(self.file, fieldnames=["epoch"] + self.keys,
                                         delimiter=self.sep)
            if self._header:
                self.writer.writeheader()
        row = {"epoch": epoch}
        row.update({k: logs.get(k, "NA") for k in self.keys})
        self.writer.writerow(row)
        self.file.flush()

    def on_train_end(self, logs=None):
        if self.file is not None:
            self.file.close()
            self.file = None


class LambdaCallback(Callback):
    """A callback from functions: ``LambdaCallback(on_epoch_end=lambda epoch, logs: ...)``,
    any hook by name (``on_train_begin``, ``on_train_batch_end``, ``on_test_end``, ...)."""

    def __init__(self, **hooks: Callable) -> None:
        super().__init__()
        for name, fn in hooks.items():
            if name not in HOOKS:
                raise ArgumentTypeError(f"LambdaCallback: unknown hook {name!r}; valid ones: "
                                        f"{', '.join(HOOKS)}")
            if fn is not None:
                if not callable(fn):
                    raise ArgumentTypeError(f"LambdaCallback: {name} must be callable")
                setattr(self, name, fn)


class BackupAndRestore(Callback):
    """Back up the model's weights, the optimizer's state and the epoch to ``backup_dir`` at
    each epoch's end; when ``fit`` starts and a backup is there (an earlier fit was
    interrupted), restore it and go on from the next epoch.  The backup is deleted when
    training ends normally (unless ``delete_checkpoint=False``).  Files: ``backup.npz``
    (weights, optimizer slots and a JSON record of the epoch and settings; no pickle),
    written atomically."""

    def __init__(self, backup_dir: Any, save_freq: Any = "epoch",
                 delete_checkpoint: bool = True) -> None:
        super().__init__()
        if save_freq != "epoch":
            raise InvalidValueError("BackupAndRestore: only save_freq='epoch' is supported "
                                    "(a resumed fit restarts at an epoch boundary)")
        self.backup_dir = os.fspath(backup_dir)
        self.save_freq = save_freq
        self.delete_checkpoint = bool(delete_checkpoint)
        self._arrays = os.path.join(self.backup_dir, "backup.npz")

    def on_train_begin(self, logs=None):
        if not os.path.exists(self._arrays):
            return
        with np.load(self._arrays, allow_pickle=False) as z:
            arrays = {k: z[k] for k in z.files}
        meta = json.loads(str(arrays.pop("__meta__")))
        weights = {k[2:]: v for k, v in arrays.items() if k.startswith("w/")}
        self.model.load_state_dict(weights)
        opt = self.model.optimizer
        if opt is not None and meta.get("optimizer") is not None:
            om = meta["optimizer"]
            state: dict = {}
            for k, v in arrays.items():
                if k.startswith("o/"):
                    _, i, slot = k.split("/", 2)
                    state.setdefault(int(i), {})[slot] = v
            for i, scalars in om["scalars"].items():
                state.setdefault(int(i), {}).update(scalars)
            for i, nones in om["nones"].items():
                state.setdefault(int(i), {}).update(dict.fromkeys(nones))
            opt.add_params(self.model.parameters())
            groups = [dict(g) for g in om["param_groups"]]
            for g, mine in zip(groups, opt.param_groups):
                if "lr" not in g:               # a schedule: keep the optimizer's own
                    g["lr"] = mine["lr"]
            opt.load_state_dict({"state": state, "param_groups": groups,
                                 "iterations": om["iterations"]})
        self.model._initial_epoch = int(meta["epoch"]) + 1

    def on_epoch_end(self, epoch, logs=None):
        os.makedirs(self.backup_dir, exist_ok=True)
        arrays = {"w/" + k: v for k, v in self.model.state_dict().items()}
        meta: dict = {"epoch": int(epoch), "optimizer": None}
        opt = self.model.optimizer
        if opt is not None:
            sd = opt.state_dict()
            scalars: dict = {}
            nones: dict = {}
            for i, st in sd["state"].items():
                for slot, v in st.items():
                    if isinstance(v, np.ndarray):
                        arrays[f"o/{i}/{slot}"] = v
                    elif v is None:
                        nones.setdefault(str(i), []).append(slot)
                    else:
                        scalars.setdefault(str(i), {})[slot] = float(v) if isinstance(v, float) \
                            else int(v)
            groups = []
            for g in sd["param_groups"]:
                g = dict(g)
                if not isinstance(g["lr"], (int, float)):
                    del g["lr"]
                groups.append(g)
            meta["optimizer"] = {"iterations": int(sd["iterations"]), "scalars": scalars,
                                 "nones": nones, "param_groups": groups}
        arrays["__meta__"] = np.array(json.dumps(meta))

        from . import safe_io
        os.makedirs(os.path.dirname(os.path.abspath(self._arrays)), exist_ok=True)
        safe_io.atomic_write(self._arrays, lambda f: safe_io.write_npz(f, arrays))

    def on_train_end(self, logs=None):
        # reached only when fit ends normally: an exception or Ctrl-C skips it
        if self.delete_checkpoint and os.path.exists(self._arrays):
            os.unlink(self._arrays)
