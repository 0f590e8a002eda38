#!/usr/bin/env python3
"""A BROWSER hook for the end-to-end tests: real headless Chromium (Debian's chromium and
chromium-driver, driven by Selenium) opens the authorize URL, types the admin's
credentials into the tenant simulator's sign-in form and presses Allow (or Deny when
E2E_BROWSER_DECISION=deny). It then waits for the next page: the redirect listener's result page, or the
simulator's device-flow result.

aic-mcp-server runs it as `$BROWSER <url>`; progress goes to $E2E_BROWSER_LOG."""

import os
import sys
import tempfile
import time

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as ec
from selenium.webdriver.support.ui import WebDriverWait


def log(msg: str) -> None:
    path = os.environ.get("E2E_BROWSER_LOG")
    if path:
        with open(path, "a", encoding="utf-8") as f:
            f.write(msg + "\n")


def main() -> int:
    url = sys.argv[-1]
    decision = os.environ.get("E2E_BROWSER_DECISION", "allow")
    opts = webdriver.ChromeOptions()
    opts.binary_location = os.environ.get("E2E_CHROMIUM", "/usr/bin/chromium")
    for flag in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        # The simulator's CA is not in Chromium's store; the login page is ours.
        "--ignore-certificate-errors",
    ):
        opts.add_argument(flag)
    profile = tempfile.mkdtemp(prefix="e2e-chromium-")
    opts.add_argument(f"--user-data-dir={profile}")
    service = Service(executable_path=os.environ.get("E2E_CHROMEDRIVER", "/usr/bin/chromedriver"))
    driver = webdriver.Chrome(service=service, options=opts)
    try:
        log(f"open {url.split('?')[0]}")
        driver.get(url)
        wait = WebDriverWait(driver, 30)
        wait.until(ec.presence_of_element_located((By.ID, "username")))
        driver.find_element(By.ID, "username").send_keys(os.environ.get("E2E_USER", "admin"))
        driver.find_element(By.ID, "password").send_keys(os.environ.get("E2E_PASSWORD", "Passw0rd!"))
        driver.find_element(By.ID, decision).click()
        wait.until(ec.presence_of_element_located((By.TAG_NAME, "h1")))
        deadline = time.time() + 30
        heading = ""
        while time.time() < deadline:
            try:
                heading = driver.find_element(By.TAG_NAME, "h1").text
            except Exception:  # the page is changing under us
                heading = ""
            if heading and heading != "Sign In":
                break
            time.sleep(0.1)
        log(f"result page: {heading}")
        shot = os.environ.get("E2E_BROWSER_SCREENSHOT")
        if shot:
            driver.save_screenshot(shot)
        return 0 if heading and heading != "Sign In" else 1
    except Exception as e:  # noqa: BLE001 - report anything to the test log
        log(f"browser error: {e!r}")
        return 1
    finally:
        driver.quit()


if __name__ == "__main__":
    sys.exit(main())
