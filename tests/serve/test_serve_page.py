"""The web page in a real browser: Debian's headless chromium driven by Selenium through
chromium-driver, against `vagent serve`'s app on 127.0.0.1 (a free port, stopped by the test)."""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import town_clips, using_plugins, uvicorn_thread
from tests.plugins import colour, scripted
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


@contextmanager
def _serving(root: Path, **options: Any) -> Iterator[str]:
    """`vagent serve`'s app over the library at ``root`` on 127.0.0.1 (a free port), in a
    thread; its base URL, stopped after."""
    from vagent.serve import create_app

    with uvicorn_thread(create_app(root, answerer="scripted", **options)) as port:
        yield f"http://127.0.0.1:{port}"


@pytest.fixture
def server(tmp_path: Path) -> Iterator[str]:
    d = tmp_path / "clips"
    d.mkdir()
    make_video(d / "street.mp4", ["red", "blue"], 10.0, size=(320, 240), keyframe_seconds=1.0)
    with using_plugins(colour, scripted):
        lib = Library.open(tmp_path / "lib")
        lib.index([d], encoder="colour", text="none", progress=False)
        with _serving(lib.root) as url:
            yield url


@pytest.fixture
def town(tmp_path: Path) -> Iterator[tuple[str, Library]]:
    """The server over street.mp4 and field.mp4, and the library (tests change it)."""
    with using_plugins(colour, scripted):
        lib = Library.open(tmp_path / "lib")
        lib.index([town_clips(tmp_path / "clips")], encoder="colour", text="none", progress=False)
        with _serving(lib.root) as url:
            yield url, lib


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


def _banner(drv: Any) -> str:
    return str(drv.execute_script("return document.getElementById('state').innerText"))


def test_missing_source_abstained_and_no_hits_states(
    town: tuple[str, Library], browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    url, lib = town
    (tmp_path / "clips" / "field.mp4").unlink()  # indexed, then gone from disk
    browser.get(url + "/")
    browser.find_element(By.ID, "q").send_keys("green\n")
    _wait(browser, "hit cards", "return document.querySelectorAll('.card').length")
    gone = browser.find_element(By.CSS_SELECTOR, ".card.missing")  # the green field comes first
    assert "field.mp4" in gone.text and "source file missing" in gone.text
    assert not gone.find_element(By.TAG_NAME, "img").get_attribute("src")  # no frame asked for
    gone.click()
    _wait(browser, "the missing-file banner", "return document.querySelector('#state .warn')")
    assert "The source file of field.mp4 is missing" in _banner(browser)
    assert not browser.execute_script("return document.getElementById('player').src")

    question = "What is the secret ingredient in the soup?"
    browser.find_element(By.ID, "question").send_keys(question)
    browser.find_element(By.ID, "ask-btn").click()
    _wait(browser, "the answer", "return !document.getElementById('answer').hidden", 60)
    _wait(browser, "the abstention", "return document.querySelector('#answer.abstained')", 60)
    answer = browser.find_element(By.ID, "answer").text
    assert answer.startswith("Abstained: The library holds nothing that answers this")
    links = browser.find_elements(By.CSS_SELECTOR, "a.citation")
    assert links and all(a.text.startswith("near miss: ") for a in links)

    lib.remove(["street.mp4"])  # the library holds nothing now: no search can match
    lib.remove(["field.mp4"])
    box = browser.find_element(By.ID, "q")
    box.clear()
    box.send_keys("red\n")
    _wait(browser, "the no-hits banner", "return document.querySelector('#state .warn')")
    assert _banner(browser) == "No moments match. Try other words."
    assert browser.execute_script("return document.querySelectorAll('.card').length") == 0


def test_the_header_follows_an_index_job_and_the_library_grows(
    tmp_path: Path, browser: Any
) -> None:
    import httpx

    with using_plugins(colour, scripted):
        clips = town_clips(tmp_path / "clips", field=False)
        lib = Library.open(tmp_path / "lib")
        lib.index([clips], encoder="colour", text="none", progress=False)
        with _serving(lib.root, allow_index=[clips]) as url:
            browser.get(url + "/")
            lib_line = "return document.getElementById('lib').textContent"
            _wait(browser, "the library line", lib_line + ".includes('1 videos')")
            make_video(clips / "new.mp4", ["yellow", "white"], 4.0, size=(160, 120))
            (clips / "bad.mp4").write_bytes(b"not a video")
            r = httpx.post(url + "/api/index", json={"paths": ["."]})
            assert r.status_code == 202, r.text
            job = "return document.getElementById('indexing').textContent"
            _wait(browser, "the finished job in the header", job + ".includes('job done')", 60)
            line = browser.execute_script(job)
            assert "1 indexed, 1 unchanged, 1 failed" in line, line
            _wait(browser, "the library line to grow", lib_line + ".includes('2 videos')")
