"""The README's main demo reaches >= 97% held-out accuracy on the shipped digits."""
import pytest

import nn.demo


def test_digits_demo_reaches_97_percent(capsys):
    acc = nn.demo.main(epochs=30, seed=0, verbose=0)
    assert acc >= 0.97
    assert "test accuracy" in capsys.readouterr().out


def test_cnn_demo_learns_in_one_epoch(capsys):
    acc = nn.demo.main(model="cnn", epochs=1, seed=0, verbose=0)
    assert acc >= 0.80
    assert "test accuracy" in capsys.readouterr().out


@pytest.mark.slow
def test_cnn_demo_reaches_98_5_percent_and_98_3_over_three_seeds():
    """The issue's bar: >= 98.5% held-out with the default seed, >= 98.3% mean over 3 seeds."""
    accs = [nn.demo.main(model="cnn", seed=s, verbose=0) for s in (0, 1, 2)]
    assert accs[0] >= 0.985, accs
    assert sum(accs) / 3 >= 0.983, accs


def test_unknown_demo_model_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown model 'rnn'"):
        nn.demo.main(model="rnn", verbose=0)


@pytest.mark.slow   # ~16 s alone, 40+ s on a loaded machine; .ci/run runs it
def test_lstm_demo_reaches_97_percent(capsys):
    """The digits read row by row (8 steps of 8 pixels) by an LSTM (issue 13)."""
    acc = nn.demo.main(seed=0, verbose=0, model="lstm")
    assert acc >= 0.97
    assert "test accuracy" in capsys.readouterr().out
