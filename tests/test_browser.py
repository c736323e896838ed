"""The notebook in a real headless browser: `fleetsim view` serves it on a results folder,
Chromium (driven by Selenium with the system's chromedriver) moves the hosting-fee slider,
runs a what-if, and the difference the page shows is the one `sim.api.what_if` gives for the
same inputs. Screenshots go to the test's folder. Skipped, saying why, where no browser is
installed (.ci/run installs chromium and chromium-driver where apt-get can)."""
from __future__ import annotations

import importlib.util
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from sim import api

from test_notebook import run_cli, two_clouds

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = next((p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None)
DRIVER = shutil.which("chromedriver")
MISSING = [what for what, ok in (("chromium", CHROMIUM), ("chromedriver", DRIVER),
                                 ("selenium", importlib.util.find_spec("selenium")),
                                 ("marimo", importlib.util.find_spec("marimo"))) if not ok]
pytestmark = pytest.mark.skipif(bool(MISSING), reason=f"no browser test: {', '.join(MISSING)} not installed "
                                                        f"(apt-get install chromium chromium-driver; the test extra)")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, server: subprocess.Popen, seconds: float = 60) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if server.poll() is not None:
            raise AssertionError(f"fleetsim view exited: {server.communicate()[0][-2000:]}")
        try:
            socket.create_connection(("127.0.0.1", port), 0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise AssertionError("fleetsim view did not start listening")


def _element(d, tag: str, label: str):
    """The marimo UI element `tag` whose label holds `label`."""
    from selenium.webdriver.common.by import By
    found = [e for e in d.find_elements(By.CSS_SELECTOR, tag) if label in (e.get_attribute("data-label") or "")]
    assert found, f"no {tag} labelled {label!r} on the page"
    return found[0]


def test_a_what_if_in_the_browser_shows_the_apis_difference(tmp_path):
    from selenium import webdriver
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait

    config = two_clouds(tmp_path)
    assert run_cli(config, "--out", tmp_path / "out", "--quiet").returncode == 0
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "sim", "view", str(tmp_path / "out" / "merged"), "--config",
                               str(config), "--port", str(port), "--headless"], cwd=ROOT, stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True)
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1300,2600"):
        options.add_argument(flag)
    driver = None
    try:
        _wait_for_port(port, server)
        driver = webdriver.Chrome(service=Service(DRIVER), options=options)
        wait = WebDriverWait(driver, 120, poll_frequency=0.5)
        driver.get(f"http://127.0.0.1:{port}")
        wait.until(lambda d: "hosting_fees_usd" in d.page_source and d.find_elements(By.CSS_SELECTOR, "marimo-button"))
        driver.save_screenshot(str(tmp_path / "loaded.png"))
        fee = _element(driver, "marimo-slider", "hosting fee")
        thumb = fee.shadow_root.find_element(By.CSS_SELECTOR, "[role=slider]")
        assert thumb.get_attribute("aria-valuenow") == "120"    # the config's own fee
        for _ in range(4):                                      # 4 steps of $5
            thumb.send_keys(Keys.ARROW_RIGHT)
        wait.until(lambda d: thumb.get_attribute("aria-valuenow") == "140")
        _element(driver, "marimo-button", "run what-if").shadow_root.find_element(By.CSS_SELECTOR, "button").click()
        table = wait.until(lambda d: d.find_elements(
            By.XPATH, "//*[contains(., 'What-if against the loaded run')]/following::table[1]//tr[td]"))
        driver.save_screenshot(str(tmp_path / "what_if.png"))
        head = [th.text.strip() for th in table[0].find_elements(By.XPATH, "./preceding::tr[th][1]/th")]
        rows = {r.find_elements(By.TAG_NAME, "td")[0].text.strip(): [td.text.strip() for td in
                                                                     r.find_elements(By.TAG_NAME, "td")]
                for r in table}
    finally:
        if driver is not None:
            driver.quit()
        server.terminate()
        server.wait(timeout=30)
    expected = api.what_if(config, hosting_fee_usd_per_kw_month=140, replicas=2)
    shown = dict(zip(head, rows["hosting_fees_usd"]))
    assert shown["what-if merged - standalone"] == api.format_interval(
        expected.summary["comparison"]["hosting_fees_usd"], "USD")
    loaded = api.load_results(tmp_path / "out" / "merged").summary["variants"]["merged"]["metrics"]["npv_usd"]["mean"]
    npv = dict(zip(head, rows["npv_usd"]))
    assert npv["change"] == api.format_value(
        expected.summary["variants"]["merged"]["metrics"]["npv_usd"]["mean"] - loaded, "USD")
