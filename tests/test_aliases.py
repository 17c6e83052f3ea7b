"""Aliases, seeds and threads (issue 17): no handle to a tensor's memory can change what a
recorded graph saved without backward saying so, in-place operators are truly in place with
PyTorch's rules, gradient accumulation is atomic per leaf, and grad-mode contexts are per
thread."""
import threading

import numpy as np
import pytest

import autograd as ag
from autograd import Tensor


def _square_sum():
    x = Tensor([1.0, 2.0], requires_grad=True)
    return x, (x * x).sum()


# --------------------------------------------------------------------------- numpy handles
@pytest.mark.parametrize("handle", [
    lambda x: x.data, lambda x: x.numpy(), lambda x: np.asarray(x),
    lambda x: x.data[0:1], lambda x: x.data.reshape(2, 1), lambda x: x.detach().data,
    lambda x: x.reshape(2).numpy(), lambda x: np.asarray(x[0:1].detach()),
])
def test_numpy_handles_are_read_only_while_the_graph_holds_the_tensor(handle):
    x, y = _square_sum()
    with pytest.raises(ValueError, match="read-only"):
        handle(x)[0] = 100.0            # issue: silently gave the gradient [200, 4]
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 4.0])


def test_numpy_handles_are_writable_again_after_backward_or_once_the_graph_is_dropped():
    x, y = _square_sum()
    y.backward()
    x.data[0] = 5.0                     # the README's parameter update, after backward
    assert x.data[0] == 5.0
    y2 = (x * x).sum()
    assert not x.data.flags.writeable
    del y2                              # dropped without backward: nothing holds x any more
    x.numpy()[1] = 7.0
    np.testing.assert_array_equal(x.data, [5.0, 7.0])


def test_a_tensor_not_saved_by_the_graph_stays_writable():
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = (x + x).sum()                   # add's vjp reads no input: nothing saved
    x.data[0] = 3.0
    y.backward()
    np.testing.assert_array_equal(x.grad, [2.0, 2.0])


# --------------------------------------------------------------------------- tensor aliases
def test_in_place_change_through_detach_is_seen_by_backward():
    x, y = _square_sum()
    d = x.detach()
    d += 100                            # shares x's memory and its version counter
    with pytest.raises(ag.InPlaceError, match=r"multiply saved input \d of it, tensor \(a leaf, shape \(2,\)"):
        y.backward()


@pytest.mark.parametrize("view", [lambda x: x.reshape(2), lambda x: x[0:1], lambda x: x.T,
                                  lambda x: ag.expand_dims(x, 0), lambda x: Tensor(x)])
def test_in_place_change_through_a_view_is_seen_by_backward(view):
    x, y = _square_sum()
    with ag.no_grad():
        v = view(x)
        v *= 3.0
    with pytest.raises(ag.InPlaceError, match="multiply"):
        y.backward()


def test_the_error_names_the_tensor():
    x = Tensor([1.0, 2.0], requires_grad=True)
    x.name = "weights"
    y = (x * x).sum()
    with ag.no_grad():
        x += 1
    with pytest.raises(ag.InPlaceError, match="tensor 'weights'"):
        y.backward()


# --------------------------------------------------------------------------- in-place operators
@pytest.mark.parametrize("update", [lambda p: p.__isub__(1.0), lambda p: p.__iadd__(1.0),
                                    lambda p: p.__imul__(2.0), lambda p: p.__itruediv__(2.0),
                                    lambda p: p.__setitem__(0, 9.0)])
def test_in_place_on_a_leaf_that_requires_grad(update):
    p = Tensor([1.0, 2.0], requires_grad=True)
    mem = p._data
    with pytest.raises(ag.InPlaceError, match="no_grad"):
        update(p)                       # grad mode on: PyTorch's rule
    np.testing.assert_array_equal(p.data, [1.0, 2.0])
    with ag.no_grad():
        out = update(p)
    assert out is None or out is p      # the same object: still the model's parameter
    assert p._data is mem and p.requires_grad and p.is_leaf
    assert not np.array_equal(p.data, [1.0, 2.0])


def test_sgd_by_hand_keeps_updating_the_same_parameter():
    w = Tensor([1.0, -1.0], requires_grad=True)
    for _ in range(3):
        loss = (w * w).sum()
        w.grad = None
        loss.backward()
        with ag.no_grad():
            w -= 0.25 * w.grad           # w = w (1 - 0.5)
    np.testing.assert_allclose(w.data, [0.125, -0.125])


def test_in_place_on_a_non_leaf_is_recorded_and_in_place():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    mem = h._data
    h += x                              # h = 3x, written into h's memory
    h *= 2.0                            # h = 6x
    assert h._data is mem and h.op == "multiply"
    (h * h).sum().backward()            # d/dx 36 x^2 = 72 x
    np.testing.assert_allclose(x.grad, [72.0, 144.0])


def test_setitem_on_a_non_leaf_is_recorded():
    x = Tensor([1.0, 2.0, 3.0], requires_grad=True)
    h = x * 1.0
    h[1] = 0.0
    (h * x).sum().backward()             # h = x with h[1] = 0: d/dx = 2x, 0 at 1 (... + x[1] h[1])
    np.testing.assert_allclose(x.grad, [2.0, 0.0, 6.0])


def test_a_saved_non_leaf_changed_in_place_raises_at_backward():
    x = Tensor([1.0, 2.0], requires_grad=True)
    h = x * 2.0
    y = (h * h).sum()
    h += 1.0
    with pytest.raises(ag.InPlaceError, match="multiply saved"):
        y.backward()


def test_an_output_changed_in_place_keeps_its_creator_s_gradient():
    x = Tensor([0.0, 1.0], requires_grad=True)
    h = ag.exp(x)                       # exp's vjp reads its output
    y = h.sum()
    with ag.no_grad():
        h += 5.0
    y.backward()
    np.testing.assert_allclose(x.grad, np.exp([0.0, 1.0]))


# --------------------------------------------------------------------------- seeds
def test_backward_copies_the_seed():
    x = Tensor([1.0, 2.0], requires_grad=True)
    seed = np.ones(2)
    x.backward(seed)
    assert x.grad is not seed and not np.shares_memory(x.grad, seed)
    seed[0] = 5.0
    np.testing.assert_array_equal(x.grad, [1.0, 1.0])


def test_0d_leaf_grad_is_always_an_ndarray():
    x = ag.Value(2.0)
    (x * x).backward()
    (x * 3.0).backward()
    assert type(x.grad) is np.ndarray and x.grad.shape == ()
    x.grad[...] = 0.0                   # np.float64 would refuse this


@pytest.mark.parametrize("seed, err, words", [
    ([None, 1.0], ag.DTypeError, "objects"),
    (np.array([1 + 1j, 1.0]), ag.DTypeError, "complex"),
    (["1", "2"], ag.DTypeError, "strings"),
    (np.ones(3), ag.ShapeError, r"shape \(3,\)"),
    ([[1.0], [1.0, 2.0]], ag.DTypeError, "gradient"),
])
def test_bad_seeds_raise_naming_the_problem(seed, err, words):
    x = Tensor([1.0, 2.0], requires_grad=True)
    y = x * 2.0
    with pytest.raises(err, match=words):
        y.backward(seed)
    assert x.grad is None


def test_a_none_seed_for_a_non_scalar_output_says_a_gradient_is_needed():
    y = Tensor([1.0, 2.0], requires_grad=True) * 2.0
    with pytest.raises(ag.GraphError, match="explicit gradient"):
        y.backward(None)


# --------------------------------------------------------------------------- threads
def test_gradient_accumulation_loses_no_update_across_threads():
    # large enough that numpy releases the GIL inside the addition: the race is real
    x = Tensor(np.zeros(50_000), requires_grad=True)
    n, k = 4, 150

    def work():
        for _ in range(k):
            (x * 2.0).sum().backward()
    ts = [threading.Thread(target=work) for _ in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    np.testing.assert_array_equal(x.grad, np.full(x.shape, 2.0 * n * k))
    x.data[0] = 1.0                     # no graph left holding x


def test_one_no_grad_object_entered_from_two_threads_restores_each_thread_s_mode():
    ng = ag.no_grad()
    b_in, a_in, b_out = threading.Event(), threading.Event(), threading.Event()
    after = {}

    def thread_a():                     # grad on; enters second, exits last
        b_in.wait(10)
        with ng:
            a_in.set()
            b_out.wait(10)
        after["a"] = ag.is_grad_enabled()

    def thread_b():                     # already under its own no_grad; enters first, exits first
        with ag.no_grad():
            with ng:
                b_in.set()
                a_in.wait(10)
            after["b_inside_own"] = ag.is_grad_enabled()
        after["b"] = ag.is_grad_enabled()
        b_out.set()

    ts = [threading.Thread(target=thread_a), threading.Thread(target=thread_b)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(20)
    assert after == {"a": True, "b_inside_own": False, "b": True}
    assert ag.is_grad_enabled()
