"""Per-user limits over a sliding window: how much one user may do per minute or per hour,
and how long to wait when over (HTTP 429 with ``Retry-After``)."""

from __future__ import annotations

import math
import threading
import time
from collections import defaultdict, deque

LOGIN_FAILURES = 5
LOGIN_WINDOW = 60.0
"""Failed logins one address may make in this many seconds (the page's and the API's)."""


class Quota:
    """At most ``limit`` units per ``seconds`` per key (a user, or an address without
    accounts); ``limit <= 0``: no limit."""

    def __init__(self, limit: float, seconds: float, what: str):
        self.limit, self.seconds, self.what = limit, seconds, what
        self._spent: dict[str, deque] = defaultdict(deque)  # (time, amount), oldest first
        self._lock = threading.Lock()

    def take(self, key: str, amount: float = 1) -> int:
        """Spend ``amount`` for ``key`` and return 0, or spend nothing and return the whole
        seconds to wait until it fits (``amount`` over the limit itself: a full window)."""
        return self._spend(key, amount, spend=True)

    def wait(self, key: str, amount: float = 1) -> int:
        """The whole seconds until ``amount`` would fit for ``key`` (0: now); spends nothing."""
        return self._spend(key, amount, spend=False)

    def _spend(self, key: str, amount: float, spend: bool) -> int:
        if self.limit <= 0:
            return 0
        now = time.monotonic()
        with self._lock:
            spent = self._spent[key]
            while spent and spent[0][0] <= now - self.seconds:
                spent.popleft()
            used = sum(a for _, a in spent)
            if used + amount <= self.limit:
                if spend:
                    spent.append((now, amount))
                return 0
            if amount > self.limit:
                return math.ceil(self.seconds)
            freed = used
            for at, spent_amount in spent:  # wait until enough has left the window
                freed -= spent_amount
                if freed + amount <= self.limit:
                    return max(1, math.ceil(at + self.seconds - now))
            return math.ceil(self.seconds)

    def message(self, wait: int) -> str:
        """What the user is told when over."""
        return f"over the limit of {self.what}; try again in {wait} s"
