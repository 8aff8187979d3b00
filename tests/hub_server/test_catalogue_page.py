"""The mirror's page as the team's catalogue, in a real headless Chromium (Selenium): a mirror holding a folder
source, the MindSpore Hub catalogue (a part of the shared corpus, indexed as ``hub update`` does), the bundled
cards and Hugging Face repos fetched through it. Entries told apart, filters and sorting as links, search as
``hub search`` ranks, model pages with sizes, storage and fetch counts, no path of the server on any page, and
no horizontal overflow at 1280 and 390 px."""

from __future__ import annotations

import datetime as dt
import os
import re
import shutil
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest
import requests
from helpers import CORPUS, MS_CARD, ROOT, payload, publish
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")
need_module("selenium")

from servers.asgi import AsgiServer  # noqa: E402

from registry.settings import Settings  # noqa: E402

PICKED = re.compile(r"convnext|resnet50|yolov7_tiny|vit_b")
WIDE = "| " + " | ".join(f"column{i}" for i in range(30)) + " |\n|" + "---|" * 30 + "\n| " + " | ".join(
    "x" * 12 for _ in range(30)) + " |\n"
HF_README = """---
license: mit
library_name: timm
pipeline_tag: image-classification
datasets:
- imagenet-1k
---

# {name}

A ConvNeXt kept on the team mirror. https://example.org/{long}

{wide}
"""


def _card(name: str, link: str, sha: str, top1: float, extra: str = "") -> str:
    text = MS_CARD.format(name=name, link=link, sha=sha).replace("top1acc81.28", f"top1acc{top1}")
    return text.replace("license: Apache-2.0\n", f"license: Apache-2.0\n{extra}")


@pytest.fixture(scope="module")
def shelf(tmp_path_factory, nginx, hf_server):
    """A mirror with every kind of source, some of it fetched through it; what the tests compare with."""
    from huggingface_hub import snapshot_download

    from hub_server.build import build_mirror
    from registry import Registry

    base = tmp_path_factory.mktemp("shelf")
    settings = Settings(home=base / "home", registry_file=base / "registry.db", hf_cache=base / "hf",
                        hosts=("127.0.0.1",), retries=2, backoff=0.01, timeout=5)
    catalogue = base / "catalogue"  # as `hub update` leaves it: cards under their upstream folders
    for path in (CORPUS / "mindspore-hub").rglob("*.md"):
        if PICKED.search(path.name):
            rel = path.relative_to(CORPUS / "mindspore-hub")
            (catalogue / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, catalogue / rel)
    folder = base / "team-cards"
    pubs = []
    for i, (name, top1, size) in enumerate((("shelf_alpha", 70.5, 150_000), ("shelf_beta", 90.25, 40_000),
                                            ("shelf_gamma", 80.0, 2_500_000))):
        pub = publish(nginx.root, folder, name, payload(size, seed=300 + i), base=nginx.url)
        extra = f"signature-link: {nginx.url}/{pub.rel}.sig\n" if name == "shelf_beta" else ""
        (folder / f"{name}.md").write_text(_card(name, pub.link, pub.digest, top1, extra))
        pubs.append(pub)
    with Registry(settings=settings) as reg:
        reg.add_source(folder)
        reg.set_catalog(catalogue, {"url": f"{nginx.url}/catalog/hub.tar.gz", "cards": 29,
                                    "fetched_at": "2026-12-01T08:00:00+00:00", "sha256": "0" * 64})
    repos = {"acme/shelf-convnext": {"README.md": HF_README.format(name="shelf-convnext", long="a" * 300,
                                                                   wide=WIDE).encode(),
                                     "model.safetensors": payload(700_000, seed=310), "model.sig": b"{}"},
             "acme/shelf-other": {"README.md": b"# other\n", "model.safetensors": payload(9_000, seed=311)}}
    for repo, files in repos.items():
        hf_server.add(repo, files)
    hf_server.add("acme/shelf-fetched", {"README.md": HF_README.format(name="shelf-fetched", long="b", wide="")
                                         .encode(), "model.safetensors": payload(1000, seed=312)})
    from hub_client.fetch.remote import resolve

    resolve("hf:acme/shelf-fetched", settings=settings.but(hf_endpoint=hf_server.url))  # its card, as `hub info`
    built = build_mirror(settings, storage=str(base / "storage"), upstream=hf_server.url)
    server = AsgiServer(built.app).start()
    for repo in repos:
        snapshot_download(repo, endpoint=server.url, cache_dir=base / f"client-{repo.replace('/', '-')}",
                          token=False)
    for _ in range(2):  # shelf_alpha's checkpoint fetched twice whole; a HEAD and a resumed range count nothing
        assert requests.get(f"{server.url}/{pubs[0].rel}", timeout=30).content == pubs[0].data
    assert requests.head(f"{server.url}/{pubs[0].rel}", timeout=30).ok
    assert requests.get(f"{server.url}/{pubs[0].rel}", headers={"Range": "bytes=100-"}, timeout=30).status_code == 206
    yield {"url": server.url, "settings": settings, "pubs": pubs, "base": base, "nginx": nginx, "hf": hf_server}
    server.stop()


def rows(browser) -> list[dict[str, str]]:
    """The models the page shows: each cell's text by its column, and the model's link."""
    from selenium.webdriver.common.by import By

    out = []
    for tr in browser.find_elements(By.CSS_SELECTOR, "#models tbody tr"):
        cells = {td.get_attribute("data-label"): td.text for td in tr.find_elements(By.TAG_NAME, "td")}
        links = tr.find_elements(By.CSS_SELECTOR, "td[data-label=model] a")
        if links:
            cells["link"] = links[0].get_attribute("href")
            cells["label"] = links[0].text
            out.append(cells)
    return out


def test_entries_are_told_apart_by_version_and_source(shelf, browser):
    from selenium.webdriver.common.by import By

    browser.get(f"{shelf['url']}/?q=convnext_tiny&per=200")
    found = [r for r in rows(browser) if r["label"].startswith("convnext_tiny@")]
    pairs = {(r["label"], r["source"].splitlines()[0]) for r in found}
    assert pairs == {("convnext_tiny@2.5", "bundled with hub"),
                     ("convnext_tiny@2.5", "MindSpore Hub catalogue of 2026-12-01"),
                     ("convnext_tiny@2.3", "MindSpore Hub catalogue of 2026-12-01")}
    assert len({r["link"] for r in found}) == 3  # each its own page
    browser.get(f"{shelf['url']}/?q=shelf_alpha")
    assert rows(browser)[0]["source"].splitlines() == ["indexed folder team-cards", "MindSpore Hub card"]
    browser.get(f"{shelf['url']}/?q=shelf-fetched")
    assert rows(browser)[0]["source"].splitlines() == ["fetched from 127.0.0.1", "Hugging Face card"]
    browser.find_element(By.LINK_TEXT, rows(browser)[0]["label"]).click()
    assert "· fetched from 127.0.0.1" in browser.find_element(By.ID, "origin").text
    assert "hub pull hf:acme/shelf-fetched" in browser.find_element(By.ID, "use").text
    for r in found:
        browser.get(r["link"])
        assert browser.find_element(By.TAG_NAME, "h1").text == "convnext_tiny"
        origin = browser.find_element(By.ID, "origin").text
        assert origin == f"{r['label']} · {r['source'].splitlines()[0]}"
        others = browser.find_element(By.ID, "siblings").text.splitlines()
        assert len(others) == 2 and all("convnext_tiny@" in o for o in others)


def test_filters_sorting_and_pages_are_links_that_change_what_is_shown(shelf, browser):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select, WebDriverWait

    url = shelf["url"]
    browser.get(f"{url}/")
    everything = int(re.search(r"of (\d+) model", browser.find_element(By.ID, "count").text)[1])
    assert everything == 29 + len(list((ROOT / "cards").rglob("*.md"))) + 3 + 2 + 1
    Select(browser.find_element(By.NAME, "family")).select_by_value("convnext")
    browser.find_element(By.CSS_SELECTOR, "form#filters button").click()
    WebDriverWait(browser, 30).until(lambda b: "family=" in b.current_url)
    assert parse_qs(urlsplit(browser.current_url).query) == {"family": ["convnext"]}  # the link, empties gone
    shown = rows(browser)
    assert shown and all(r["family"] == "convnext" for r in shown)

    browser.get(f"{url}/?source=folder")  # sorting by a column's link: top-1, best first, then the other way
    browser.find_element(By.LINK_TEXT, "top-1").click()
    assert [r["label"] for r in rows(browser)] == ["shelf_beta@2.5", "shelf_gamma@2.5", "shelf_alpha@2.5"]
    assert "sort=top1" in browser.current_url and "source=folder" in browser.current_url
    browser.find_element(By.LINK_TEXT, "top-1").click()
    assert [r["label"] for r in rows(browser)] == ["shelf_alpha@2.5", "shelf_gamma@2.5", "shelf_beta@2.5"]

    browser.get(f"{url}/?stored=yes&sort=size")
    assert [r["label"] for r in rows(browser)] == ["hf:acme/shelf-convnext", "shelf_alpha@2.5",
                                                   "hf:acme/shelf-other"]
    browser.get(f"{url}/?sort=downloads&per=3")
    top = rows(browser)
    assert top[0]["label"] == "shelf_alpha@2.5" and top[0]["fetched"].startswith("2")
    assert {r["label"] for r in top[1:]} == {"hf:acme/shelf-convnext", "hf:acme/shelf-other"}
    browser.get(f"{url}/?signed=yes")
    assert {r["label"] for r in rows(browser)} == {"shelf_beta@2.5", "hf:acme/shelf-convnext"}
    browser.get(f"{url}/?loads=no&q=yolov7")
    assert sorted(r["label"] for r in rows(browser)) == ["yolov7_tiny@2.3", "yolov7_tiny@2.5"]
    browser.get(f"{url}/?loads=torch&family=convnext&per=200")
    assert rows(browser) and all("torch" in r["loads on"] for r in rows(browser))

    browser.get(f"{url}/?per=25")  # pages: every entry once, in name order
    seen = []
    while True:
        seen += [(r["model"], r["source"]) for r in rows(browser)]  # the model cell has the uid where needed
        nxt = browser.find_elements(By.CSS_SELECTOR, "a[rel=next]")
        if not nxt:
            break
        nxt[0].click()
    assert len(seen) == everything == len(set(seen))
    assert "page=2" in browser.current_url
    names = [model.split("@")[0].lower() for model, _ in seen if not model.startswith("hf:")]
    assert names == sorted(names)

    browser.get(f"{url}/?sort=sideways&page=x")  # a bad value is said and left out, the rest still works
    problems = browser.find_element(By.ID, "problems").text
    assert "sort='sideways' is not one of" in problems and "page='x'" in problems
    assert len(rows(browser)) == everything  # under the 50 of a page


def test_search_ranks_as_hub_search_and_says_why(shelf, browser):
    from selenium.webdriver.common.by import By

    from registry import Registry

    for query in ("convnext", "resnet50", "convnext tiny", "imagenet"):
        with Registry(settings=shelf["settings"], auto_sync=False) as reg:
            expected = [(x.name, x.matched is not None) for x in reg.search(query, limit=500)]
        browser.get(f"{shelf['url']}/?" + requests.compat.urlencode({"q": query, "per": 200}))
        got = [(r["label"].split("@")[0], "matched in" in r["model"]) for r in rows(browser)
               if not r["label"].startswith("hf:")]
        assert got == expected, query
    browser.get(f"{shelf['url']}/?q=convnext")
    yolo = next(r for r in rows(browser) if r["label"].startswith("yolov7_tiny"))
    assert "matched in card:" in yolo["model"] and "ConvNeXt-XL" in yolo["model"]
    mark = browser.find_element(By.CSS_SELECTOR, ".matched mark")
    assert mark.text.lower() == "convnext"
    assert "hf:acme/shelf-convnext" in [r["label"] for r in rows(browser)]  # a stored repo by its name


def test_model_pages_say_sizes_storage_fetches_lint_and_how_to_pull(shelf, browser):
    from selenium.webdriver.common.by import By

    alpha = shelf["pubs"][0]
    browser.get(f"{shelf['url']}/?q=shelf_alpha")
    browser.find_element(By.LINK_TEXT, "shelf_alpha@2.5").click()
    files = browser.find_element(By.ID, "files").text
    assert "150.0 kB" in files and alpha.digest in files and f"/{alpha.rel}" in files
    assert re.search(r"\byes\b", files)
    facts = browser.find_element(By.ID, "facts").text
    assert "fetched here 2 time(s), last " + dt.date.today().isoformat()[:4] in facts
    lint = browser.find_element(By.ID, "lint").text  # the test server's http:// asset link is an error
    assert "card check (as lint): 1 error(s), 0 warning(s)" in lint
    assert "insecure-link" in browser.find_element(By.TAG_NAME, "body").text
    assert (f"export HUB_MIRRORS={shelf['url']}\nhub pull shelf_alpha@2.5" in
            browser.find_element(By.ID, "use").text)

    browser.get(f"{shelf['url']}/?q=shelf_gamma")  # not fetched: its size asked of its host, not stored
    browser.find_element(By.LINK_TEXT, "shelf_gamma@2.5").click()
    files = browser.find_element(By.ID, "files").text
    assert "2.5 MB" in files and re.search(r"\bno\b", files)
    assert "fetched here never" in browser.find_element(By.ID, "facts").text

    browser.get(f"{shelf['url']}/m/acme/shelf-convnext")
    files = browser.find_element(By.ID, "files").text
    assert "700.0 kB" in files and "model.sig" in files
    facts = browser.find_element(By.ID, "facts").text
    assert "fetched here 1 time(s)" in facts and "signed yes" in facts and "license mit" in facts.lower()
    assert f"export HF_ENDPOINT={shelf['url']}\nhub pull hf:acme/shelf-convnext" in browser.find_element(
        By.ID, "use").text
    assert not browser.find_elements(By.TAG_NAME, "script")


def _crawl(url: str, headers: dict[str, str] | None = None) -> dict[str, str]:
    """Every page reachable from ``/`` by its links (the mirror's own, no file downloads), by URL."""
    seen: dict[str, str] = {}
    todo = [f"{url}/", f"{url}/?per=25"]
    while todo:
        page = todo.pop()
        if page in seen:
            continue
        answer = requests.get(page, headers=headers, timeout=30)
        assert answer.status_code == 200, (page, answer.status_code)
        assert "script-src" not in answer.headers["Content-Security-Policy"]
        seen[page] = answer.text
        for href in re.findall(r'href="([^"]+)"', answer.text):
            target = urljoin(page, href.replace("&amp;", "&"))
            path = urlsplit(target).path
            if target.startswith(url) and (path == "/" or path.startswith(("/c/", "/m/"))) and "sort=" not in target:
                todo.append(target)
    return seen


def test_no_page_shows_a_path_of_the_server(shelf):
    pages = _crawl(shelf["url"])
    models = [p for p in pages if "/c/" in p or "/m/" in p]
    assert len(models) >= 29 + 3 + 2  # every card's page and the repos' pages were read
    secrets = {str(shelf["base"]), str(CORPUS), str(ROOT), str(shelf["nginx"].root), os.path.realpath(shelf["base"]),
               str(Path.home()), "/tmp/", "/srv/"}
    for page, html in pages.items():
        for secret in secrets:
            assert secret not in html, (page, secret)


@pytest.mark.parametrize("width", [1280, 390])
def test_no_page_is_wider_than_the_window(shelf, browser, width, tmp_path):
    browser.set_window_size(width, 900)
    try:
        shots = os.environ.get("HUB_PAGE_SHOTS")  # the README's screenshots: HUB_PAGE_SHOTS=docs pytest ...
        for name, page in (("list", "/?q=convnext"), ("model", "/c/convnext_tiny@2.5?from=catalog"),
                           ("repo", "/m/acme/shelf-convnext"), ("all", "/?per=200")):
            browser.get(shelf["url"] + page)
            inner = browser.execute_script("return window.innerWidth")
            wide = browser.execute_script("return document.documentElement.scrollWidth")
            assert wide <= inner, (page, width, wide, inner)
            if shots and name in ("list", "model"):
                browser.save_screenshot(str(Path(shots) / f"mirror-{name}-{width}.png"))
    finally:
        browser.set_window_size(1280, 1000)


def test_a_mirror_with_tokens_says_the_token_variable_and_wants_one(shelf, tmp_path):
    from hub_server.build import build_mirror

    settings = shelf["settings"].but(serve_tokens=("team-secret",))
    server = AsgiServer(build_mirror(settings, storage=str(tmp_path / "storage"), upstream=shelf["hf"].url,
                                     offline=True).app).start()
    try:
        assert requests.get(f"{server.url}/", timeout=30).status_code == 401
        pages = _crawl(server.url, {"Authorization": "Bearer team-secret"})
        card = next(html for page, html in pages.items() if "/c/shelf_alpha" in page)
        assert "export HUB_MIRROR_TOKEN=&lt;your team token&gt;" in card
        assert "team-secret" not in "".join(pages.values())
    finally:
        server.stop()
