"""The sampling rule, shared by the packet planner and the frame picker so both agree exactly.

A sample time ``t_k = k / fps`` is served by the first frame whose time is at or after
``t_k - eps`` (``eps``: half a source frame, to absorb timestamp rounding). After a frame at
``t`` is taken, the next sample time is the first grid point after ``t + eps``.
"""

from __future__ import annotations

import math


class SampleClock:
    def __init__(self, fps: float, eps: float) -> None:
        self.period = 1.0 / fps
        self.eps = eps
        self.next_t = 0.0

    def wants(self, t: float) -> bool:
        """True if the frame at ``t`` serves the next sample time; advances the clock if so."""
        if t + self.eps < self.next_t:
            return False
        self.next_t = (math.floor((t + self.eps) / self.period) + 1) * self.period
        return True
