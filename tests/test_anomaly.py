"""detect_anomaly: the first NaN/inf, forward or backward, names the primitive and file:line."""
import os
import threading

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor

HERE = os.path.basename(__file__)


def test_off_by_default_nan_passes_silently():
    with np.errstate(invalid="ignore"):
        y = ag.log(Tensor([-1.0]))
    assert np.isnan(y.data[0])


def test_forward_nan_names_primitive_and_user_line():
    x = Tensor([-1.0, 1.0], requires_grad=True)
    with ag.detect_anomaly(), np.errstate(invalid="ignore"):
        with pytest.raises(ag.AnomalyError) as info:
            ag.sqrt(x)  # the offending line
    msg = str(info.value)
    assert msg.startswith("sqrt: forward") and "NaN" in msg and HERE in msg
    assert isinstance(info.value, FloatingPointError)


def test_forward_inf():
    with ag.detect_anomaly(), np.errstate(divide="ignore"):
        with pytest.raises(ag.AnomalyError, match="divide: forward .* inf"):
            Tensor([1.0]) / Tensor([0.0])


def test_backward_nan_names_primitive_and_creation_site():
    x = Tensor([0.0], requires_grad=True)
    with ag.detect_anomaly(), np.errstate(divide="ignore", invalid="ignore"):
        y = ag.sqrt(x)          # finite forward (0), infinite derivative at 0
        with pytest.raises(ag.AnomalyError) as info:
            y.sum().backward()
    msg = str(info.value)
    assert msg.startswith("sqrt: backward") and HERE in msg


def test_anomaly_mode_is_per_thread():
    seen = []
    with ag.detect_anomaly():
        t = threading.Thread(target=lambda: seen.append(ag.graph.MODE.anomaly))
        t.start(); t.join()
        assert ag.graph.MODE.anomaly
    assert seen == [False] and not ag.graph.MODE.anomaly
