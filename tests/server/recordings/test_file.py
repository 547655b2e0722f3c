"""A recording's file behind its signed link: ranges for the <video> element, and the refusals."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from server.models import Recording
from server.recordings.links import file_link
from tests.conftest import Api
from tests.server.helpers import assert_error
from tests.server.recordings.conftest import Recorded


def link(api: Api, recording_id: int, now: datetime | None = None, seconds: int = 600) -> str:
    url, _ = file_link(api.settings.secret_key, recording_id, now or datetime.now(UTC), seconds)
    return url


async def test_the_whole_file_and_its_ranges(demo_api: Api, recorded: Recorded) -> None:
    url = link(demo_api, recorded.host_camera)
    data = (recorded.dir / f"{recorded.session_id}/room-1-camera-0.webm").read_bytes()
    size = len(data)
    assert size > 600

    full = await demo_api.client.get(url)  # no bearer token: the signature is the authorisation
    assert full.status_code == 200, full.text
    assert full.content == data
    assert full.headers["accept-ranges"] == "bytes"
    assert full.headers["content-type"] == "video/webm"
    assert full.headers["cache-control"].startswith("private")

    part = await demo_api.client.get(url, headers={"Range": "bytes=10-109"})
    assert part.status_code == 206
    assert part.content == data[10:110]
    assert part.headers["content-range"] == f"bytes 10-109/{size}"

    open_ended = await demo_api.client.get(url, headers={"Range": "bytes=100-"})
    assert open_ended.status_code == 206
    assert open_ended.content == data[100:]
    assert open_ended.headers["content-range"] == f"bytes 100-{size - 1}/{size}"

    suffix = await demo_api.client.get(url, headers={"Range": "bytes=-500"})
    assert suffix.status_code == 206
    assert suffix.content == data[-500:]
    assert suffix.headers["content-range"] == f"bytes {size - 500}-{size - 1}/{size}"

    past = await demo_api.client.get(url, headers={"Range": f"bytes={size}-"})
    assert_error(past, 416, "range_not_satisfiable")
    assert past.headers["content-range"] == f"bytes */{size}"
    assert_error(await demo_api.client.get(url, headers={"Range": "lines=1-2"}), 400, "bad_range")


async def test_expired_forged_and_borrowed_links_are_refused(demo_api: Api, recorded: Recorded) -> None:
    expired = link(demo_api, recorded.host_camera, datetime.now(UTC) - timedelta(hours=1))
    assert_error(await demo_api.client.get(expired), 403, "link_expired")
    good = link(demo_api, recorded.host_camera)
    forged = good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB")
    assert_error(await demo_api.client.get(forged), 403, "link_invalid")
    # The host camera's signature on the receiver's file.
    borrowed = good.replace(f"/recordings/{recorded.host_camera}/", f"/recordings/{recorded.receiver_camera}/")
    assert_error(await demo_api.client.get(borrowed), 403, "link_invalid")
    assert_error(await demo_api.client.get(f"/api/v1/recordings/{recorded.host_camera}/file"), 422)


async def test_a_deleted_recording_or_a_missing_file_is_not_found(demo_api: Api, recorded: Recorded) -> None:
    async with demo_api.sessionmaker() as db, db.begin():
        row = await db.get(Recording, recorded.host_camera)
        assert row is not None
        row.deleted_at = datetime.now(UTC)
    assert_error(await demo_api.client.get(link(demo_api, recorded.host_camera)), 404, "recording_not_found")
    (recorded.dir / f"{recorded.session_id}/room-4-camera-1.webm").unlink()
    assert_error(await demo_api.client.get(link(demo_api, recorded.receiver_camera)), 404, "file_missing")
