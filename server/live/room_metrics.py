"""What the rooms this process holds are doing, read at each scrape of ``/metrics``.

A custom collector: rooms, seats, forwarding, recorders and the database pool are read from the live
objects when Prometheus asks, so nothing on the media path counts anything for metrics' sake.
``collect()`` runs on the event loop (the ``/metrics`` route renders synchronously inside it), so it sees
the rooms between two steps of the loop, never half-changed.
"""

from __future__ import annotations

import logging
import weakref
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from media.forwarding import Downstream, Fanout
from media.live_room import LiveRoom
from media.room_recording import RoomRecorders
from media.signaling import SeatState
from scheduling.enums import LiveRole

log = logging.getLogger("haiqiao.metrics")


def pool_connections(pool: Any) -> dict[str, int]:
    """A SQLAlchemy pool's connections by state; a pool without these methods (SQLite's StaticPool or
    NullPool) reports what it has."""
    out: dict[str, int] = {}
    for state, method in (("size", "size"), ("checked_out", "checkedout"), ("overflow", "overflow")):
        read = getattr(pool, method, None)
        if read is None:
            continue
        try:
            # A QueuePool's overflow() starts at minus its size (room left before any overflow): 0 then.
            out[state] = max(int(read()), 0)
        except Exception:  # a pool class that has the name but not the meaning: leave it out
            continue
    return out


class LiveCollector(Collector):
    """Forwarded packets and bytes, drops and keyframe requests are counters, and a counter must never
    go backwards, yet what they are read from does: a subscriber's ``Downstream`` (its packets and
    bytes) disappears when it unsubscribes, a publication's ``Fanout`` when its seat leaves, a room when
    its class ends. So each scrape adds, per object still alive, what it did since the previous scrape
    (its last reading is remembered in a weak map, which forgets the object with it) to this process's
    running totals. That is the simplest way that stays monotonic without touching the media path; the
    price is that what a subscriber forwarded between the last scrape and its leaving is not counted,
    which at a 15 s scrape interval is a few seconds of one connection's traffic."""

    def __init__(self, rooms: Callable[[], Iterable[LiveRoom]], pool: Callable[[], Any] | None = None) -> None:
        self._rooms = rooms
        self._pool = pool
        self.totals = {"packets": 0, "bytes": 0, "dropped": 0, "keyframe_requests": 0, "recording_failures": 0}
        self._downstreams: weakref.WeakKeyDictionary[Downstream, tuple[int, int, int]] = weakref.WeakKeyDictionary()
        self._fanouts: weakref.WeakKeyDictionary[Fanout, int] = weakref.WeakKeyDictionary()
        self._failed: weakref.WeakSet[RoomRecorders] = weakref.WeakSet()

    def describe(self) -> Iterable[Metric]:
        return []  # no reading at registration: the rooms are read at each scrape

    def _tally(self, rooms: list[LiveRoom]) -> None:
        for room in rooms:
            for conn in list(room.media.values()):
                for pub in list(conn.publications):
                    if isinstance(pub, Fanout):  # a transcoded publication (a benchmark's baseline) counts nothing
                        self._tally_fanout(pub)
            recorders = room.recorders
            if recorders is not None and recorders._failed and recorders not in self._failed:
                self._failed.add(recorders)  # a room's recording stops at its first failure: one per room
                self.totals["recording_failures"] += 1

    def _tally_fanout(self, fanout: Fanout) -> None:
        requests = fanout.keyframe_requests
        self.totals["keyframe_requests"] += max(requests - self._fanouts.get(fanout, 0), 0)
        self._fanouts[fanout] = requests
        for down in list(fanout._subscribers):
            now = (down.forwarded, down.forwarded_bytes, down.dropped)
            before = self._downstreams.get(down, (0, 0, 0))
            self.totals["packets"] += max(now[0] - before[0], 0)
            self.totals["bytes"] += max(now[1] - before[1], 0)
            self.totals["dropped"] += max(now[2] - before[2], 0)
            self._downstreams[down] = now

    def collect(self) -> Iterator[Metric]:
        try:
            rooms = list(self._rooms())
            self._tally(rooms)
        except Exception:  # a scrape must answer even when a room is caught mid-change
            log.exception("room metrics not read")
            rooms = []
        yield GaugeMetricFamily("haiqiao_rooms", "Live rooms held by this process", value=len(rooms))
        seats = GaugeMetricFamily("haiqiao_seats", "Connected seats in this process's rooms, by role", labels=["role"])
        by_role = dict.fromkeys(LiveRole, 0)
        active = 0
        for room in rooms:
            for seat in room.core.seats.values():
                if seat.state is SeatState.connected:
                    by_role[seat.role] += 1
            active += room.recorders.active if room.recorders is not None else 0
        for role, count in by_role.items():
            seats.add_metric([role.value], count)
        yield seats
        yield CounterMetricFamily(
            "haiqiao_forwarded_packets",
            "RTP packets forwarded to subscribers by this process",
            value=self.totals["packets"],
        )
        yield CounterMetricFamily(
            "haiqiao_forwarded_bytes", "RTP bytes forwarded to subscribers by this process", value=self.totals["bytes"]
        )
        yield CounterMetricFamily(
            "haiqiao_dropped_packets",
            "Packets dropped for subscribers that could not keep up (or waiting for a key frame)",
            value=self.totals["dropped"],
        )
        yield CounterMetricFamily(
            "haiqiao_keyframe_requests",
            "Key frames asked of publishers (PLI) by this process",
            value=self.totals["keyframe_requests"],
        )
        yield GaugeMetricFamily("haiqiao_recordings_active", "Tracks being recorded now", value=active)
        yield CounterMetricFamily(
            "haiqiao_recording_failures",
            "Rooms whose recording stopped on a failure (disk full, write error)",
            value=self.totals["recording_failures"],
        )
        pool = GaugeMetricFamily(
            "haiqiao_db_pool_connections",
            "The database pool's connections: size, checked_out, overflow",
            labels=["state"],
        )
        try:
            counts = pool_connections(self._pool()) if self._pool is not None else {}
        except Exception:
            counts = {}
        for state, count in counts.items():
            pool.add_metric([state], count)
        yield pool
