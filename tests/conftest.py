"""Hypothesis profiles: ``dev`` (default, more examples) and ``ci`` (bounded, no deadline,
derandomized so CI is reproducible).  Choose with AUTOGRAD_HYPOTHESIS_PROFILE=ci|dev."""
import os

from hypothesis import HealthCheck, settings

settings.register_profile("dev", max_examples=60, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("ci", max_examples=25, deadline=None, derandomize=True,
                          suppress_health_check=[HealthCheck.too_slow], print_blob=True)
settings.load_profile(os.environ.get("AUTOGRAD_HYPOTHESIS_PROFILE", "dev"))
