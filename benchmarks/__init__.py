"""Benchmarks: this library beside numpy by hand and its peers, one Markdown table per question.

Run from the repository root.  ``python -m benchmarks`` runs every workload (a few minutes)
under one header; each also runs alone:

- ``python -m benchmarks.mlp_step``: one MLP training step, four configs, all peers
- ``python -m benchmarks.scalar``: micrograd's demo with ``autograd.Value`` and with tensors
- ``python -m benchmarks.digits``: time to 97% held-out accuracy on the shipped digits
- ``python -m benchmarks.cold_start``: fresh process to the end of the first step
- ``python -m benchmarks.kernels``: each numba kernel against its numpy twin

Common options: ``--threads N`` (default 2, for everyone), ``--quick``, ``--repeats N``,
``--json FILE``, ``--plot FILE.png``.  Peers (PyTorch, JAX, MyGrad, tinygrad, micrograd)
are optional and skipped with a line when absent.  Nothing here imports numpy at module
level, so the thread environment is set before BLAS loads.
"""
