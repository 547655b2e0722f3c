"""Which media worker takes a room: the least loaded, weighted by the streams a room is expected to carry.

Pure: the loads are passed in. A room's weight is what its media costs a worker, which grows with the
streams forwarded (audio and video per publisher per subscriber), not with the number of rooms: a
同步课堂 with six receiving classrooms weighs far more than one with a single receiver.
"""

from __future__ import annotations

from collections.abc import Mapping

from scheduling.enums import SessionKind

MEDIA_PER_PUBLISHER = 2  # one audio and one video track


def expected_streams(kind: SessionKind, receivers: int, participants: int = 0) -> int:
    """Forwarded streams when everyone expected is connected.

    A sync class: the host sends to every receiving classroom and receives each of them (a floor holder
    adds a little; not counted). 网络教研: everyone receives everyone. One observer is allowed for.
    """
    if kind is SessionKind.research:
        seats = max(participants, receivers + 1, 2)
        pairs = seats * (seats - 1)
    else:
        seats = receivers + 1
        pairs = 2 * receivers
    observer = seats  # a researcher patrolling receives every seat
    return MEDIA_PER_PUBLISHER * (pairs + observer)


def choose_worker(loads: Mapping[str, int]) -> str | None:
    """The least loaded worker (in expected streams); ties go to the first name, so placement is
    repeatable. None when no worker is alive."""
    if not loads:
        return None
    return min(sorted(loads), key=lambda name: loads[name])
