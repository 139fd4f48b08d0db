"""The sampling rule, shared by the packet planner and the frame picker so both agree exactly.

Sample ``k`` is due at ``t_k = k / fps``. It is served by the first frame whose time ``t``
reaches ``t_k - eps`` (``eps``: half a source frame, absorbing timestamp rounding), or by a
*keyframe* that reaches ``t_k - period / 2``: a keyframe within half a sampling period of the
grid is as good a sample, and it costs one packet to decode instead of a run of them. Frames keep
their true timestamps, so citations stay exact. After a frame serves ``t_k``, the next sample due
is ``t_k + period``. Samples due at or after ``end`` (the declared duration) are never served
early by a keyframe.
"""

from __future__ import annotations

import math


class SampleClock:
    def __init__(self, fps: float, eps: float, end: float = math.inf) -> None:
        self.period = 1.0 / fps
        self.end = end
        self.eps = eps
        self.key_slack = max(eps, self.period / 2)
        self.next_t = 0.0

    def wants(self, t: float, key: bool = False) -> bool:
        """True if the frame at ``t`` serves the next due sample; advances the clock if so."""
        slack = self.key_slack if key and self.next_t < self.end else self.eps
        if t + slack < self.next_t:
            return False
        served = math.floor((t + slack) / self.period + 1e-9) * self.period
        self.next_t = max(served, self.next_t) + self.period
        return True
