"""The garbage collector in a process that holds live rooms.

Whatever is alive once the service has started — its modules, the app, its routes and models, about
200 000 objects — lives as long as the process, yet every full collection traverses all of it: 100 to
230 ms on a 2-core machine, during which the event loop stands still. Allocation triggers them, and a
morning bell allocates: one or two full collections landed in every 40-join bell, a fifth of the
server's CPU in it (benchmarks/bell.py, README "Benchmark: the morning bell"). Frozen (``gc.freeze``)
once the service has started, that heap is left out of every later collection; what the rooms allocate
afterwards is collected as before.
"""

from __future__ import annotations

import gc
import logging

log = logging.getLogger("haiqiao.live")
_frozen = False


def freeze_startup_heap() -> bool:
    """Collect once, then freeze what survived; only the first call in a process does anything (a test
    process starts many apps: later ones must not pin the earlier ones' garbage for good)."""
    global _frozen
    if _frozen:
        return False
    gc.collect()
    gc.freeze()
    _frozen = True
    log.info("%s objects alive at start-up frozen out of garbage collection", gc.get_freeze_count())
    return True
