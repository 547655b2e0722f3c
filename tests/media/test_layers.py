"""The full-or-thumbnail decision over a subscriber's estimates: down on a fall, back by trying."""

from __future__ import annotations

from media.layers import LayerGovernor


def feed(governor: LayerGovernor, estimates: list[int | None], start: float = 0.0) -> list[tuple[float, bool]]:
    """One estimate a second; the instants at which the state changed, and to what."""
    changes = []
    for n, estimate in enumerate(estimates):
        if governor.update(estimate, start + n):
            changes.append((start + n, governor.constrained))
    return changes


def test_a_link_that_falls_and_stays_low_moves_to_thumbnails_after_settling() -> None:
    governor = LayerGovernor()
    changes = feed(governor, [300_000, 600_000, 900_000, 1_000_000, 250_000, 240_000, 260_000, 250_000])
    assert changes == [(6.0, True)]


def test_a_short_dip_and_a_slow_start_change_nothing() -> None:
    governor = LayerGovernor()
    slow_start = [100_000, 130_000, 170_000, 220_000, 280_000, 350_000, 430_000, 520_000]  # never falls
    dip = [1_000_000, 300_000, 1_000_000, 1_100_000]
    assert feed(governor, slow_start + dip) == []


def test_it_tries_full_again_and_waits_twice_as_long_after_a_failed_try() -> None:
    governor = LayerGovernor()
    low = [1_000_000, 200_000, 200_000, 200_000]
    (down,) = feed(governor, low)
    assert down == (3.0, True)
    # Constrained: the estimate says nothing; after the retry it goes back to full …
    assert feed(governor, [None] * 10, start=4.0) == [(13.0, False)]
    # … and the link is still bad: the estimate falls again at once, so back to thumbnails …
    assert feed(governor, [400_000, 200_000, 190_000, 180_000], start=14.0) == [(16.0, True)]
    assert governor.retry == 20.0
    # … and the next try waits twice as long.
    assert feed(governor, [None] * 20, start=17.0) == [(36.0, False)]


def test_a_try_that_holds_resets_the_wait() -> None:
    governor = LayerGovernor(retry=40.0)
    governor.update(1_000_000, 0)
    feed(governor, [200_000, 200_000, 200_000], start=1.0)
    assert governor.constrained
    assert feed(governor, [None] * 41, start=4.0)[-1] == (43.0, False)
    feed(governor, [600_000, 800_000, 900_000, 1_000_000, 1_000_000, 1_000_000, 1_000_000], start=44.0)
    assert (governor.constrained, governor.retry) == (False, governor.first_retry)


def test_a_low_estimate_for_a_picture_that_needs_little_changes_nothing() -> None:
    """A flat picture at 90 kbit/s: the receiver's estimate falls to 150 kbit/s, which is below the
    full-camera floor but carries what it is sent — no reason for thumbnails."""
    governor = LayerGovernor()
    for n, estimate in enumerate([400_000, 300_000, 200_000, 150_000, 150_000, 150_000, 150_000]):
        assert not governor.update(estimate, float(n), need=90_000)
    assert governor.update(150_000, 7.0, need=600_000) is False  # now it falls short: settling …
    assert governor.update(150_000, 9.0, need=600_000) is True


def test_a_link_sent_little_stays_on_full_cameras_whatever_its_estimate() -> None:
    governor = LayerGovernor()
    estimates = [200_000, 100_000, 40_000, 30_000, 30_000, 30_000]
    assert not any(governor.update(e, float(n), need=120_000) for n, e in enumerate(estimates))
