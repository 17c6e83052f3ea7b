"""Callbacks: hooks ``fit`` calls around training, each with ``self.model`` set.

``on_train_begin/end(logs)``, ``on_epoch_begin/end(epoch, logs)``,
``on_batch_begin/end(batch, logs)``.  ``logs`` holds the running figures ('loss', metrics,
and at epoch end the 'val_' ones).  Setting ``self.model.stop_training = True`` stops
training after the current step.
"""
from __future__ import annotations

import math
import sys
from typing import Any, Optional

from autograd.errors import InvalidValueError

__all__ = ["Callback", "History", "EarlyStopping", "TerminateOnNaN"]


class Callback:
    """Base class; every hook does nothing."""

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


class EarlyStopping(Callback):
    """Stop when ``monitor`` has not improved by more than ``min_delta`` for ``patience``
    epochs.  mode: 'min', 'max' or 'auto' (max for names containing 'acc', else min).
    restore_best_weights: at the end, put back the weights of the best epoch.
    """

    def __init__(self, monitor: str = "val_loss", min_delta: float = 0.0, patience: int = 0,
                 mode: str = "auto", restore_best_weights: bool = False, verbose: int = 0) -> None:
        super().__init__()
        if mode not in ("auto", "min", "max"):
            raise InvalidValueError(f"EarlyStopping: mode must be 'auto', 'min' or 'max', got {mode!r}")
        if patience < 0:
            raise InvalidValueError(f"EarlyStopping: patience must be >= 0, got {patience!r}")
        self.monitor = monitor
        self.min_delta = abs(float(min_delta))
        self.patience = int(patience)
        self.mode = mode
        self.restore_best_weights = bool(restore_best_weights)
        self.verbose = verbose
        self.stopped_epoch = None
        self.best_epoch = None

    def _better(self, a: float, b: float) -> bool:
        mode = self.mode
        if mode == "auto":
            mode = "max" if "acc" in self.monitor else "min"
        return a > b + self.min_delta if mode == "max" else a < b - self.min_delta

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
            raise InvalidValueError(f"EarlyStopping: monitor {self.monitor!r} is not among the logged "
                             f"values {sorted(logs)}")
        value = float(logs[self.monitor])
        if self.best is None or self._better(value, self.best):
            self.best, self.best_epoch, self.wait = value, epoch, 0
            if self.restore_best_weights:
                self.best_weights = self.model.state_dict()
            return
        self.wait += 1
        if self.wait > self.patience:
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
