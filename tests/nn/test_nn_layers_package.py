"""nn.layers is a package with one module per family; nn.layers.X stays the public spelling."""
import pytest

import nn
from nn.errors import UnknownLayerError


def test_public_spelling_and_family_modules():
    from nn.layers import core
    assert nn.layers.Dense is core.Dense and nn.layers.Flatten is core.Flatten
    assert nn.layers.Activation is core.Activation


def test_unknown_layer_lists_available():
    with pytest.raises(AttributeError) as info:
        nn.layers.Conv9D
    assert isinstance(info.value, UnknownLayerError)
    msg = str(info.value)
    assert "'Conv9D'" in msg and "Dense" in msg and "Flatten" in msg


def test_every_exported_name_resolves():
    for name in nn.layers.__all__:
        assert getattr(nn.layers, name) is not None
