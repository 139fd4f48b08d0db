"""The web page in a real browser: Debian's headless chromium driven by Selenium through
chromium-driver, against `vagent serve`'s app on 127.0.0.1 (a free port, stopped by the test)."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.plugins import colour, scripted
from vagent import plugins
from vagent.library import Library
from vagent.synth import make_video

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
DRIVER = shutil.which("chromedriver") or shutil.which("chromium-driver")
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        CHROMIUM is None or DRIVER is None,
        reason="needs Debian's chromium and chromium-driver (apt-get install chromium "
        "chromium-driver; make test installs them as root)",
    ),
]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    import uvicorn

    from vagent.serve import create_app

    plugins.add_plugin("testcolour", colour)
    plugins.add_plugin("testscripted", scripted)
    d = tmp_path / "clips"
    d.mkdir()
    make_video(d / "street.mp4", ["red", "blue"], 10.0, size=(320, 240), keyframe_seconds=1.0)
    lib = Library.open(tmp_path / "lib")
    lib.index([d], encoder="colour", text="none", progress=False)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    app = create_app(lib.root, answerer="scripted")
    srv = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    t = threading.Thread(target=srv.run, daemon=True)
    t.start()
    deadline = time.monotonic() + 30
    while not srv.started and time.monotonic() < deadline:
        time.sleep(0.05)
    assert srv.started, "the server did not start within 30 s"
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        srv.should_exit = True
        t.join(10)
        plugins.remove_plugin("testscripted")
        plugins.remove_plugin("testcolour")


@pytest.fixture
def browser() -> Iterator[Any]:
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service

    opts = Options()
    opts.binary_location = str(CHROMIUM)
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--autoplay-policy=no-user-gesture-required", "--mute-audio",
                "--window-size=1280,900"):  # fmt: skip
        opts.add_argument(arg)
    drv = webdriver.Chrome(options=opts, service=Service(executable_path=str(DRIVER)))
    drv.set_page_load_timeout(30)
    drv.set_script_timeout(30)
    try:
        yield drv
    finally:
        drv.quit()


def _wait(drv: Any, what: str, script: str, seconds: float = 20.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got = drv.execute_script(script)
        if got:
            return got
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def test_search_click_plays_the_moment_and_citations_seek(
    server: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    browser.get(server + "/")
    box = browser.find_element(By.ID, "q")
    box.send_keys("blue\n")
    _wait(browser, "hit cards", "return document.querySelectorAll('.card').length")
    cards = browser.find_elements(By.CSS_SELECTOR, ".card")
    late = max(cards, key=lambda c: float(c.get_attribute("data-start")))
    start = float(late.get_attribute("data-start"))
    assert start == 10.0
    late.click()
    _wait(
        browser, "the player's metadata", "return document.getElementById('player').readyState >= 1"
    )
    now = browser.execute_script("return document.getElementById('player').currentTime")
    assert abs(now - start) < 0.5, (now, start)
    playing = _wait(
        browser,
        "playback to advance",
        f"const v = document.getElementById('player'); return !v.paused && v.currentTime > {start}",
    )
    assert playing
    assert browser.find_element(By.ID, "segment").is_displayed()
    browser.save_screenshot(str(tmp_path / "serve-page.png"))
    assert (tmp_path / "serve-page.png").stat().st_size > 1000
    shot = os.environ.get("VAGENT_SCREENSHOT")  # where README's picture is regenerated
    if shot:
        shutil.copy(tmp_path / "serve-page.png", shot)

    browser.find_element(By.ID, "question").send_keys("Which colour comes after red?")
    browser.find_element(By.ID, "ask-btn").click()
    _wait(browser, "citations", "return document.querySelectorAll('a.citation').length", 60)
    link = browser.find_element(By.CSS_SELECTOR, "a.citation")
    cited = float(link.get_attribute("data-start"))
    away = 19.0 if cited < 15 else 1.0  # move the player off the cited moment first
    browser.execute_script(
        f"const v = document.getElementById('player'); v.pause(); v.currentTime = {away}"
    )
    _wait(
        browser,
        "the player to move away",
        f"return Math.abs(document.getElementById('player').currentTime - {away}) < 0.5",
    )
    link.click()
    _wait(
        browser,
        "the player to seek to the citation",
        f"return Math.abs(document.getElementById('player').currentTime - {cited}) < 0.5",
    )
    assert "answered in" in browser.find_element(By.ID, "progress").text
