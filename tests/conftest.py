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
