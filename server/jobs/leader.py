"""One scheduler in a cluster: the app process holding a Redis lock with expiry runs the jobs.

The lock is renewed every few seconds; a leader that dies stops renewing, its lock expires, and another
app process takes it at its next try, so the lifecycle and quota jobs run once per tick and are never
left unrun for long (at most ``LOCK_TTL + TRY_EVERY`` seconds). A leader that loses the lock (Redis
restarted, a long pause) stops its scheduler before anybody else could start one.
"""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable

from redis.asyncio import Redis

log = logging.getLogger("haiqiao.jobs")
LOCK_TTL = 15
TRY_EVERY = 5.0

_RENEW = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('expire', KEYS[1], ARGV[2]) end return 0"
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0"


class Leadership:
    def __init__(self, redis: Redis, key: str, on_gain: Callable[[], None], on_loss: Callable[[], None]) -> None:
        self.redis = redis
        self.key = key
        self.token = uuid.uuid4().hex
        self.on_gain = on_gain
        self.on_loss = on_loss
        self.leading = False

    async def step(self) -> bool:
        """Take or keep the lock once; returns whether this process leads now."""
        if self.leading:
            kept = await self.redis.eval(_RENEW, 1, self.key, self.token, LOCK_TTL)
            if not kept:
                self.leading = False
                log.warning("lost the job lock: this process stops running the jobs")
                self.on_loss()
        elif await self.redis.set(self.key, self.token, nx=True, ex=LOCK_TTL):
            self.leading = True
            log.warning("took the job lock: this process runs the jobs")
            self.on_gain()
        return self.leading

    async def run(self) -> None:
        while True:
            try:
                await self.step()
            except asyncio.CancelledError:
                raise
            except Exception:  # Redis away: a leader stops (another may be taking over), others wait
                log.exception("job lock: Redis did not answer")
                if self.leading:
                    self.leading = False
                    self.on_loss()
            await asyncio.sleep(TRY_EVERY)

    async def release(self) -> None:
        if self.leading:
            self.leading = False
            self.on_loss()
        await self.redis.eval(_RELEASE, 1, self.key, self.token)
