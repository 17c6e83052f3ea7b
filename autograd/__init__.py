"""autograd: reverse-mode automatic differentiation on numpy arrays.

>>> import autograd as ag
>>> x = ag.Tensor([1.0, 2.0, 3.0], requires_grad=True)
>>> y = (x * x).sum()
>>> y.backward()
>>> x.grad
array([2., 4., 6.])

Public names: Tensor, Value, no_grad, enable_grad, grad, value_and_grad, hvp, gradcheck,
gradgradcheck, detect_anomaly, primitive, OPS, and one function per primitive
(``autograd.exp``, ``autograd.matmul``, ...).  Numba is imported only when a kernel first
runs, never by ``import autograd``.
"""
from __future__ import annotations

from .errors import (AutogradError, ShapeError, DTypeError, AxisError, IndexOutOfRangeError,
                     GraphError, InPlaceError, GradcheckError, AnomalyError,
                     InvalidValueError, ArgumentTypeError)
from .errors import AllocationError
from .graph import no_grad, enable_grad, set_grad_enabled, is_grad_enabled, detect_anomaly
from .tensor import Tensor, tensor
from .value import Value
from .registry import OPS, Primitive, primitive, at_points
from .ops import (add, subtract, multiply, divide, negative, power, exp, log, sqrt, abs, sin,
                  cos, tanh, sigmoid, relu, leaky_relu, clip, maximum, minimum, where, square,
                  sum, mean, max, min, var, reshape, transpose, expand_dims, squeeze,
                  broadcast_to, getitem, scatter_add, concatenate, stack, astype, identity,
                  matmul, softmax, log_softmax, logsumexp, gelu, dense,
                  softmax_cross_entropy, sigmoid_binary_cross_entropy)
from .ops import (conv1d, conv2d, conv2d_transpose, conv2d_kernel_grad, max_pool1d,
                  max_pool2d, avg_pool1d, avg_pool2d, global_avg_pool1d, global_avg_pool2d,
                  global_max_pool1d, global_max_pool2d)
from .ops import (dropout, batch_norm, layer_norm, embedding, lstm, gru, simple_rnn,
                  lstm_cell, gru_cell, rnn_cell)
from .functional import grad, value_and_grad, hvp
from .gradcheck import gradcheck, gradgradcheck
from .viz import to_dot, draw

__version__ = "0.1.0"

__all__ = [
    "Tensor", "Value", "tensor", "OPS", "Primitive", "primitive", "at_points",
    "no_grad", "enable_grad", "set_grad_enabled", "is_grad_enabled", "detect_anomaly",
    "grad", "value_and_grad", "hvp", "gradcheck", "gradgradcheck", "to_dot", "draw",
    "AutogradError", "ShapeError", "DTypeError", "AxisError", "IndexOutOfRangeError",
    "GraphError", "InPlaceError", "GradcheckError", "AnomalyError",
    "add", "subtract", "multiply", "divide", "negative", "power", "exp", "log", "sqrt", "abs",
    "sin", "cos", "tanh", "sigmoid", "relu", "leaky_relu", "clip", "maximum", "minimum",
    "where", "square", "sum", "mean", "max", "min", "var", "reshape", "transpose",
    "expand_dims", "squeeze", "broadcast_to", "getitem", "scatter_add", "concatenate", "stack",
    "astype", "identity", "matmul", "softmax", "log_softmax", "logsumexp", "gelu",
    "dense", "softmax_cross_entropy", "sigmoid_binary_cross_entropy", "InvalidValueError",
    "ArgumentTypeError", "AllocationError",
    "conv1d", "conv2d", "conv2d_transpose", "conv2d_kernel_grad", "max_pool1d", "max_pool2d",
    "avg_pool1d", "avg_pool2d", "global_avg_pool1d", "global_avg_pool2d", "global_max_pool1d",
    "global_max_pool2d",
    "dropout", "batch_norm", "layer_norm", "embedding", "lstm", "gru", "simple_rnn",
    "lstm_cell", "gru_cell", "rnn_cell",
]

# HIPS-autograd / JAX transforms and the errors HIPS users catch (autograd/transforms.py)
from .errors import OutputError, NoVJPError, UnsupportedFunctionError, NotSupportedError
from .transforms import (grad_and_aux, elementwise_grad, deriv, jacobian, hessian,
                         hessian_tensor_product, hessian_vector_product, make_hvp, make_vjp,
                         make_jvp, make_ggnvp, tensor_jacobian_product,
                         vector_jacobian_product, multigrad_dict, checkpoint,
                         holomorphic_grad, jvp, vjp, jacfwd, jacrev)

__all__ += [
    "OutputError", "NoVJPError", "UnsupportedFunctionError", "NotSupportedError",
    "grad_and_aux", "elementwise_grad", "deriv", "jacobian", "hessian",
    "hessian_tensor_product", "hessian_vector_product", "make_hvp", "make_vjp", "make_jvp",
    "make_ggnvp", "tensor_jacobian_product", "vector_jacobian_product", "multigrad_dict",
    "checkpoint", "holomorphic_grad", "jvp", "vjp", "jacfwd", "jacrev",
]

# HIPS exports its container helpers at the top level (not in __all__: a star import must
# not shadow the builtins)
from .builtins import list, tuple, dict, isinstance, type  # noqa: E402,A004

# autograd.jit's error and warning (the compiler itself is imported on first use)
from .errors import ConcretizationError, JitFallbackWarning  # noqa: E402

__all__ += ["ConcretizationError", "JitFallbackWarning", "jit"]


def __getattr__(name: str):
    """``autograd.jit`` (the compiler package, callable as the ``jit`` function) is imported
    on first use, so ``import autograd`` stays as fast as before."""
    if name == "jit":
        import importlib
        return importlib.import_module(".jit", __name__)
    raise AttributeError(f"module 'autograd' has no attribute {name!r}")
