"""The mirror's web pages in a real headless Chromium (Debian's ``chromium`` and ``chromium-driver``, driven by
Selenium): the list with search, a Hugging Face repo's page (card rendered, metrics, files with sizes and
addresses, lint status, how to pull), a MindSpore Hub card's page, and a card's own HTML kept as text."""

from __future__ import annotations

import hashlib

import pytest
from helpers import index, payload, publish, unique
from helpers.tools import need_module

need_module("starlette")
need_module("uvicorn")
need_module("selenium")

from servers.asgi import AsgiServer  # noqa: E402

CARD = """---
license: apache-2.0
library_name: transformers
pipeline_tag: image-classification
tags:
- image-classification
model-index:
- name: {name}
  results:
  - task:
      type: image-classification
    dataset:
      name: ImageNet-1k
      type: imagenet-1k
    metrics:
    - type: accuracy
      value: 82.1
---

# {name}

A ConvNeXt for the web page test. <script>document.title = "owned"</script>

| resolution | top-1 |
|---|---|
| 224 | 82.1 |
"""


@pytest.mark.usefixtures("net")
def test_the_pages_in_a_real_browser(browser, hf_server, nginx, tmp_path, net):
    from selenium.webdriver.common.by import By

    from hub_server import LocalStorage, Mirror, create_app
    from hub_server.assets import AssetStore

    repo_id = f"acme/{unique('web')}".replace("_", "-")
    weights = payload(300_000, seed=93)
    hf_server.add(repo_id, {"README.md": CARD.format(name=repo_id).encode(), "model.safetensors": weights})
    cards = tmp_path / "cards"
    pub = publish(nginx.root, cards, unique("webms"), payload(1000, seed=94), base=nginx.url)
    indexer = net.but(home=tmp_path / "home", registry_file=tmp_path / "registry.db")
    index(cards, settings=indexer)
    mirror = Mirror(LocalStorage(tmp_path / "storage" / "hf"), upstream=hf_server.url)
    server = AsgiServer(create_app(mirror, assets=AssetStore(tmp_path / "storage",
                                                                      settings=indexer))).start()
    try:
        browser.get(f"{server.url}/m/{repo_id}")  # a repo page: fetched through the mirror as it is asked
        assert browser.find_element(By.TAG_NAME, "h1").text == repo_id
        assert "owned" not in browser.title and not browser.find_elements(By.TAG_NAME, "script")
        card = browser.find_element(By.ID, "card")
        assert "<script>" in card.text  # the card's HTML shown as text, never run
        assert card.find_elements(By.TAG_NAME, "table")  # its Markdown rendered
        assert "82.1" in browser.find_element(By.ID, "metrics").text
        files = browser.find_element(By.ID, "files").text
        assert hashlib.sha256(weights).hexdigest() in files and "300.0 kB" in files
        assert "card check (as lint): 0 error(s)" in browser.find_element(By.ID, "lint").text
        assert f"export HF_ENDPOINT={server.url}\nhub pull hf:{repo_id}" in browser.find_element(By.ID, "use").text

        browser.get(f"{server.url}/")
        assert repo_id in browser.find_element(By.ID, "models").text  # stored as its page was asked
        assert pub.name in browser.find_element(By.ID, "models").text
        box = browser.find_element(By.NAME, "q")
        box.send_keys(pub.name)
        box.submit()
        assert browser.current_url.endswith(f"?q={pub.name}")
        assert repo_id not in browser.find_element(By.ID, "models").text
        browser.find_element(By.LINK_TEXT, f"{pub.name}@2.5").click()
        assert browser.find_element(By.TAG_NAME, "h1").text == pub.name
        assert pub.digest in browser.find_element(By.ID, "files").text
        assert f"export HUB_MIRRORS={server.url}\nhub pull {pub.name}@2.5" in browser.find_element(By.ID, "use").text
    finally:
        server.stop()


@pytest.mark.usefixtures("net")
def test_a_blocked_model_page_says_which_rule_keeps_it_out(browser, hf_server, tmp_path, net):
    from selenium.webdriver.common.by import By

    from hub_server import LocalStorage, Mirror, create_app
    from hub_server.rules import load_rules

    repo_id = f"evil/{unique('web')}".replace("_", "-")
    hf_server.add(repo_id, {"README.md": CARD.format(name=repo_id).encode(), "model.safetensors": b"w" * 100})
    policy = tmp_path / "team-policy.yaml"
    policy.write_text("deny: ['hf:evil/*']\n")
    mirror = Mirror(LocalStorage(tmp_path / "storage" / "hf"), upstream=hf_server.url, rules=load_rules(policy))
    server = AsgiServer(create_app(mirror)).start()
    try:
        browser.get(f"{server.url}/m/{repo_id}")
        assert browser.find_element(By.TAG_NAME, "h1").text == repo_id
        text = browser.find_element(By.TAG_NAME, "body").text
        assert "Blocked by the mirror's policy." in text
        assert "team-policy.yaml: deny hf:evil/*" in text and f"hf:{repo_id} is denied" in text
        assert not browser.find_elements(By.TAG_NAME, "script")
    finally:
        server.stop()
