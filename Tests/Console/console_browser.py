"""Drives the web console in a real headless Chromium against a live gateway (started by ConsoleBrowserTests.swift).

Environment: GATEROUTER_ROOT (http://127.0.0.1:port), GATEROUTER_API_KEY (the default account's manage key),
GATEROUTER_ADMIN_TOKEN, GATEROUTER_MODEL (a fixed model served by the mock upstream), GATEROUTER_SCREENSHOTS (where
the page screenshots go).
"""
import json
import os
import time
import urllib.error
import urllib.request
from decimal import Decimal

from selenium.common.exceptions import TimeoutException
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as EC
from selenium.webdriver.support.ui import Select, WebDriverWait

from browser import Check, make_driver, screenshot

ROOT = os.environ["GATEROUTER_ROOT"]
ACCOUNT_KEY = os.environ["GATEROUTER_API_KEY"]
ADMIN_TOKEN = os.environ["GATEROUTER_ADMIN_TOKEN"]
MODEL = os.environ["GATEROUTER_MODEL"]
SHOTS = os.environ["GATEROUTER_SCREENSHOTS"]

check = Check()
driver = make_driver()
wait = WebDriverWait(driver, 10)
state = {}


def api_chat(key, model, content="hi"):
    """One chat completion through the public API; returns (status, parsed JSON body)."""
    request = urllib.request.Request(
        f"{ROOT}/openai/v1/chat/completions",
        data=json.dumps({"model": model, "messages": [{"role": "user", "content": content}]}).encode(),
        headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def find(selector):
    return driver.find_element(By.CSS_SELECTOR, selector)


def go(path):
    driver.get(ROOT + path)


def sign_in(secret):
    go("/console/login")
    box = wait.until(EC.presence_of_element_located((By.ID, "key")))
    box.clear()
    box.send_keys(secret)
    find("#sign-in").click()


def text_eventually(selector, predicate, timeout=10, reload=False):
    """Waits until the element's text satisfies predicate (reloading the page between looks when asked)."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        try:
            last = find(selector).text
            if predicate(last):
                return last
        except Exception:  # noqa: BLE001 - not there yet
            pass
        time.sleep(0.3)
        if reload:
            driver.refresh()
    raise AssertionError(f"{selector}: text never matched; last seen {last!r}")


def money(cost):
    """The console's rendering of a USD amount from the API's usage.cost number."""
    text = format(Decimal(str(cost)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "$" + text


@check("login: a wrong key is refused with a message, and pages redirect to sign-in")
def _():
    go("/console/keys")
    wait.until(EC.url_contains("/console/login"))
    screenshot(driver, SHOTS, "01-login")
    sign_in("gr-not-a-real-key")
    error = wait.until(EC.visibility_of_element_located((By.ID, "login-error")))
    assert "not a valid" in error.text, error.text


@check("login: an account key signs in to the dashboard")
def _():
    sign_in(ACCOUNT_KEY)
    wait.until(EC.presence_of_element_located((By.ID, "total-requests")))
    assert driver.title.startswith("Dashboard"), driver.title
    cookie = driver.get_cookie("gr_console")
    assert cookie and cookie["httpOnly"] and cookie.get("sameSite") == "Strict", cookie
    nav = [link.text for link in driver.find_elements(By.CSS_SELECTOR, "header nav a")]
    assert "Accounts" not in nav and "Settings" in nav and "Playground" in nav, nav


@check("keys: create a key, see it once with a copy button, and call the API with it")
def _():
    go("/console/keys")
    find("#key-name").send_keys("browser test key")
    find("#key-rpm").send_keys("600")
    find("#create-key-button").click()
    secret = text_eventually("#new-key-secret", lambda text: text.startswith("gr-"))
    assert find("#copy-key").is_displayed()
    row = wait.until(EC.presence_of_element_located((By.XPATH, "//table[@id='keys']//th[contains(., 'browser test key')]/..")))
    assert "600 req/min" in row.text, row.text
    assert secret not in driver.page_source.replace(find("#new-key-secret").get_attribute("outerHTML"), ""), "the secret appears once"
    status, body = api_chat(secret, MODEL)
    assert status == 200 and body["model"] == MODEL, (status, body)
    state["key"] = secret
    screenshot(driver, SHOTS, "03-keys")


@check("settings: auto routing off makes model auto answer 'auto routing is not enabled'; on again, it answers")
def _():
    go("/console/settings")
    toggle = wait.until(EC.presence_of_element_located((By.ID, "auto-routing")))
    assert toggle.is_selected(), "auto routing starts on"
    driver.execute_script("arguments[0].click()", toggle)  # the styled switch covers the input
    text_eventually("#settings-status", lambda text: text.startswith("Saved"))
    status, body = api_chat(state.get("key", ACCOUNT_KEY), "auto")
    assert status == 400 and "auto routing is not enabled" in body["error"]["message"], (status, body)
    driver.refresh()
    toggle = wait.until(EC.presence_of_element_located((By.ID, "auto-routing")))
    assert not toggle.is_selected(), "the page shows the stored setting"
    screenshot(driver, SHOTS, "04-settings-auto-off")
    driver.execute_script("arguments[0].click()", toggle)
    text_eventually("#settings-status", lambda text: text.startswith("Saved"))
    status, body = api_chat(state.get("key", ACCOUNT_KEY), "auto")
    assert status == 200 and body["model"].startswith("deepseek/"), (status, body)


@check("settings: bad input is refused with the API's message and changes nothing")
def _():
    go("/console/settings")
    price = wait.until(EC.presence_of_element_located((By.ID, "max-output-price")))
    price.clear()
    price.send_keys("cheap")
    strategy = Select(find("#strategy"))
    strategy.select_by_value("latency")
    find("#save-settings").click()
    message = text_eventually("#settings-status", lambda text: "max_output_price" in text)
    assert "not a non-negative decimal" in message, message
    driver.refresh()
    assert find("#max-output-price").get_attribute("value") == "", "nothing stored"
    assert Select(find("#strategy")).first_selected_option.get_attribute("value") == "balanced", "not even the valid field"


@check("dashboard and logs: requests show with the model that answered and their exact cost")
def _():
    costs = []
    for index in range(3):
        status, body = api_chat(state.get("key", ACCOUNT_KEY), MODEL, f"count me {index}")
        assert status == 200, body
        costs.append(Decimal(str(body["usage"]["cost"])))
    go("/console/logs")
    # Records are written behind the responses: reload until the newest are there.
    deadline = time.monotonic() + 10
    while True:
        answered = [cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "#logs tbody tr .answered")]
        if answered.count(MODEL) >= 4 or time.monotonic() > deadline:
            break
        time.sleep(0.3)
        driver.refresh()
    assert answered.count(MODEL) >= 4, answered
    first = driver.find_elements(By.CSS_SELECTOR, "#logs tbody tr")[0]
    assert first.find_element(By.CSS_SELECTOR, ".answered").text == MODEL, first.text
    assert first.find_element(By.CSS_SELECTOR, ".cost").text == money(costs[-1]), (first.text, money(costs[-1]))
    assert first.find_element(By.CSS_SELECTOR, ".status").text == "200"
    find("#log-status").send_keys("400")
    find("#log-filters button").click()
    wait.until(EC.url_contains("status=400"))
    statuses = {cell.text for cell in driver.find_elements(By.CSS_SELECTOR, "#logs tbody .status")}
    assert statuses == {"400"}, f"only the refused auto request is left: {statuses}"
    screenshot(driver, SHOTS, "06-logs")
    go("/console/")
    row = wait.until(EC.presence_of_element_located((By.CSS_SELECTOR, f'#by-model tr[data-model="{MODEL}"]')))
    cells = row.find_elements(By.TAG_NAME, "td")
    assert int(cells[0].text) >= 4, row.text  # the key test's call and these three
    assert cells[2].text.startswith("$") and Decimal(cells[2].text[1:]) >= sum(costs), (row.text, sum(costs))
    assert find("#total-requests").text not in ("", "0")
    assert len(driver.find_elements(By.CSS_SELECTOR, "svg.chart rect.s1")) > 0, "charts have bars"
    screenshot(driver, SHOTS, "02-dashboard")


@check("playground: streams an answer from the mock provider, naming the model, tokens and cost")
def _():
    go("/console/playground")
    Select(find("#pg-model")).select_by_value(MODEL)
    prompt = find("#pg-prompt")
    prompt.clear()
    prompt.send_keys("Please repeat these words back slowly: " + "alpha beta gamma delta " * 10)
    find("#pg-send").click()
    lengths = set()
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        lengths.add(len(find("#pg-output").text))
        if find("#pg-cost").text not in ("…", "–", ""):
            break
        time.sleep(0.05)
    output = find("#pg-output").text
    assert "Hello from the mock provider" in output, output
    partial = [length for length in lengths if 0 < length < len(output)]
    assert len(partial) >= 2, f"the answer arrived in pieces, not at once: {sorted(lengths)}"
    assert find("#pg-answered").text == MODEL, find("#pg-answered").text
    assert "/" in find("#pg-tokens").text and find("#pg-cost").text.startswith("$"), find("#pg-meta").text
    screenshot(driver, SHOTS, "07-playground")


@check("models, integrations: the catalog filters and the snippets carry this gateway's base URL")
def _():
    go("/console/models")
    rows = driver.find_elements(By.CSS_SELECTOR, "#models tbody tr")
    Select(find("#filter-provider")).select_by_visible_text("deepseek")
    visible = [row for row in rows if row.is_displayed()]
    assert 0 < len(visible) < len(rows) and all(row.get_attribute("data-provider") == "deepseek" for row in visible)
    screenshot(driver, SHOTS, "05-models")
    go("/console/integrations")
    assert find("#base-url").text == ROOT + "/openai/v1"
    openclaw = find("#snippet-openclaw").text
    assert '"api": "openai-completions"' in openclaw and '"primary": "gaterouter/auto"' in openclaw and "contextWindow" in openclaw
    assert "gr-••••" in openclaw, "the key is masked until revealed"
    find("#reveal-key").click()
    assert state.get("key", ACCOUNT_KEY) in find("#snippet-python").text, "revealed: the key of this tab"
    assert "public" in find("#integration-cursor").text.lower()
    screenshot(driver, SHOTS, "08-integrations")


@check("an account key cannot reach admin pages or the admin API, and calls without the CSRF token are refused")
def _():
    go("/console/accounts")
    error = wait.until(EC.presence_of_element_located((By.ID, "page-error")))
    assert "admin" in error.text.lower(), error.text
    status = driver.execute_async_script(
        "const done = arguments[0]; fetch('/admin/v1/accounts', {credentials: 'same-origin'}).then(r => done(r.status));")
    assert status in (401, 403), status
    result = driver.execute_async_script(
        "const done = arguments[0]; fetch('/api/v1/settings', {method: 'PATCH', credentials: 'same-origin',"
        " headers: {'Content-Type': 'application/json'}, body: '{\"auto_routing\": false}'})"
        ".then(r => r.json().then(j => done([r.status, j.error && j.error.code])));")
    assert result == [403, "csrf_token_invalid"], result


@check("sign out ends the session; the admin token signs in to every account")
def _():
    find("#sign-out").click()
    wait.until(EC.url_contains("/console/login"))
    go("/console/")
    wait.until(EC.url_contains("/console/login"))
    sign_in(ADMIN_TOKEN)
    wait.until(EC.presence_of_element_located((By.ID, "accounts")))
    find("#account-name").send_keys("Browser Co")
    balance = find("#account-balance")
    balance.clear()
    balance.send_keys("25")
    find("#create-account button").click()
    row = wait.until(EC.presence_of_element_located((By.XPATH, "//table[@id='accounts']//a[contains(., 'Browser Co')]/../..")))
    assert "$25" in row.text, row.text
    assert "default" in find("#accounts").text.lower()
    screenshot(driver, SHOTS, "09-accounts-admin")


try:
    check.report_and_exit("console in Chromium")
finally:
    try:
        driver.quit()
    except Exception:  # noqa: BLE001
        pass
