"""HAIQIAO_MEDIA_UDP_PORTS: a range the firewall can open, refused in words when it is not one."""

from __future__ import annotations

import pytest

from server.settings import Settings


def test_a_range_is_read_with_both_ends_included_and_empty_means_none() -> None:
    assert Settings(media_udp_ports="40000-40999").udp_ports == range(40000, 41000)
    assert Settings().udp_ports is None


@pytest.mark.parametrize("text", ["40000", "40999-40000", "80-1000", "40000-70000", "a-b"])
def test_what_is_not_a_range_of_unprivileged_ports_is_refused(text: str) -> None:
    with pytest.raises(ValueError, match="HAIQIAO_MEDIA_UDP_PORTS must be LOW-HIGH"):
        Settings(media_udp_ports=text)
