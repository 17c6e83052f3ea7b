"""Benchmarks: one script per question, each printing a markdown table.

Run from the repository root: ``python -m benchmarks.kernels``, ``python -m benchmarks.mlp_step``.
"""
