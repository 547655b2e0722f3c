"""Whether a subscriber's link carries full cameras or only thumbnails: a plain state machine over the
subscriber's bandwidth estimates (its REMB) and the time, with hysteresis.

A receiver's estimate rises slowly (a few per cent a second, and never far above what it receives) and
falls at once when its link is overused or loses packets. So a fall is what counts: a subscriber whose
estimate has *fallen* (under ``fall`` × the highest since the last switch) and stays for ``settle``
seconds under both ``down`` and what it is being sent (``need``: a flat picture needs little, and a low
estimate then says nothing about the link; under ``least_need`` thumbnails would save nothing) is
*constrained*: its cameras come as thumbnails (a screen
share stays full — it is what the pupils read). On thumbnails its estimate cannot show that the link recovered, so after
``retry`` seconds it tries the full layer again; a try that falls back within ``settle`` × 3 doubles
the next wait (up to ``longest_retry``); a try that holds resets it.
"""

from __future__ import annotations

from dataclasses import dataclass

FULL_CAMERA_FLOOR = 450_000  # bit/s: under this a 640×360 camera is worse than a sharp thumbnail
LEAST_NEED = 300_000  # sent less than about two thumbnails' worth, thumbnails would save nothing
FALL = 0.85
SETTLE = 2.0
FIRST_RETRY = 10.0
LONGEST_RETRY = 80.0


@dataclass
class LayerGovernor:
    down: int = FULL_CAMERA_FLOOR
    least_need: float = LEAST_NEED
    fall: float = FALL
    settle: float = SETTLE
    first_retry: float = FIRST_RETRY
    longest_retry: float = LONGEST_RETRY
    constrained: bool = False
    retry: float = FIRST_RETRY
    _peak: int = 0
    _fell: bool = False
    _low_since: float | None = None
    _changed_at: float | None = None

    def update(self, estimate: int | None, now: float, need: float = float("inf")) -> bool:
        """Feed the latest estimate (None: none yet) and the bit rate of the video being sent to the
        subscriber (0: not known this time) at ``now`` (seconds); True when the state changed."""
        if self.constrained:
            if self._changed_at is not None and now - self._changed_at >= self.retry:
                self._switch(False, now, estimate)
                return True
            return False
        if estimate is None:
            return False
        self._peak = max(self._peak, estimate)
        if estimate < self.fall * self._peak:
            self._fell = True
        if estimate >= self.down or estimate >= self.fall * need or need < self.least_need:
            self._low_since, self._fell = None, False
            if self._changed_at is not None and now - self._changed_at >= 3 * self.settle:
                self.retry = self.first_retry  # a try that held
            return False
        if self._low_since is None:
            self._low_since = now
        if not self._fell or now - self._low_since < self.settle:
            return False
        if self._changed_at is not None and now - self._changed_at < 3 * self.settle:
            self.retry = min(self.retry * 2, self.longest_retry)  # the try failed
        self._switch(True, now, estimate)
        return True

    def _switch(self, constrained: bool, now: float, estimate: int | None) -> None:
        self.constrained, self._changed_at = constrained, now
        self._peak, self._fell, self._low_since = estimate or 0, False, None
