"""Every library primitive, grouped by kind; importing this registers them all in ``OPS``."""
from __future__ import annotations

from .elementwise import *  # noqa: F401,F403
from .reduce import *  # noqa: F401,F403
from .shape import *  # noqa: F401,F403
from .linalg import *  # noqa: F401,F403
from .activations import *  # noqa: F401,F403
from .fused import *  # noqa: F401,F403
from .conv import *  # noqa: F401,F403
from . import elementwise, reduce, shape, linalg, activations, fused
from . import conv
from .norm import *  # noqa: F401,F403
from .dropout import *  # noqa: F401,F403
from .embedding import *  # noqa: F401,F403
from .rnn import *  # noqa: F401,F403
from . import norm, rnn
from . import decomp   # linear algebra: exported by autograd.numpy.linalg (ops.norm is a module)
from . import complex as complex_   # real/imag/conj/angle; which primitives take complex values
from .complex import real, imag, conj, conjugate, angle, real_if_close  # noqa: F401
from . import fft      # the transforms: exported by autograd.numpy.fft

import sys as _sys

# Bind the ops namespace for Tensor's operators and methods (by module path: the package
# attribute ``autograd.tensor`` is the ``tensor()`` function).
_sys.modules[__package__.rsplit(".", 1)[0] + ".tensor"].F = _sys.modules[__name__]

from ..registry import OPS as _OPS

# Which inputs' data each vjp reads (``Primitive.reads``): a node saves, and guards against
# in-place change, only those (PyTorch's rule: ``c += c + 1`` on a non-leaf is fine because
# add's vjp reads no input).  Primitives not listed save every tensor input.
for _name, _reads in {
    "add": {0: (), 1: ()}, "subtract": {0: (), 1: ()}, "negative": {0: ()},
    "multiply": {0: (1,), 1: (0,)}, "divide": {0: (1,), 1: (0, 1)},
    "matmul": {0: (1,), 1: (0,)}, "where": {1: (0,), 2: (0,)},
    "sum": {0: ()}, "mean": {0: ()}, "reshape": {0: ()}, "transpose": {0: ()},
    "expand_dims": {0: ()}, "squeeze": {0: ()}, "broadcast_to": {0: ()}, "getitem": {0: ()},
}.items():
    _OPS[_name].reads = _reads
