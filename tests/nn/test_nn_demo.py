"""The README's main demo reaches >= 97% held-out accuracy on the shipped digits."""
import pytest

import nn.demo


def test_digits_demo_reaches_97_percent(capsys):
    acc = nn.demo.main(epochs=30, seed=0, verbose=0)
    assert acc >= 0.97
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.slow   # ~16 s alone, 40+ s on a loaded machine; .ci/run runs it
def test_lstm_demo_reaches_97_percent(capsys):
    """The digits read row by row (8 steps of 8 pixels) by an LSTM (issue 13)."""
    acc = nn.demo.main(seed=0, verbose=0, model="lstm")
    assert acc >= 0.97
    assert "test accuracy" in capsys.readouterr().out
