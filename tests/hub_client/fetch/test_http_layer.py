"""The one HTTP layer: its backoff, and its ranged request sorting real answers of nginx and the fault proxy."""

from __future__ import annotations

import pytest
import requests

from hub_client.fetch import http_layer
from hub_client.fetch.http_layer import MAX_BACKOFF, MAX_RETRY_AFTER, backoff, exhausted, open_range
from hub_client.fetch.policy import Policy
from registry.errors import DownloadError
from registry.settings import Settings

LOOPBACK = Policy(hosts=("127.0.0.1",), allow_http=True, trusted=("127.0.0.1",))


def test_backoff_doubles_with_jitter_and_is_capped():
    s = Settings(backoff=1.0)
    for failures in range(1, 6):
        base = 2.0 ** (failures - 1)
        delays = [backoff(s, failures) for _ in range(200)]
        assert base <= min(delays) and max(delays) <= base * 1.25
        assert len(set(delays)) > 100  # jittered: clients that failed together do not come back together
    assert max(backoff(s, 40) for _ in range(50)) == MAX_BACKOFF


def test_retry_after_is_honoured_up_to_its_cap():
    s = Settings(backoff=1.0)
    assert backoff(s, 3, wait=7.0) == 7.0
    assert backoff(s, 1, wait=10_000.0) == MAX_RETRY_AFTER
    assert http_layer.retry_after("3") == 3.0
    assert http_layer.retry_after("not a date") is None
    assert http_layer.retry_after("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # a date in the past: now


def test_the_give_up_rule():
    s = Settings(retries=2)
    assert [exhausted(s, n) for n in (1, 2, 3)] == [False, False, True]


@pytest.fixture
def served_file(nginx):
    from helpers import payload, unique

    data = payload(100_000, seed=7)
    name = f"{unique('ranged')}.bin"
    (nginx.root / name).write_bytes(data)
    return f"{nginx.url}/{name}", data


def test_a_range_from_the_asked_start(served_file):
    url, data = served_file
    with requests.Session() as session:
        with open_range(session, url, policy=LOOPBACK, timeout=5, start=1000, end=2000) as answer:
            assert answer.kind == "range"
            assert answer.resp.content == data[1000:2000]
        with open_range(session, url, policy=LOOPBACK, timeout=5) as whole:
            assert whole.kind == "whole" and "Range" not in whole.resp.request.headers
            etag = whole.resp.headers["ETag"]
        with open_range(session, url, policy=LOOPBACK, timeout=5, start=10, validator=etag) as same:
            assert same.kind == "range" and same.resp.content == data[10:]


def test_a_changed_file_comes_whole_and_a_start_past_the_end_is_unsatisfiable(served_file):
    url, data = served_file
    with requests.Session() as session:
        with open_range(session, url, policy=LOOPBACK, timeout=5, start=10, validator='"other"') as changed:
            assert changed.kind == "whole" and changed.resp.content == data  # If-Range failed
        with open_range(session, url, policy=LOOPBACK, timeout=5, start=len(data)) as past:
            assert past.kind == "unsatisfiable"
        with open_range(session, url + ".missing", policy=LOOPBACK, timeout=5) as missing:
            assert missing.kind == "refused"
            err = missing.refusal(url)
            assert err.status == 404 and "404" in str(err)


def test_a_busy_server_says_how_long_to_wait(proxy, served_file):
    url, _ = served_file
    through = url.replace(proxy_upstream(proxy), proxy.url)
    proxy.faults.statuses = [(503, {"Retry-After": "2"}), (429, {"Retry-After": "600"})]
    with requests.Session() as session:
        with open_range(session, through, policy=LOOPBACK, timeout=5) as busy:
            assert busy.kind == "busy" and busy.wait == 2.0
        with pytest.raises(DownloadError, match="asks to retry after 600 s"):
            open_range(session, through, policy=LOOPBACK, timeout=5)


def test_a_server_that_ignores_ranges_sends_it_whole(proxy, served_file):
    url, data = served_file
    through = url.replace(proxy_upstream(proxy), proxy.url)
    proxy.faults.ignore_range = True
    with requests.Session() as session, open_range(session, through, policy=LOOPBACK, timeout=5, start=5) as a:
        assert a.kind == "whole" and a.resp.content == data


def proxy_upstream(proxy) -> str:
    return f"http://{proxy.upstream_host}:{proxy.upstream_port}"
