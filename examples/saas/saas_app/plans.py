"""Slugs from the pricing model that the app's code refers to.

They match the sandbox's default pricing model. On real Flowglad, give your pricing
model the same slugs or change them here.
"""

from __future__ import annotations

#: The toggle feature of the paid plan that unlocks the analytics page.
PRO_FEATURE = "advanced_analytics"
#: The usage meter that each analysis run draws on.
USAGE_METER = "api_calls"
#: The usage meter the report pack's credits are on; each premium report uses one.
REPORT_METER = "premium_reports"
