"""autograd.jit: the compiler (see scalar.py for functions of Values)."""
