"""Rate limits, pure: the caller passes the time (monotonic seconds).

- ``FailureLimiter``: failed credentials per client address in a sliding window; after the
  allowance the address is refused until enough failures leave the window, whatever
  it sends, so guessing tokens costs the window, not a retry.
- ``RequestLimiter``: a token bucket per principal: a steady rate with a burst.

Both forget idle keys, so memory stays bounded by the keys active within a window.
"""

from __future__ import annotations

from collections import deque
from typing import Final

_SWEEP_EVERY: Final = 1024


class FailureLimiter:
    def __init__(self, allowed: int, window_s: float) -> None:
        self.allowed = allowed
        self.window_s = window_s
        self._failures: dict[str, deque[float]] = {}
        self._since_sweep = 0

    def record(self, address: str, now: float) -> None:
        failures = self._failures.setdefault(address, deque())
        failures.append(now)
        while len(failures) > self.allowed:
            failures.popleft()
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep(now)

    def retry_after(self, address: str, now: float) -> float | None:
        """Seconds until ``address`` may try again, or None if it may now."""
        failures = self._failures.get(address)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window_s:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        if len(failures) < self.allowed:
            return None
        return failures[-self.allowed] + self.window_s - now

    def _sweep(self, now: float) -> None:
        self._since_sweep = 0
        horizon = now - self.window_s
        stale = [key for key, times in self._failures.items() if times[-1] <= horizon]
        for key in stale:
            del self._failures[key]


class RequestLimiter:
    def __init__(self, rate_per_s: float, burst: int) -> None:
        self.rate = rate_per_s
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._since_sweep = 0

    def take(self, key: str, now: float) -> float | None:
        """Spend one request of ``key``'s allowance; None if allowed, else seconds to wait."""
        level, at = self._buckets.get(key, (self.burst, now))
        level = min(self.burst, level + (now - at) * self.rate)
        if level < 1.0:
            self._buckets[key] = (level, now)
            return (1.0 - level) / self.rate
        self._buckets[key] = (level - 1.0, now)
        self._since_sweep += 1
        if self._since_sweep >= _SWEEP_EVERY:
            self._sweep(now)
        return None

    def _sweep(self, now: float) -> None:
        self._since_sweep = 0
        full_after = self.burst / self.rate
        stale = [key for key, (_, at) in self._buckets.items() if now - at >= full_after]
        for key in stale:
            del self._buckets[key]
