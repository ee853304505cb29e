"""Hypothesis profiles, picked by $HYPOTHESIS_PROFILE (default: "default")."""

import os

from hypothesis import HealthCheck, settings

# No deadlines or speed health checks: CI machines are shared and slow at
# times, and a timing failure here would say nothing about the core.
settings.register_profile("default", max_examples=300, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("sanitizer", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
# make test-fast: the same properties, fewer examples (the full suite
# runs the default).
settings.register_profile("fast", max_examples=100, deadline=None,
                          suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
