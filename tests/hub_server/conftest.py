"""What the mirror's page tests share: one headless Chromium (Debian's ``chromium`` and ``chromium-driver``,
driven by Selenium) per module, 1280 px wide."""

from __future__ import annotations

import shutil

import pytest
from helpers.tools import need, need_module


@pytest.fixture(scope="module")
def browser():
    need_module("selenium")
    need("chromium")
    need("chromedriver")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = shutil.which("chromium") or "/usr/bin/chromium"
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--hide-scrollbars"):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(executable_path=shutil.which("chromedriver")), options=options)
    driver.set_page_load_timeout(30)
    driver.set_window_size(1280, 1000)
    yield driver
    driver.quit()
