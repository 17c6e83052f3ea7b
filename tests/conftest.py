"""Hypothesis profiles: ``dev`` (default, more examples, random) and ``ci`` (bounded, no
deadline, derandomized, no example database) so CI cannot fail by chance: every ``ci`` run
draws the same examples, and no failure stored by an earlier run is replayed.  Choose with
AUTOGRAD_HYPOTHESIS_PROFILE=ci|dev (``.ci/run`` exports ci).

``tests/flake_scan.py`` runs the suite under many seeds to find tests that depend on chance
(``--hypothesis-seed``, the dev profile without a database)."""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          database=None, suppress_health_check=[HealthCheck.too_slow],
                          print_blob=True)
settings.register_profile("scan", max_examples=60, deadline=None, database=None,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile(os.environ.get("AUTOGRAD_HYPOTHESIS_PROFILE", "dev"))


# ----------------------------------------------------------------------------- generated code
# A jit program's generated numba code costs 5-45 s to build the first time on a machine whose
# code cache is empty (a fresh clone on a new machine, a clean CI runner); later runs load it
# from the cache in milliseconds.  So that the suite's time does not depend on that cache,
# tests of jit *semantics* (equality to eager, retracing, fallbacks, errors, every optimizer)
# run on the numpy replay (``autograd.jit.codegen.disabled``), and the tests whose subject is
# the generated code carry the ``codegen`` marker (tests/test_jit_codegen.py,
# tests/test_jit_whole_step.py, and single tests elsewhere) and build it.  Subprocesses a test
# starts (benchmark smoke tests, mpiexec workers) are not affected.
# AUTOGRAD_TEST_CODEGEN=all builds generated code in every test (the thorough, slow run).
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _jit_codegen(request):
    if (request.node.get_closest_marker("codegen") is not None
            or os.environ.get("AUTOGRAD_TEST_CODEGEN", "") == "all"):
        yield
        return
    from autograd.jit import codegen
    with codegen.disabled():
        yield
