"""The dataset page's JSON, downloads and actions, over HTTP against the real server.

The values the page draws are checked against values built independently here
(tests/samplefiles.py): decimation keeps every bucket's minimum and maximum (so one-row peaks
survive), short samples are sent whole, and the CSV download holds every row.
"""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from samplefiles import (
    DIP_ROW,
    SPIKE_ROW,
    audio_values,
    motion_values,
    small_json,
    small_values,
    upload_all,
    wav_values,
)
from serverproc import ServerProc

BIG = 100_000


@pytest.fixture(scope="module")
def server(server: ServerProc) -> ServerProc:
    """conftest.py's server with the sample files uploaded (samples_by_name: what was stored)."""
    server.samples_by_name = upload_all(server, BIG)  # type: ignore[attr-defined]
    return server


def page_get(server: ServerProc, path: str, headers: dict[str, str] | None = None) -> Any:
    """A page request as the browser makes it on a loopback bind: no key, loopback Host."""
    result = server.request("GET", path, headers=headers, api_key=False)
    assert result.status == 200, f"{path}: {result.status} {result.text()}"
    return result


def sample(server: ServerProc, name: str) -> dict[str, Any]:
    return server.samples_by_name[name]  # type: ignore[attr-defined,no-any-return]


def test_summary_counts_and_samples(server: ServerProc) -> None:
    data = page_get(server, "/page/api/summary").json()
    counts = {(c["category"], c["label"]): c["count"] for c in data["counts"]}
    assert counts == {
        ("training", "wave"): 1,
        ("testing", "idle"): 1,
        ("training", "noise"): 1,
        ("testing", "clap"): 1,
        ("training", "track"): 1,
        ("anomaly", None): 1,
    }
    assert [s["fileName"] for s in data["samples"]] == [s["fileName"] for s in server.samples()]
    big = data["samples"][0]
    assert (big["rows"], big["intervalMs"], big["signature"]) == (BIG, 10, "valid")
    assert big["metadata"] == {"site": "lab 3", "run": "1"}
    filtered = page_get(server, "/page/api/summary?category=testing&label=idle").json()
    assert [s["fileName"] for s in filtered["samples"]] == ["climate.01.json"]


def test_big_sample_is_decimated_to_min_and_max_per_column(server: ServerProc) -> None:
    big = sample(server, "motion.big.cbor")
    width = 700
    plot = page_get(server, f"/page/api/samples/{big['id']}?width={width}").json()["plot"]
    assert (plot["rows"], plot["decimated"], plot["buckets"]) == (BIG, True, width)
    values = motion_values(BIG)
    assert [a["name"] for a in plot["axes"]] == ["accX", "accY", "accZ"]
    for axis_index, axis in enumerate(plot["axes"]):
        assert len(axis["t"]) == len(axis["v"]) == 2 * width
        column = [row[axis_index] for row in values]
        for bucket in range(width):
            start, end = bucket * BIG // width, (bucket + 1) * BIG // width
            part = column[start:end]
            pair = axis["v"][2 * bucket : 2 * bucket + 2]
            assert sorted(pair) == [min(part), max(part)], (axis_index, bucket)
            rows = [t / 10 for t in axis["t"][2 * bucket : 2 * bucket + 2]]
            assert all(start <= r < end and r.is_integer() for r in rows)
            assert [column[int(r)] for r in rows] == pair  # each point is a real row
    x = plot["axes"][0]
    assert 30000 in x["v"] and -30000 in x["v"]
    assert x["t"][x["v"].index(30000)] == SPIKE_ROW * 10
    assert x["t"][x["v"].index(-30000)] == DIP_ROW * 10


def test_short_samples_are_sent_whole(server: ServerProc) -> None:
    small = sample(server, "climate.01.json")
    plot = page_get(server, f"/page/api/samples/{small['id']}?width=600").json()["plot"]
    assert plot["decimated"] is False and plot["rows"] == 50
    temp, hum = plot["axes"]
    assert (temp["name"], temp["units"], hum["name"], hum["units"]) == ("temp", "Cel", "hum", "%RH")
    assert temp["v"] == [row[0] for row in small_values()]
    assert hum["v"] == [row[1] for row in small_values()]
    assert temp["t"] == [i * 20 for i in range(50)]


@pytest.mark.parametrize(
    ("name", "kind", "axis", "interval", "expected"),
    [
        ("noise.01.cbor", "series", ("audio", "wav"), 0.0625, audio_values()),
        ("clap.01.wav", "audio", ("audio", "wav"), 0.125, wav_values()),
    ],
)
def test_audio_waveforms(
    server: ServerProc, name: str, kind: str, axis: tuple[str, str], interval: float,
    expected: list[int],
) -> None:  # fmt: skip
    found = sample(server, name)
    data = page_get(server, f"/page/api/samples/{found['id']}?width=4000").json()
    assert data["kind"] == kind
    plot = data["plot"]
    assert plot["decimated"] is False
    (only,) = plot["axes"]
    assert (only["name"], only["units"]) == axis
    assert only["v"] == expected
    assert only["t"][:3] == [0, interval, 2 * interval]


def test_csv_with_timestamps_and_image(server: ServerProc) -> None:
    track = sample(server, "track.01.csv")
    plot = page_get(server, f"/page/api/samples/{track['id']}").json()["plot"]
    x, y = plot["axes"]
    assert x["t"] == [t * 15 for t in range(40)] and x["v"] == [t % 7 for t in range(40)]
    assert y["v"] == [-t for t in range(40)]
    photo = sample(server, "photo.01.png")
    data = page_get(server, f"/page/api/samples/{photo['id']}").json()
    assert data["kind"] == "image" and "plot" not in data
    inline = page_get(server, f"/page/api/samples/{photo['id']}/raw?inline=1")
    assert inline.headers["content-type"] == "image/png"
    assert inline.headers["content-disposition"].startswith("inline")
    assert inline.body == server.raw(photo["id"])
    download = page_get(server, f"/page/api/samples/{photo['id']}/raw")
    assert download.headers["content-disposition"] == 'attachment; filename="photo.01.png"'


def test_csv_download_has_every_row(server: ServerProc) -> None:
    big = sample(server, "motion.big.cbor")
    result = page_get(server, f"/page/api/samples/{big['id']}/csv")
    assert result.headers["content-type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(result.text())))
    assert rows[0] == ["timestamp", "accX", "accY", "accZ"]
    assert len(rows) == BIG + 1
    expected = motion_values(BIG)
    assert all([int(c) for c in row] == [i * 10, *expected[i]] for i, row in enumerate(rows[1:])), (
        "every row, unchanged"
    )


def test_bad_requests_are_clear(server: ServerProc) -> None:
    big = sample(server, "motion.big.cbor")
    for query, words in (("?width=0", "width"), ("?width=99999", "width"), ("?width=x", "width")):
        result = server.request("GET", f"/page/api/samples/{big['id']}{query}", api_key=False)
        assert result.status == 400 and words in result.json()["error"]
    missing = server.request("GET", "/page/api/samples/999999", api_key=False)
    assert missing.status == 404 and "no sample with id 999999" in missing.json()["error"]
    unknown = server.request("GET", "/page/api/summary?colour=red", api_key=False)
    assert unknown.status == 400 and "colour" in unknown.json()["error"]


def test_api_listing_filters(server: ServerProc) -> None:
    def names(query: str) -> list[str]:
        result = server.request("GET", f"/api/samples{query}")
        assert result.status == 200, result.text()
        return [s["fileName"] for s in result.json()["samples"]]

    assert names("?category=testing") == ["climate.01.json", "clap.01.wav"]
    assert names("?label=noise") == ["noise.01.cbor"]
    assert names("?category=training&label=track") == ["track.01.csv"]
    assert names("?category=testing&label=track") == []
    assert names("?category=&label=") == names("")
    bad = server.request("GET", "/api/samples?category=nope")
    assert bad.status == 400 and "unknown category 'nope'" in bad.text()
    odd = server.request("GET", "/api/samples?sort=id")
    assert odd.status == 400 and "sort" in odd.text()


def test_pages_are_static_and_hardened(server: ServerProc) -> None:
    for path in ("/", f"/samples/{sample(server, 'motion.big.cbor')['id']}"):
        result = page_get(server, path)
        html = result.text()
        assert result.headers["content-type"].startswith("text/html")
        assert '<script src="/static/page.js" defer></script>' in html
        assert "<script>" not in html and "http://" not in html.replace(
            'xmlns="http://www.w3.org/2000/svg"', ""
        ), "nothing inline, nothing from elsewhere"
        csp = result.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
        assert result.headers["x-content-type-options"] == "nosniff"
    js = page_get(server, "/static/page.js").text()
    assert "innerHTML" not in js and "eval(" not in js
    assert server.request("GET", "/static/../app.py", api_key=False).status == 404


def test_version_changes_when_a_sample_arrives_and_delete_needs_csrf(server: ServerProc) -> None:
    before = page_get(server, "/page/api/version").json()["version"]
    body = small_json(None).replace(b'"temp"', b'"tmp2"')
    added = server.post_data("testing", body, file_name="extra.json", headers={"x-label": "x"})
    assert added.status == 200
    after = page_get(server, "/page/api/version").json()["version"]
    assert after != before
    (extra,) = [s for s in server.samples() if s["fileName"] == "extra.json"]
    path = f"/page/api/samples/{extra['id']}/delete"
    no_token = server.request("POST", path, api_key=False)
    assert no_token.status == 403 and "x-csrf-token" in no_token.json()["error"]
    token = page_get(server, "/page/api/session").json()["csrf"]
    cross = server.request(
        "POST", path, headers={"x-csrf-token": token, "Origin": "http://evil.example"},
        api_key=False,
    )  # fmt: skip
    assert cross.status == 403 and "cross-site" in cross.json()["error"]
    stored = server.data_dir / extra["path"]
    assert stored.exists() and extra in server.samples()
    origin = f"http://127.0.0.1:{server.port}"
    done = server.request(
        "POST", path, headers={"x-csrf-token": token, "Origin": origin}, api_key=False
    )
    assert done.status == 200, done.text()
    assert extra["id"] not in [s["id"] for s in server.samples()]
    assert not stored.exists()
    again = server.request("POST", path, headers={"x-csrf-token": token}, api_key=False)
    assert again.status == 404
    assert page_get(server, "/page/api/version").json()["version"] != after


def test_local_trust_needs_a_loopback_host_header(server: ServerProc) -> None:
    """A DNS-rebinding page reaches 127.0.0.1 under its own name: it gets no local trust."""
    for path in ("/", "/page/api/summary", "/static/page.js"):
        result = server.request("GET", path, headers={"Host": "evil.example"}, api_key=False)
        assert result.status == 401, path
    assert page_get(server, "/", headers={"Host": "localhost"}).status == 200


def test_refused_requests_are_logged_one_line_each(server: ServerProc) -> None:
    server.request("GET", "/api/samples", api_key="ei_wrong_key_xyz")
    server.request("GET", "/page/api/samples/424242", api_key=False)
    server.post_data("nosuch", b"{}", file_name="a.json")
    log = server.log_text()
    assert "refused 401 GET /api/samples from 127.0.0.1: Missing or invalid x-api-key header" in log
    assert "refused 404 GET /page/api/samples/424242 from 127.0.0.1: no sample with id 424242" in (
        log
    )
    assert "refused 404 POST /api/nosuch/data from 127.0.0.1: unknown category 'nosuch'" in log
    assert "ei_wrong_key_xyz" not in log and server.api_key not in log
    assert str(server.hmac_key) not in log


def test_export_zip_and_page_never_show_keys(server: ServerProc) -> None:
    import zipfile

    result = server.request("GET", "/api/export")
    assert result.status == 200 and result.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(result.body)) as archive:
        info = json.loads(archive.read("dataset/info.labels"))
        names = archive.namelist()
    assert {f["path"] for f in info["files"]} == {n[len("dataset/") :] for n in names} - {
        "info.labels"
    }
    assert server.request("GET", "/api/export", api_key=False).status == 401
    keys = (server.api_key, str(server.hmac_key))
    for path in ("/", "/samples/1", "/static/page.js", "/page/api/summary", "/page/api/session"):
        text = page_get(server, path).text()
        assert not any(key in text for key in keys), path
