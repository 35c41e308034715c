"""Settings shared by the adversarial suites (issue 8), which drive the app only through HTTP.

- ``test_fuzz_bodies``: property-based bodies for every action, signed in and out.
- ``test_extreme_input``: each extreme value on each member it applies to.
- ``test_routes``: content types, methods and subroutes.
- ``test_ownership`` and ``test_subscription_terms``: one customer attacking another, and
  the browser choosing its own billing terms.
- ``test_upstream_answers``: Flowglad answers the server cannot use; writes never doubled.
- ``test_concurrency``: 50 customers on 32 threads through a real server.
- ``test_secrets``: a live key under every fault.

The fuzzing runs ``FLOWGLAD_FUZZ_EXAMPLES`` examples per action (200 by default),
derandomized so CI runs the same bodies every time; set ``FLOWGLAD_FUZZ_RANDOM=1`` to
explore new ones locally.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

settings.register_profile(
    "flowglad-security",
    max_examples=int(os.environ.get("FLOWGLAD_FUZZ_EXAMPLES", "200")),
    derandomize=not os.environ.get("FLOWGLAD_FUZZ_RANDOM"),
    database=None,
    deadline=None,
    # Shrinking a failure costs hundreds of requests; the failing body is printed unshrunk.
    phases=(Phase.explicit, Phase.generate),
    suppress_health_check=(
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
        HealthCheck.function_scoped_fixture,
    ),
)
