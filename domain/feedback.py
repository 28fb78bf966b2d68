"""What a candidate is shown of an answer under the test's feedback policy.

A test's items are only worth something while they stay secret, so a test can keep them from candidates:
under `full` a candidate sees whether each answer was right, the key and the explanation; under
`correctness` only whether it was right; under `none` only that it was stored. Every view a candidate is
given of their answers (the WebSocket frames, the attempt and report routes, the report page) goes through
these rules; staff always see everything.
"""

from __future__ import annotations

from domain.enums import FeedbackPolicy


def shows_correctness(policy: FeedbackPolicy) -> bool:
    """Whether the candidate may learn right or wrong per answer (and so a running score)."""
    return policy is not FeedbackPolicy.NONE


def shows_key(policy: FeedbackPolicy) -> bool:
    """Whether the candidate may see the key, the explanation and which bank item was shown."""
    return policy is FeedbackPolicy.FULL
