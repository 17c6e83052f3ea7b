"""The README's main demo reaches >= 97% held-out accuracy on the shipped digits."""
import nn.demo


def test_digits_demo_reaches_97_percent(capsys):
    acc = nn.demo.main(epochs=30, seed=0, verbose=0)
    assert acc >= 0.97
    assert "test accuracy" in capsys.readouterr().out
