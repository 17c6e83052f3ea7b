"""autograd.numpy's compositions (rearrangements, reductions, contractions built from the
swept primitives): on drawn float64 inputs each agrees with numpy's forward and passes
gradcheck and gradgradcheck (the registry sweep covers the primitives beneath them)."""
import numpy
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

import autograd as ag
import autograd.numpy as np
from autograd import Tensor
from autograd.testing import tensors, valid_axes

SIDE = 3


def T(shape, **kw):
    return tensors(shape, **kw)


def shp(min_dims=0, max_dims=3, min_side=1):
    return hnp.array_shapes(min_dims=min_dims, max_dims=max_dims, min_side=min_side,
                            max_side=SIDE)


def axis_int(draw, nd):
    return draw(st.integers(-nd, nd - 1))


@st.composite
def one(draw, min_dims=0, unique=False, max_dims=3, **kw):
    """A tensor; with ``unique``, values at least 0.05 apart (no ties within gradcheck's
    step: sort and order statistics are differentiable there)."""
    x = draw(T(shp(min_dims, max_dims), **kw))
    if unique:
        d = x.data
        ranks = numpy.asarray(draw(st.permutations(range(d.size))), dtype=float)
        return Tensor((ranks * 0.37 + 0.02 * numpy.tanh(d.ravel())).reshape(d.shape),
                      requires_grad=True)
    return x


# name -> composite strategy returning (args, kwargs); tensors are the differentiated inputs
CASES = {}


def case(name):
    def deco(f):
        CASES[name] = st.composite(f)()
        return f
    return deco


@case("flip")
def _(draw):
    x = draw(one())
    return (x,), {"axis": draw(valid_axes(x.ndim))}


@case("flipud")
def _(draw):
    return (draw(one(1)),), {}


@case("fliplr")
def _(draw):
    return (draw(one(2)),), {}


@case("rot90")
def _(draw):
    x = draw(one(2))
    a, b = draw(st.permutations(range(x.ndim)))[:2]
    return (x,), {"k": draw(st.integers(-3, 5)), "axes": (a, b)}


@case("roll")
def _(draw):
    x = draw(one(1))
    return (x,), {"shift": draw(st.integers(-4, 4)), "axis": draw(st.none() | st.integers(0, x.ndim - 1))}


@case("repeat")
def _(draw):
    x = draw(one(1))
    return (x,), {"repeats": draw(st.integers(0, 3)), "axis": draw(st.none() | st.integers(0, x.ndim - 1))}


@case("tile")
def _(draw):
    return (draw(one()),), {"reps": tuple(draw(st.lists(st.integers(1, 2), min_size=1, max_size=3)))}


@case("take")
def _(draw):
    x = draw(one(1))
    ax = draw(st.integers(0, x.ndim - 1))
    idx = draw(hnp.arrays(numpy.int64, shp(0, 2), elements=st.integers(-x.shape[ax], x.shape[ax] - 1)))
    return (x, idx), {"axis": ax}


@case("take_along_axis")
def _(draw):
    x = draw(one(1))
    ax = draw(st.integers(0, x.ndim - 1))
    shape = list(x.shape)
    shape[ax] = draw(st.integers(1, 4))
    idx = draw(hnp.arrays(numpy.int64, tuple(shape), elements=st.integers(0, x.shape[ax] - 1)))
    return (x, idx), {"axis": ax}


@case("diagonal")
def _(draw):
    x = draw(one(2))
    a, b = draw(st.permutations(range(x.ndim)))[:2]
    return (x,), {"offset": draw(st.integers(-2, 2)), "axis1": a, "axis2": b}


@case("trace")
def _(draw):
    return (draw(one(2)),), {"offset": draw(st.integers(-1, 1))}


@case("diag")
def _(draw):
    return (draw(T(shp(1, 2))),), {"k": draw(st.integers(-2, 2))}


@case("diagflat")
def _(draw):
    return (draw(one()),), {"k": draw(st.integers(-2, 2))}


@case("triu")
def _(draw):
    return (draw(one(1)),), {"k": draw(st.integers(-2, 2))}


@case("tril")
def _(draw):
    return (draw(one(1)),), {"k": draw(st.integers(-2, 2))}


@case("ravel")
def _(draw):
    return (draw(one()),), {}


@case("swapaxes")
def _(draw):
    x = draw(one(1))
    return (x, axis_int(draw, x.ndim), axis_int(draw, x.ndim)), {}


@case("moveaxis")
def _(draw):
    x = draw(one(1))
    k = draw(st.integers(1, x.ndim))
    src = draw(st.permutations(range(x.ndim)))[:k]
    dst = draw(st.permutations(range(-x.ndim, 0)))[:k]
    return (x, src, dst), {}


@case("rollaxis")
def _(draw):
    x = draw(one(1))
    return (x, axis_int(draw, x.ndim)), {"start": draw(st.integers(0, x.ndim))}


for _n in ("atleast_1d", "atleast_2d", "atleast_3d"):
    CASES[_n] = st.builds(lambda x: ((x,), {}), one())


@st.composite
def _joinable(draw, min_dims=1):
    base = draw(shp(min_dims))
    return [draw(T(base)) for _ in range(draw(st.integers(1, 3)))]


for _n in ("vstack", "hstack", "dstack", "column_stack"):
    CASES[_n] = _joinable().map(lambda xs: ((xs,), {}))


@case("append")
def _(draw):
    x = draw(one(1))
    if draw(st.booleans()):
        return (x, draw(one())), {}
    ax = draw(st.integers(0, x.ndim - 1))
    s = list(x.shape)
    s[ax] = draw(st.integers(1, 3))
    return (x, draw(T(tuple(s)))), {"axis": ax}


@case("split")
def _(draw):
    x = draw(one(1))
    ax = draw(st.integers(0, x.ndim - 1))
    n = x.shape[ax]
    return (x, draw(st.sampled_from([d for d in range(1, n + 1) if n % d == 0]))), {"axis": ax}


@case("vsplit")
def _(draw):
    x = draw(T(shp(2)))
    return (x, draw(st.sampled_from([d for d in range(1, x.shape[0] + 1) if x.shape[0] % d == 0]))), {}


@case("hsplit")
def _(draw):
    x = draw(T(shp(2)))
    return (x, draw(st.sampled_from([d for d in range(1, x.shape[1] + 1) if x.shape[1] % d == 0]))), {}


@case("dsplit")
def _(draw):
    x = draw(T(shp(3)))
    return (x, [draw(st.integers(0, x.shape[2]))]), {}


@case("array_split")
def _(draw):
    x = draw(one(1))
    return (x, draw(st.integers(1, 4))), {"axis": draw(st.integers(0, x.ndim - 1))}


@case("pad")
def _(draw):
    x = draw(one(1))
    mode = draw(st.sampled_from(["constant", "edge", "reflect", "symmetric", "wrap"]))
    width = tuple((draw(st.integers(0, 2)), draw(st.integers(0, 2))) for _ in range(x.ndim))
    kw = {"constant_values": draw(st.floats(-2, 2))} if mode == "constant" else {}
    return (x, width, mode), kw


@case("sort")
def _(draw):
    x = draw(one(1, unique=True))
    return (x,), {"axis": draw(st.none() | st.integers(-x.ndim, x.ndim - 1))}


@case("partition")
def _(draw):
    x = draw(one(1, max_dims=1, unique=True))
    return (x, draw(st.integers(0, x.shape[0] - 1))), {}


@case("select")
def _(draw):
    s = draw(shp())
    k = draw(st.integers(1, 3))
    conds = [draw(hnp.arrays(numpy.bool_, s)) for _ in range(k)]
    return (conds, [draw(T(s)) for _ in range(k)]), {"default": draw(T(s))}


@case("full_like")
def _(draw):
    return (draw(one()).detach(), draw(T(()))), {}


def _reduce_kw(draw, x, keepdims=True):
    kw = {"axis": draw(valid_axes(x.ndim))}
    if keepdims:
        kw["keepdims"] = draw(st.booleans())
    return kw


@case("std")
def _(draw):
    x = draw(T(shp(1, min_side=2)))      # a spread > 0: sqrt is differentiable there
    x = Tensor(x.data + numpy.arange(x.size).reshape(x.shape) * 0.5, requires_grad=True)
    return (x,), _reduce_kw(draw, x)


@case("ptp")
def _(draw):
    x = draw(one(1, unique=True))
    return (x,), _reduce_kw(draw, x)


@case("average")
def _(draw):
    x = draw(one(1))
    ax = draw(st.integers(0, x.ndim - 1))
    w = draw(T((x.shape[ax],), min_value=0.5, max_value=2.0))
    return (x,), {"axis": ax, "weights": w}


@case("nansum")
def _(draw):
    x = draw(one())
    return (x,), _reduce_kw(draw, x)


@case("nanmean")
def _(draw):
    x = draw(one())
    return (x,), _reduce_kw(draw, x)


@st.composite
def _quantile_args(draw, scale):
    x = draw(one(1, unique=True))
    q = draw(st.floats(0, 1) | hnp.arrays(numpy.float64, shp(1, 1), elements=st.floats(0, 1)))
    kw = _reduce_kw(draw, x)
    if kw["axis"] == ():
        kw["axis"] = None
    # stay off the kinks: where q (n - 1) is an integer, the interpolation switches neighbours
    n = numpy.prod([x.shape[a] for a in range(x.ndim)] if kw["axis"] is None else
                   [x.shape[a] for a in numpy.atleast_1d(kw["axis"])])
    pos = numpy.asarray(q) * (n - 1)
    q = numpy.where(numpy.abs(pos - numpy.round(pos)) < 1e-3, numpy.clip(numpy.asarray(q) + 0.01 / n, 0, 1), q)
    return (x, q * scale), kw


CASES["quantile"] = _quantile_args(1.0)
CASES["percentile"] = _quantile_args(100.0)


@case("median")
def _(draw):
    x = draw(one(1, unique=True))
    kw = _reduce_kw(draw, x)
    return (x,), dict(kw, axis=kw["axis"] or None)


@case("diff")
def _(draw):
    x = draw(one(1))
    kw = {"n": draw(st.integers(0, 2)), "axis": draw(st.integers(-x.ndim, x.ndim - 1))}
    if draw(st.booleans()):
        kw["prepend"] = draw(st.floats(-2, 2))
    return (x,), kw


@case("gradient")
def _(draw):
    x = draw(T(shp(1, min_side=3)))
    kw = {"edge_order": draw(st.integers(1, 2))}
    if draw(st.booleans()):
        kw["axis"] = draw(st.integers(0, x.ndim - 1))
        return (x, draw(st.floats(0.5, 2.0))), kw
    return (x,), kw


@st.composite
def _pair(draw, sa, sb):
    return (draw(T(sa)), draw(T(sb))), {}


@case("tensordot")
def _(draw):
    k = draw(st.integers(0, 2))
    common = draw(hnp.array_shapes(min_dims=k, max_dims=k, max_side=SIDE)) if k else ()
    a = draw(T(draw(shp(0, 2)) + common))
    b = draw(T(common + draw(shp(0, 2))))
    return (a, b), {"axes": k}


@case("dot")
def _(draw):
    kind = draw(st.sampled_from(["scalar", "vv", "mv", "mm", "nd"]))
    n, m, p = (draw(st.integers(1, SIDE)) for _ in range(3))
    shapes = {"scalar": ((), (n, m)), "vv": ((n,), (n,)), "mv": ((m, n), (n,)),
              "mm": ((m, n), (n, p)), "nd": ((2, m, n), (p, n, 2))}[kind]
    return (draw(T(shapes[0])), draw(T(shapes[1]))), {}


@case("inner")
def _(draw):
    n = draw(st.integers(1, SIDE))
    return (draw(T(draw(shp(0, 2)) + (n,))), draw(T(draw(shp(0, 1)) + (n,)))), {}


@case("outer")
def _(draw):
    return (draw(one()), draw(one())), {}


@case("vdot")
def _(draw):
    x = draw(one())
    return (x, draw(T((x.size,)))), {}


@case("kron")
def _(draw):
    return (draw(T(shp(0, 2))), draw(T(shp(0, 2)))), {}


@case("cross")
def _(draw):
    sa, sb = draw(hnp.mutually_broadcastable_shapes(num_shapes=2, max_dims=2, max_side=SIDE)).input_shapes
    return (draw(T(sa + (3,))), draw(T(sb + (3,)))), {}


@case("einsum")
def _(draw):
    subs, shapes = draw(st.sampled_from([
        ("ij,jk", [(2, 3), (3, 2)]), ("ii", [(3, 3)]), ("ii->i", [(3, 3)]),
        ("...ij,...jk->...ik", [(2, 1, 2, 3), (3, 3, 2)]), ("i,i,i->", [(3,), (3,), (3,)]),
        ("bij,bjk->bik", [(2, 2, 3), (2, 3, 2)]), ("iij->ji", [(2, 2, 3)])]))
    return (subs, *[draw(T(s)) for s in shapes]), {"optimize": draw(st.booleans())}


@case("linspace")
def _(draw):
    return (draw(T(shp(0, 1))), draw(T(()))), {"num": draw(st.integers(2, 5)),
                                                "endpoint": draw(st.booleans())}


def _tensor_positions(args):
    flat = []
    for i, a in enumerate(args):
        if isinstance(a, Tensor) and a.requires_grad:
            flat.append(("arg", i, None))
        elif isinstance(a, list):
            flat += [("list", i, j) for j, t in enumerate(a) if isinstance(t, Tensor) and t.requires_grad]
    return flat


def _numpy_args(args):
    return [a.data if isinstance(a, Tensor) else
            [t.data if isinstance(t, Tensor) else t for t in a] if isinstance(a, list) else a
            for a in args]


def _as_fn(name, args, kwargs):
    """fn(*tensors) -> a single Tensor (lists/tuples of outputs are joined), plus inputs."""
    where = _tensor_positions(args)
    kw_t = [k for k, v in kwargs.items() if isinstance(v, Tensor) and v.requires_grad]
    inputs = [args[i] if kind == "arg" else args[i][j] for kind, i, j in where] + \
        [kwargs[k] for k in kw_t]

    def fn(*ts):
        a = [list(x) if isinstance(x, list) else x for x in args]
        for (kind, i, j), t in zip(where, ts):
            if kind == "arg":
                a[i] = t
            else:
                a[i][j] = t
        kw = dict(kwargs, **dict(zip(kw_t, ts[len(where):])))
        out = getattr(np, name)(*a, **kw)
        if isinstance(out, (list, tuple)):
            out = np.concatenate([np.ravel(o) for o in out]) if out else Tensor(numpy.zeros(0))
        return out
    return fn, inputs


def _join(out):
    if isinstance(out, (list, tuple)):
        return numpy.concatenate([numpy.ravel(o) for o in out]) if out else numpy.zeros(0)
    return numpy.asarray(out)


@pytest.mark.parametrize("name", sorted(CASES))
def test_composition_matches_numpy_and_its_gradients_check(name):
    @settings(max_examples=8)
    @given(CASES[name])
    def check(ak):
        args, kwargs = ak
        fn, inputs = _as_fn(name, args, kwargs)
        out = fn(*inputs)
        np_kw = {k: (v.data if isinstance(v, Tensor) else v) for k, v in kwargs.items()}
        with numpy.errstate(all="ignore"):
            ref = _join(getattr(numpy, name)(*_numpy_args(args), **np_kw))
        assert out.shape == ref.shape
        numpy.testing.assert_allclose(out.data, ref, rtol=1e-10, atol=1e-12)
        if inputs and out.requires_grad:
            assert ag.gradcheck(fn, *inputs)
            assert ag.gradgradcheck(fn, *inputs)
    check()


def test_every_mapped_composition_has_a_case():
    from autograd.ops.npapi import FRONTS
    from autograd.registry import Primitive
    composed = {n for n, f in FRONTS.items()
                if getattr(f, "numpy_reference", None) is not None and n not in
                ("row_stack", "full", "trace")}
    assert composed - set(CASES) == set()
