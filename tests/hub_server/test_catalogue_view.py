"""The catalogue page's query (``view.py``): parsing, links that round-trip, filters, sorting with the unknown
last, pages; and the fetch counts it sorts by (``fetches.py``), kept across a restart and counted from real
requests: a whole GET counts, a HEAD or a resumed range does not."""

from __future__ import annotations

import dataclasses
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests
from helpers import index, payload, publish, unique
from helpers.tools import need_module

need_module("starlette")

from hub_server.catalogue import Entry, options  # noqa: E402
from hub_server.fetches import Count, Fetches, combined, file_key, grouped  # noqa: E402
from hub_server.view import View, shown  # noqa: E402


def entry(name: str, **kw) -> Entry:
    base = dict(link=f"/c/{name}", name=name, label=name, dialect="mindspore-hub", source="bundled with hub",
                source_kind="bundled", family=None, framework=None, task=None, datasets=(), license=None, top1=None,
                top1_benchmark=None, size=None, stored="no", backends=(), signed=False, fetches=Count(0, None),
                lint="ok")
    return Entry(**{**base, **kw})


SHELF = [
    entry("b", family="convnext", top1=80.0, size=300, backends=("mindspore", "torch"), license="MIT",
          datasets=("ImageNet2012",), fetches=Count(3, "2026-12-01T00:00:00+00:00"), stored="yes"),
    entry("a", family="ResNet", top1=None, size=100, backends=("mindspore",), license="Apache-2.0",
          datasets=("imagenet2012", "COCO"), fetches=Count(9, "2026-11-01T00:00:00+00:00"), signed=True),
    entry("c", family="convnext", top1=85.5, size=None, backends=None, source_kind="mirror",
          fetches=Count(0, None), stored="partly"),
    entry("d", family="yolo", top1=20.0, size=50, backends=(), datasets=("COCO",)),
]


def names(v: View, found=SHELF) -> list[str]:
    return [e.name for e in shown(found, v)[0]]


def test_a_view_is_its_query_and_its_links_round_trip():
    v = View.of({"q": " convnext ", "family": "ConvNeXt", "sort": "TOP1", "page": "3", "per": "25"})
    assert (v.q, v.family, v.sort, v.page, v.per, v.problems) == ("convnext", "ConvNeXt", "top1", 3, 25, ())
    link = v.link()
    assert View.of(dict(parse_qsl(urlsplit(link).query))) == v
    assert "page=1" not in v.link(sort="size") and "page" not in dict(parse_qsl(urlsplit(v.link(sort="size")).query))
    assert dict(parse_qsl(urlsplit(v.link(page=4)).query))["page"] == "4"
    assert View().link() == "/" and View.of({}) == View()


def test_bad_values_are_said_and_left_out():
    v = View.of({"sort": "sideways", "stored": "maybe", "page": "-2", "per": "x", "loads": "torch"})
    assert (v.sort, v.stored, v.page, v.per, v.loads) == ("", "", 1, 50, "torch")
    said = " ".join(v.problems)
    assert "sort='sideways' is not one of relevance, name, top1" in said and "stored='maybe'" in said
    assert "page='-2' is not a whole number" in said and "per='x'" in said
    assert View.of({"per": "100000"}).per == 200  # at most a page the page can hold


def test_filters():
    assert names(View(family="CONVNEXT")) == ["b", "c"]
    assert names(View(dataset="ImageNet2012")) == ["a", "b"]  # case aside, as `hub list --dataset`
    assert names(View(license="mit")) == ["b"]
    assert names(View(loads="torch")) == ["b"] and names(View(loads="mindspore")) == ["a", "b"]
    assert names(View(loads="any")) == ["a", "b"] and names(View(loads="no")) == ["c", "d"]
    assert names(View(stored="yes")) == ["b"] and names(View(stored="partly")) == ["c"]
    assert names(View(signed="yes")) == ["a"] and names(View(signed="no")) == ["b", "c", "d"]
    assert names(View(source="mirror")) == ["c"]
    assert names(View(family="convnext", loads="torch")) == ["b"]


def test_sorting_puts_the_unknown_last_whichever_the_order():
    assert names(View()) == ["a", "b", "c", "d"]
    assert names(View(sort="top1")) == ["c", "b", "d", "a"]  # best first; a has no top-1
    assert names(View(sort="top1", order="asc")) == ["d", "b", "c", "a"]
    assert names(View(sort="size")) == ["b", "a", "d", "c"]
    assert names(View(sort="downloads")) == ["a", "b", "c", "d"]  # never fetched: last, by name
    assert names(View(sort="fetched")) == ["b", "a", "c", "d"]
    assert names(View(sort="name", order="desc")) == ["d", "c", "b", "a"]
    ranked = [dataclasses.replace(e, rank=(r, i)) for i, (e, r) in enumerate(zip(SHELF, (2, 0, 1, 2), strict=True))]
    assert names(View(q="x"), ranked) == ["a", "c", "b", "d"]  # a search: its ranking unless a sort is asked
    assert names(View(q="x", sort="name"), ranked) == ["a", "b", "c", "d"]


def test_pages():
    many = [entry(f"m{i:03d}") for i in range(120)]
    page, total, pages = shown(many, View(per=50, page=3))
    assert (total, pages, [e.name for e in page]) == (120, 3, [f"m{i:03d}" for i in range(100, 120)])
    page, _, _ = shown(many, View(per=50, page=99))  # past the end: the last page
    assert page[0].name == "m100"
    assert shown([], View())[1:] == (0, 1)


def test_options_fold_case_and_count():
    found = options(SHELF)
    assert found["family"] == [("convnext", 2), ("ResNet", 1), ("yolo", 1)]
    assert found["dataset"] == [("COCO", 2), ("ImageNet2012", 2)]  # imagenet2012 and ImageNet2012 are one


def test_fetch_counts_keys_and_persistence(tmp_path):
    assert file_key("/acme/x/resolve/main/model.safetensors") == "hf:acme/x/model.safetensors"
    assert file_key("/toolkits/mindcv/a/a.ckpt") == "ms:/toolkits/mindcv/a/a.ckpt"
    assert file_key("/api/models/acme/x") is None and file_key("/blobs/sha256/" + "0" * 64) is None
    counts = Fetches(tmp_path / "fetches.sqlite")
    counts.add("hf:acme/x/README.md", "2026-12-01T00:00:00+00:00")
    counts.add("hf:acme/x/model.safetensors", "2026-12-01T00:00:00+00:00")
    counts.add("hf:acme/x/model.safetensors", "2026-12-02T00:00:00+00:00")
    counts.add("ms:/toolkits/a.ckpt", "2026-11-30T00:00:00+00:00")
    counts.close()
    again = Fetches(tmp_path / "fetches.sqlite")  # a restart keeps them
    by_model = grouped(again.all())
    assert by_model["hf:acme/x"] == Count(2, "2026-12-02T00:00:00+00:00")  # its most fetched file; one pull once
    assert by_model["ms:/toolkits/a.ckpt"] == Count(1, "2026-11-30T00:00:00+00:00")
    assert combined([Count(0, None), Count(0, None)]) == Count(0, None)


@pytest.mark.usefixtures("net")
def test_a_whole_get_is_a_fetch_and_a_head_or_resumed_range_is_not(nginx, tmp_path, net):
    need_module("uvicorn")
    from servers.asgi import AsgiServer

    from hub_server.build import build_mirror

    cards = tmp_path / "cards"
    pub = publish(nginx.root, cards, unique("count"), payload(50_000, seed=71), base=nginx.url)
    index(cards, settings=net)
    storage = tmp_path / "storage"
    server = AsgiServer(build_mirror(net, storage=str(storage)).app).start()
    try:
        url = f"{server.url}/{pub.rel}"
        assert requests.get(url, timeout=30).content == pub.data  # pulled through: 1
        assert requests.get(url, timeout=30).content == pub.data  # from storage: 2
        assert requests.get(url, headers={"Range": "bytes=0-99"}, timeout=30).status_code == 206  # from 0: 3
        assert requests.get(url, headers={"Range": "bytes=100-"}, timeout=30).status_code == 206  # resumed: no
        assert requests.head(url, timeout=30).ok  # no
        assert requests.get(f"{server.url}/toolkits/none/missing.ckpt", timeout=30).status_code == 404  # no
        page = requests.get(f"{server.url}/?q={pub.name}", timeout=30).text
        assert ">3<br><span class=dim>last " in page
        wordless = requests.get(f"{server.url}/?q=%22", timeout=30)  # no word to search: said, everything shown
        assert wordless.status_code == 200 and "q: search needs at least one word" in wordless.text
        sent = requests.get(f"{server.url}/?q=&family=&sort=top1", timeout=30, allow_redirects=False)
        assert sent.status_code == 303 and sent.headers["location"] == "/?sort=top1"  # a form's empty fields
    finally:
        server.stop()
    counts = Fetches(storage / "fetches.sqlite").all()  # what the next start of the mirror reads
    assert counts[f"ms:/{pub.rel}"][0] == 3 and len(counts) == 1
