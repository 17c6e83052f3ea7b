"""autograd.numpy.fft: the shifts differentiate, the frequencies pass through, and the
Hermitian transforms (no gradient here) refuse a tensor that requires grad instead of dropping
it.  The other transforms: tests/test_fft.py."""
import numpy as np
import pytest

import autograd as ag
import autograd.numpy as anp
from autograd import Tensor, gradcheck, gradgradcheck


@pytest.mark.parametrize("shape,axes", [((5,), None), ((4, 5), None), ((4, 5), 1),
                                        ((3, 4, 5), (0, 2)), ((6,), 0)])
def test_shifts_match_numpy_and_differentiate(shape, axes):
    x = np.random.default_rng(0).normal(size=shape)
    t = Tensor(x, requires_grad=True)
    np.testing.assert_array_equal(anp.fft.fftshift(t, axes).data, np.fft.fftshift(x, axes))
    np.testing.assert_array_equal(anp.fft.ifftshift(t, axes).data, np.fft.ifftshift(x, axes))
    np.testing.assert_array_equal(anp.fft.ifftshift(anp.fft.fftshift(t, axes), axes).data, x)
    w = np.arange(x.size, dtype=float).reshape(shape)
    assert gradcheck(lambda a: anp.fft.fftshift(a, axes) * w, t)
    assert gradgradcheck(lambda a: anp.fft.ifftshift(a, axes) ** 2, t)
    g = ag.grad(lambda a: ag.sum(anp.fft.fftshift(a, axes) * w))(x)
    np.testing.assert_array_equal(g, np.fft.ifftshift(w, axes))


def test_frequencies_pass_through():
    np.testing.assert_array_equal(anp.fft.fftfreq(7, 0.5), np.fft.fftfreq(7, 0.5))
    np.testing.assert_array_equal(anp.fft.rfftfreq(8), np.fft.rfftfreq(8))


@pytest.mark.parametrize("name", ["hfft", "ihfft"])
def test_hermitian_transforms_refuse_tensors_that_require_grad(name):
    x = np.random.default_rng(1).normal(size=(4, 4))
    with pytest.raises(ag.ArgumentTypeError, match=f"fft.{name}.*Hermitian"):
        getattr(anp.fft, name)(Tensor(x, requires_grad=True))
    np.testing.assert_array_equal(getattr(anp.fft, name)(x), getattr(np.fft, name)(x))
