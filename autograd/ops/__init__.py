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

import sys as _sys

# Bind the ops namespace for Tensor's operators and methods (by module path: the package
# attribute ``autograd.tensor`` is the ``tensor()`` function).
_sys.modules[__package__.rsplit(".", 1)[0] + ".tensor"].F = _sys.modules[__name__]
