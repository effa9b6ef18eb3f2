"""The headless Chromium and check-and-report scaffolding shared by the console's browser tests.

Uses Debian's `chromium` and `chromium-driver` packages (installed by .ci/run); CHROMIUM_BINARY and CHROMEDRIVER
override their paths. Selenium Manager is never consulted, so nothing is downloaded: the machine may be offline.
"""
import os
import sys
import traceback
from pathlib import Path

# Belt and braces: Selenium skips its manager when the Service names a driver, and this keeps it offline if it runs.
os.environ.setdefault("SE_OFFLINE", "true")

from selenium import webdriver  # noqa: E402 - SE_OFFLINE must be set first
from selenium.webdriver.chrome.service import Service  # noqa: E402

CHROMIUM_BINARY = os.environ.get("CHROMIUM_BINARY", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")
WINDOW_WIDTH, WINDOW_HEIGHT = 1280, 900
MAX_SCREENSHOT_HEIGHT = 4000


def make_driver():
    """Starts headless Chromium under Debian's chromedriver; the caller quits it."""
    for path in (CHROMIUM_BINARY, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            raise FileNotFoundError(f"{path} is missing or not executable; apt-get install chromium chromium-driver")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM_BINARY
    for argument in (
        "--headless=new",
        "--no-sandbox",  # the tests run as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",  # a container's /dev/shm may be tiny
        f"--window-size={WINDOW_WIDTH},{WINDOW_HEIGHT}",
        "--disable-gpu",
        "--no-first-run",
        "--no-default-browser-check",
        "--disable-extensions",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))


def screenshot(driver, directory, name):
    """Saves the whole page (up to MAX_SCREENSHOT_HEIGHT px tall) as `directory/name.png` and returns its path."""
    path = Path(directory) / f"{name}.png"
    path.parent.mkdir(parents=True, exist_ok=True)
    size = driver.get_window_size()
    # Headless Chromium's window is taller than its viewport (about 140 px of virtual browser chrome); add that back.
    page, viewport, window = driver.execute_script(
        "return [Math.max(document.body ? document.body.scrollHeight : 0, document.documentElement.scrollHeight),"
        " window.innerHeight, window.outerHeight]")
    height = min(max(int(page), int(viewport)), MAX_SCREENSHOT_HEIGHT) + int(window) - int(viewport)
    driver.set_window_size(size["width"], height)
    try:
        if not driver.save_screenshot(str(path)):
            raise RuntimeError(f"could not write {path}")
    finally:
        driver.set_window_size(size["width"], size["height"])
    return path


class Check:
    """Records named checks and reports them as Tests/Conformance/sdk_checks.py does: `ok   name` / `FAIL name`
    lines, the failures' tracebacks on stderr, and a `label: N passed, N failed` summary."""

    def __init__(self):
        self.results = []

    def __call__(self, name):
        """Runs the decorated function at once and records whether it passed; failures do not stop later checks."""
        def wrap(fn):
            try:
                fn()
                self.results.append((name, None))
            except Exception as error:  # noqa: BLE001 - report every failure, keep going
                self.results.append((name, f"{type(error).__name__}: {error}\n{traceback.format_exc()}"))
            return fn
        return wrap

    def report_and_exit(self, label):
        """Prints one line per check and a `N passed, N failed` summary, then exits non-zero on any failure."""
        failed = [(name, why) for name, why in self.results if why]
        for name, why in self.results:
            print(f"{'ok  ' if not why else 'FAIL'} {name}")
        for name, why in failed:
            print(f"--- {name}\n{why}", file=sys.stderr)
        print(f"{label}: {len(self.results) - len(failed)} passed, {len(failed)} failed")
        sys.exit(1 if failed else 0)
