"""Login throttling: failed passwords per login and per address, with exponential back-off.

Pure (the time is passed in) and in memory, per app process. A few failures are free (a teacher mistypes);
after that each further failure doubles the wait before the next try, up to a ceiling. While a key waits,
no password is even checked — the right one included — so guessing costs the attacker time, not us CPU.
A success clears the login's count. The per-address limit is higher than the per-login one: a school's
forty classroom terminals may share one NAT address, and only failures count.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field

FREE_PER_LOGIN = 5
FREE_PER_ADDRESS = 30
FIRST_WAIT = 2.0  # seconds after the first failure past the free ones
MAX_WAIT = 15 * 60.0
FORGET_AFTER = 3600.0  # a key quiet this long starts afresh


@dataclass
class _Record:
    failures: int = 0
    last: float = 0.0
    blocked_until: float = 0.0


@dataclass
class Throttle:
    free_per_login: int = FREE_PER_LOGIN
    free_per_address: int = FREE_PER_ADDRESS
    records: dict[tuple[str, str], _Record] = field(default_factory=dict)
    clock: Callable[[], float] = time.monotonic  # what the service passes in as ``now``

    def _keys(self, login: str, address: str) -> list[tuple[str, str]]:
        return [("login", login.strip().lower()), ("address", address)]

    def wait(self, login: str, address: str, now: float) -> float:
        """Seconds before this login may be tried from this address (0: go ahead)."""
        waits = [0.0]
        for key in self._keys(login, address):
            record = self.records.get(key)
            if record is not None:
                waits.append(record.blocked_until - now)
        return max(waits)

    def failed(self, login: str, address: str, now: float) -> float:
        """Count a wrong password; returns the wait it imposes."""
        imposed = 0.0
        for key in self._keys(login, address):
            record = self.records.get(key)
            if record is None or now - record.last > FORGET_AFTER:
                record = self.records[key] = _Record()
            record.failures += 1
            record.last = now
            free = self.free_per_login if key[0] == "login" else self.free_per_address
            if record.failures > free:
                wait = min(FIRST_WAIT * 2 ** (record.failures - free - 1), MAX_WAIT)
                record.blocked_until = now + wait
                imposed = max(imposed, wait)
        self._forget_old(now)
        return imposed

    def succeeded(self, login: str) -> None:
        self.records.pop(("login", login.strip().lower()), None)

    def _forget_old(self, now: float) -> None:
        if len(self.records) > 10_000:  # bounded memory under a spray of made-up logins
            for key in [k for k, r in self.records.items() if now - r.last > FORGET_AFTER]:
                del self.records[key]
