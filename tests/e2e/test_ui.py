"""End-to-end checks of the built-in web UI (`/ui/`) in a real browser: Debian's chromium and
chromium-driver, headless, driven by selenium, against a real `hearth serve` on the bundled model.

Run by scripts/e2e.sh with OLLAMA_HOST pointing at a fresh server and HEARTH_BIN at the binary.
Starts extra servers itself from HEARTH_BIN (one with an API key, one `--registry` to pull from,
one with `--no-ui`) on free loopback ports with temporary stores, and stops them at the end.
Screenshots of each page go to target/ui-screenshots/. Prints one line per check and a closing
'N passed, N failed' line; exits non-zero on any failure.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from datetime import datetime
import urllib.error
import urllib.request
from pathlib import Path

from selenium import webdriver
from selenium.common.exceptions import NoAlertPresentException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys
from selenium.webdriver.support.ui import Select, WebDriverWait

HOST = os.environ["OLLAMA_HOST"].rstrip("/")
if not HOST.startswith("http"):
    HOST = "http://" + HOST
BIN = os.environ.get("HEARTH_BIN", "target/release/hearth")
ROOT = Path(__file__).resolve().parents[2]
SHOTS = Path(os.environ.get("CARGO_TARGET_DIR", ROOT / "target")) / "ui-screenshots"
MODEL = "smollm2:135m"
PAYLOAD = "<img src=x onerror=alert(1)>"
CHECKS = []
SERVERS = []


def check(fn):
    CHECKS.append(fn)
    return fn


# --- helpers -----------------------------------------------------------------------------------


def http(method, url, body=None, headers=None, timeout=120):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as r:
            return r.status, r.read().decode(), dict(r.headers)
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode(), dict(e.headers)


def metric(name, base=HOST):
    _, text, _ = http("GET", base + "/metrics")
    return sum(float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ") or line.startswith(name + "{"))


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def start_server(*args, env=None):
    """A `hearth serve` of our own on a free loopback port with an empty store; returns its URL."""
    port = free_port()
    store = tempfile.mkdtemp(prefix="hearth-ui-")
    e = {k: v for k, v in os.environ.items() if not k.startswith(("HEARTH_", "OLLAMA_"))}
    e.update({"OLLAMA_HOST": f"127.0.0.1:{port}", "OLLAMA_MODELS": store, "HEARTH_BIN": BIN}, **(env or {}))
    log = open(os.path.join(store, "serve.log"), "w")
    proc = subprocess.Popen([BIN, "serve", *args], env=e, stdout=log, stderr=subprocess.STDOUT)
    SERVERS.append((proc, store))
    url = f"http://127.0.0.1:{port}"
    for _ in range(150):
        try:
            if http("GET", url + "/", timeout=2)[0] == 200:
                return url, store
        except OSError:
            pass
        if proc.poll() is not None:
            raise RuntimeError(f"hearth serve exited: {open(log.name).read()}")
        time.sleep(0.2)
    raise RuntimeError("hearth serve did not answer")


def stop_servers():
    for proc, store in SERVERS:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
        shutil.rmtree(store, ignore_errors=True)


def browser(width=1280, height=860):
    opts = webdriver.ChromeOptions()
    for a in ["--headless=new", "--no-sandbox", "--disable-dev-shm-usage", f"--window-size={width},{height}", "--disable-gpu"]:
        opts.add_argument(a)
    opts.binary_location = os.environ.get("CHROMIUM", "/usr/bin/chromium")
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    d = webdriver.Chrome(service=Service(os.environ.get("CHROMEDRIVER", "/usr/bin/chromedriver")), options=opts)
    d.set_script_timeout(30)
    return d


def wait(cond, timeout=60, what="condition"):
    end = time.time() + timeout
    last = None
    while time.time() < end:
        try:
            v = cond()
            if v:
                return v
        except Exception as e:  # noqa: BLE001 - retried until the deadline
            last = e
        time.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}" + (f" (last error: {last!r})" if last else ""))


def open_ui(d, base=HOST, page="chat"):
    d.get(f"{base}/ui/#{page}")
    wait(lambda: d.execute_script("return document.body.dataset.ready") == "1", what="the UI to start")


def shot(d, name):
    SHOTS.mkdir(parents=True, exist_ok=True)
    d.save_screenshot(str(SHOTS / f"{name}.png"))


def pick_model(d, name=MODEL):
    wait(lambda: name in [o.get_attribute("value") for o in d.find_elements(By.CSS_SELECTOR, "#model-select option")], what="the model list")
    Select(d.find_element(By.ID, "model-select")).select_by_value(name)


def set_option(d, field, value):
    if not d.find_element(By.ID, "settings").is_displayed():
        d.find_element(By.ID, "settings-btn").click()
    e = d.find_element(By.ID, f"opt-{field}")
    e.clear()
    if value != "":
        e.send_keys(str(value))


def answers(d):
    return d.find_elements(By.CSS_SELECTOR, "#messages .msg.assistant")


def last_answer_text(d):
    # Read in one script: the bubble is re-rendered as the answer grows.
    return d.execute_script("const b = [...document.querySelectorAll('#messages .msg.assistant .body')].at(-1); return b ? b.innerText : '';")


def streaming(d):
    return d.find_element(By.ID, "stop").is_displayed()


def no_alert(d):
    try:
        d.switch_to.alert
        return False
    except NoAlertPresentException:
        return True


D = None


def driver():
    global D
    if D is None:
        D = browser()
    return D


# --- checks ------------------------------------------------------------------------------------


@check
def root_stays_ollama_and_ui_is_served():
    assert http("GET", HOST + "/")[1] == "Ollama is running"
    status, body, headers = http("GET", HOST + "/ui/")
    assert status == 200 and "<title>hearth</title>" in body, status
    csp = {k.lower(): v for k, v in headers.items()}["content-security-policy"]
    assert "script-src 'self'" in csp and "unsafe-inline" not in csp, csp
    assert http("GET", HOST + "/ui/js/chat.js")[0] == 200
    # The Host check against DNS rebinding covers the UI too.
    assert http("GET", HOST + "/ui/", headers={"Host": "evil.example"})[0] == 403
    assert http("GET", HOST + "/ui/", headers={"Origin": "http://evil.example"})[0] == 403


@check
def chat_streams_token_by_token():
    d = driver()
    open_ui(d)
    d.execute_script("localStorage.clear();")
    d.refresh()
    open_ui(d)
    pick_model(d)
    set_option(d, "temperature", 0)
    set_option(d, "num_predict", 100)
    d.find_element(By.ID, "settings-btn").click()
    box = d.find_element(By.ID, "input")
    box.send_keys("Write a Python function that adds two numbers.")
    box.send_keys(Keys.SHIFT, Keys.ENTER)
    box.send_keys("Explain it briefly.")
    assert "\n" in box.get_attribute("value"), "Shift+Enter adds a new line"
    box.send_keys(Keys.ENTER)
    seen = []
    wait(lambda: answers(d), what="an answer bubble")
    end = time.time() + 120
    while time.time() < end:
        text = last_answer_text(d)
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        if not streaming(d):
            break
        time.sleep(0.03)
    assert not streaming(d), "the answer never finished"
    # Rendered Markdown may shift as a span or fence closes, so growth is judged overall: two or
    # more distinct texts seen while streaming, the last longer than the first.
    growing = [t for t in seen if t]
    assert len(growing) >= 2 and len(growing[-1]) > len(growing[0]), growing[:5]
    meta = answers(d)[-1].find_element(By.CSS_SELECTOR, ".meta").text
    assert "tokens/s" in meta and "TTFT" in meta, meta
    user = d.find_elements(By.CSS_SELECTOR, "#messages .msg.user")[-1].text
    assert "adds two numbers.\nExplain it briefly." in user, user
    shot(d, "chat")


@check
def stop_frees_the_slot():
    d = driver()
    set_option(d, "num_predict", 4000)
    d.find_element(By.ID, "settings-btn").click()
    box = d.find_element(By.ID, "input")
    n = len(answers(d))
    # At temperature 0 this prompt makes the model repeat itself until num_predict: a long answer.
    box.send_keys("Tell me a short story about a cat.")
    box.send_keys(Keys.SHIFT, Keys.ENTER)  # the modifier stays down until the end of the call
    box.send_keys("Keep it simple.", Keys.ENTER)
    wait(lambda: len(answers(d)) == n + 1 and len(last_answer_text(d)) > 30, 120, "the long answer to start")
    assert streaming(d), "the long answer ended by itself"
    # Esc stops (the Stop button does the same: it aborts the fetch).
    d.find_element(By.TAG_NAME, "body").send_keys(Keys.ESCAPE)
    stopped = time.time()
    wait(lambda: not streaming(d), 10, "the stream to stop")
    assert answers(d)[-1].find_elements(By.CSS_SELECTOR, ".stopped"), "the answer is not marked stopped"
    wait(lambda: metric("hearth_queue_depth") == 0, 10, "the request to leave the queue")
    a = metric("hearth_generated_tokens_total")
    time.sleep(1.5)
    assert metric("hearth_generated_tokens_total") == a, "the server kept generating after Stop"
    _, ps, _ = http("GET", HOST + "/api/ps")
    m = next(m for m in json.loads(ps)["models"] if m["model"] == MODEL)
    expires = datetime.fromisoformat(m["expires_at"]).timestamp()
    assert expires > stopped + 60, "keep_alive restarts when the last lease drops: the slot was released"
    t = time.time()
    status, body, _ = http("POST", HOST + "/api/chat", {"model": MODEL, "messages": [{"role": "user", "content": "Hi"}], "stream": False, "options": {"num_predict": 8}})
    assert status == 200 and json.loads(body)["done"], body
    assert time.time() - t < 30
    # The next request from the UI works too.
    set_option(d, "num_predict", 12)
    d.find_element(By.ID, "settings-btn").click()
    box.send_keys("Say hello.", Keys.ENTER)
    wait(lambda: not streaming(d) and answers(d)[-1].find_elements(By.CSS_SELECTOR, ".tps"), 120, "the next answer")


@check
def regenerate_and_edit_last():
    d = driver()
    set_option(d, "num_predict", 12)
    d.find_element(By.ID, "settings-btn").click()
    n = len(answers(d))
    answers(d)[-1].find_element(By.CSS_SELECTOR, "button.regenerate").click()
    wait(lambda: not streaming(d) and answers(d)[-1].find_elements(By.CSS_SELECTOR, ".tps"), 120, "the regenerated answer")
    assert len(answers(d)) == n, "regenerate replaces the last answer"
    answers(d)[-1].find_element(By.CSS_SELECTOR, "button.edit-last").click()
    assert d.find_element(By.ID, "input").get_attribute("value") == "Say hello."
    assert len(answers(d)) == n - 1
    box = d.find_element(By.ID, "input")
    box.send_keys(" Please.", Keys.ENTER)
    wait(lambda: not streaming(d) and len(answers(d)) == n, 120, "the edited message's answer")
    assert d.find_elements(By.CSS_SELECTOR, "#messages .msg.user")[-1].text == "Say hello. Please."


@check
def conversation_survives_reload_rename_and_delete():
    d = driver()
    d.refresh()
    open_ui(d)
    titles = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#conv-list .title")]
    assert any(t.startswith("Write a Python function that adds two numbers.") for t in titles), titles
    d.find_element(By.CSS_SELECTOR, "#conv-list li .title").click()
    assert len(answers(d)) >= 3
    d.find_element(By.CSS_SELECTOR, "#conv-list li .rename").click()
    alert = d.switch_to.alert
    alert.send_keys("Cats")
    alert.accept()
    assert d.find_element(By.CSS_SELECTOR, "#conv-list li .title").text == "Cats"
    d.refresh()
    open_ui(d)
    assert d.find_element(By.CSS_SELECTOR, "#conv-list li .title").text == "Cats"
    # A throwaway conversation, deleted after confirming.
    d.find_element(By.ID, "new-chat").click()
    set_option(d, "num_predict", 4)
    d.find_element(By.ID, "settings-btn").click()
    d.find_element(By.ID, "input").send_keys("Throwaway", Keys.ENTER)
    wait(lambda: not streaming(d) and answers(d), 60, "the throwaway answer")
    assert [e.text for e in d.find_elements(By.CSS_SELECTOR, "#conv-list .title")][0] == "Throwaway"
    d.find_element(By.CSS_SELECTOR, "#conv-list li .delete").click()
    d.switch_to.alert.accept()
    titles = [e.text for e in d.find_elements(By.CSS_SELECTOR, "#conv-list .title")]
    assert "Throwaway" not in titles and "Cats" in titles, titles
    assert "Throwaway" not in d.execute_script("return localStorage.getItem('hearth.conversations')")


def assert_rendered_as_text(d, bubble, payload):
    body = bubble.find_element(By.CSS_SELECTOR, ".body")
    assert payload in body.text, body.text
    assert not body.find_elements(By.TAG_NAME, "img") and not body.find_elements(By.TAG_NAME, "script"), body.get_attribute("innerHTML")
    assert not d.find_elements(By.CSS_SELECTOR, "#messages img, #messages script, #messages iframe")
    assert no_alert(d), "a script ran"
    assert d.execute_script("return window.__pwned === undefined")


@check
def model_output_with_html_renders_as_text():
    d = driver()
    # The real model, forced by a JSON-schema grammar to write the payload, streamed through the
    # same rendering path as every answer.
    open_ui(d)
    d.find_element(By.ID, "new-chat").click()
    pick_model(d)
    set_option(d, "num_predict", 40)
    set_option(d, "format", json.dumps({"type": "string", "enum": [PAYLOAD]}))
    d.find_element(By.ID, "settings-btn").click()
    d.find_element(By.ID, "input").send_keys("Write an HTML image tag.", Keys.ENTER)
    wait(lambda: not streaming(d) and answers(d) and answers(d)[-1].find_elements(By.CSS_SELECTOR, ".meta"), 60, "the answer")
    assert_rendered_as_text(d, answers(d)[-1], PAYLOAD)
    set_option(d, "format", "")
    d.find_element(By.ID, "settings-btn").click()
    # Stored answers (localStorage) render through the same function after a reload.
    nasty = f'{PAYLOAD}\n\n<script>window.__pwned=1</script>\n\n**bold** <img src=x onerror="window.__pwned=2"> [x](javascript:window.__pwned=3)\n\n```html\n<b onmouseover=alert(1)>x</b>\n```'
    d.execute_script(
        """const list = JSON.parse(localStorage.getItem('hearth.conversations') || '[]');
        list.unshift({id: 'xss', title: 'XSS', model: arguments[1], created: Date.now(), updated: Date.now() + 1e9,
          messages: [{role: 'user', content: arguments[0]}, {role: 'assistant', content: arguments[0]}]});
        localStorage.setItem('hearth.conversations', JSON.stringify(list)); localStorage.setItem('hearth.current', 'xss');""",
        nasty,
        MODEL,
    )
    d.refresh()
    open_ui(d)
    time.sleep(0.5)
    bubble = answers(d)[-1]
    assert_rendered_as_text(d, bubble, PAYLOAD)
    assert bubble.find_element(By.TAG_NAME, "strong").text == "bold"
    assert not bubble.find_elements(By.CSS_SELECTOR, "a[href^='javascript']")
    assert "<b onmouseover=alert(1)>x</b>" in bubble.find_element(By.CSS_SELECTOR, "pre code").text
    d.find_element(By.CSS_SELECTOR, "#conv-list li[data-id='xss'] .delete").click()
    d.switch_to.alert.accept()


@check
def models_page_lists_details_loaded_models_copy_and_delete():
    d = driver()
    open_ui(d, page="models")
    row = wait(lambda: d.find_element(By.CSS_SELECTOR, f"#models-table tr[data-model='{MODEL}']"), what="the model row")
    wait(lambda: row.find_element(By.CSS_SELECTOR, ".ctx").text not in ("", "?"), what="the context length from /api/show")
    cells = [c.text for c in row.find_elements(By.TAG_NAME, "td")]
    assert cells[2] == "llama" and cells[3] == "Q4_1" and int(cells[4]) > 0 and "completion" in cells[5], cells
    wait(lambda: d.find_elements(By.CSS_SELECTOR, f"#ps-table tr[data-model='{MODEL}']"), what="the loaded model")
    assert "in " in d.find_element(By.CSS_SELECTOR, f"#ps-table tr[data-model='{MODEL}'] .expires").text
    shot(d, "models")
    row.find_element(By.CSS_SELECTOR, "button.copy").click()
    a = d.switch_to.alert
    a.send_keys("ui-e2e/copy:v1")
    a.accept()
    copied = wait(lambda: d.find_element(By.CSS_SELECTOR, "#models-table tr[data-model='ui-e2e/copy:v1']"), what="the copy")
    copied.find_element(By.CSS_SELECTOR, "button.delete").click()
    d.switch_to.alert.dismiss()  # cancelled: nothing happens
    time.sleep(0.5)
    assert "ui-e2e/copy:v1" in http("GET", HOST + "/api/tags")[1]
    d.find_element(By.CSS_SELECTOR, "#models-table tr[data-model='ui-e2e/copy:v1'] button.delete").click()
    d.switch_to.alert.accept()
    wait(lambda: "ui-e2e/copy:v1" not in http("GET", HOST + "/api/tags")[1], 10, "the delete")
    wait(lambda: not d.find_elements(By.CSS_SELECTOR, "#models-table tr[data-model='ui-e2e/copy:v1']"), 10, "the row to go")
    d.find_element(By.CSS_SELECTOR, f"#ps-table tr[data-model='{MODEL}'] button.unload").click()
    wait(lambda: MODEL not in http("GET", HOST + "/api/ps")[1], 20, "the unload")
    # Other suites sharing this server may have other models loaded: only this row must go.
    wait(lambda: not d.find_elements(By.CSS_SELECTOR, f"#ps-table tr[data-model='{MODEL}']"), 10, "the unloaded model's row to go")
    if not json.loads(http("GET", HOST + "/api/ps")[1])["models"]:
        wait(lambda: d.find_element(By.ID, "ps-empty").is_displayed(), 10, "'No model is loaded'")


@check
def pull_from_a_second_hearth_registry_shows_progress():
    d = driver()
    reg, store = start_server("--registry")
    gguf = ROOT / "models" / "smollm2-135m.gguf"
    env = {**os.environ, "OLLAMA_MODELS": store}
    out = subprocess.run([BIN, "import", str(gguf), "--name", "uipull:q4"], env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    remote = reg.removeprefix("http://") + "/library/uipull:q4"
    open_ui(d, page="models")
    d.find_element(By.ID, "pull-name").send_keys(remote)
    d.find_element(By.ID, "pull-insecure").click()
    d.find_element(By.ID, "pull-btn").click()
    values = set()

    def done():
        values.add(int(d.find_element(By.ID, "pull-progress").get_attribute("value")))
        return d.find_element(By.ID, "pull-status").text == "success"

    wait(done, 120, "the pull to succeed")
    assert d.find_element(By.ID, "pull-progress").get_attribute("value") == "100" and d.find_element(By.ID, "pull-percent").text == "100 %"
    # The bar moved through intermediate values on its way (the last poll may precede 100).
    assert any(0 < v < 100 for v in values), values
    wait(lambda: d.find_elements(By.CSS_SELECTOR, f"#models-table tr[data-model='{remote}']"), 10, "the pulled model in the list")
    shot(d, "models-pull")
    status, _, _ = http("DELETE", HOST + "/api/delete", {"model": remote})
    assert status == 200


@check
def server_page_charts_show_tokens_per_second_during_a_generation():
    d = driver()
    open_ui(d, page="server")
    wait(lambda: d.find_element(By.CSS_SELECTOR, "#server-config dd[data-key='API key']").text == "off", what="the configuration")
    assert d.find_element(By.CSS_SELECTOR, "#server-info dd[data-key='Backend']").text
    body = {"model": MODEL, "prompt": "Tell me a short story about a cat. Keep it simple.", "options": {"num_predict": 2000, "temperature": 0}}
    stop = threading.Event()

    def generate():
        req = urllib.request.Request(HOST + "/api/generate", data=json.dumps(body).encode(), method="POST")
        with urllib.request.urlopen(req, timeout=300) as r:
            for _ in r:
                if stop.is_set():
                    break  # closing the stream cancels the generation

    t = threading.Thread(target=generate)
    t.start()
    try:
        def tps():
            last = json.loads(d.find_element(By.ID, "chart-tokens").get_attribute("data-last") or "{}")
            return last.get("out", 0) > 0

        wait(tps, 60, "non-zero tokens/s out on the chart")
        wait(lambda: json.loads(d.find_element(By.ID, "chart-slots").get_attribute("data-last") or "{}").get(MODEL, 0) >= 1, 10, "a busy slot")
        wait(lambda: json.loads(d.find_element(By.ID, "chart-itl").get_attribute("data-last") or "{}").get("p50"), 10, "an inter-token latency")
        value = float(d.find_element(By.CSS_SELECTOR, "#legend-tokens [data-series='out'] .value").text)
        assert value > 0, value
        time.sleep(2)
        shot(d, "server")
    finally:
        stop.set()
        t.join()


@check
def narrow_screen_360px_has_no_sideways_scroll():
    d = browser(500, 800)
    # Headless windows are at least 500 px wide: emulate a 360 px phone screen instead.
    d.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {"width": 360, "height": 740, "deviceScaleFactor": 2, "mobile": True})
    try:
        for page in ["chat", "models", "server"]:
            open_ui(d, page=page)
            time.sleep(0.8)
            width = d.execute_script("return document.documentElement.scrollWidth")
            inner = d.execute_script("return window.innerWidth")
            assert inner == 360, inner
            assert width <= inner, f"{page}: {width} > {inner}"
            shot(d, f"{page}-360px")
        open_ui(d, page="chat")
        sidebar = d.find_element(By.ID, "sidebar")
        assert sidebar.location["x"] + sidebar.size["width"] <= 1, "the sidebar starts hidden"
        d.find_element(By.ID, "menu-btn").click()
        wait(lambda: sidebar.location["x"] >= 0 and sidebar.is_displayed(), 5, "the sidebar to open")
        assert d.find_element(By.ID, "input").is_displayed() and d.find_element(By.ID, "send").is_displayed()
    finally:
        d.quit()


@check
def api_key_is_asked_once_then_works():
    base, _ = start_server(env={"HEARTH_API_KEY": "ui-secret"})
    assert http("GET", base + "/api/tags")[0] == 401
    d = browser()
    try:
        open_ui(d, base)
        dialog = wait(lambda: d.find_element(By.ID, "key-dialog") if d.find_element(By.ID, "key-dialog").is_displayed() else None, 20, "the API-key prompt")
        assert "401" in d.find_element(By.ID, "banner").text
        shot(d, "api-key")
        dialog.find_element(By.ID, "key-input").send_keys("wrong", Keys.ENTER)
        wait(lambda: "refused" in d.find_element(By.ID, "key-message").text and d.find_element(By.ID, "key-dialog").is_displayed(), 20, "the wrong key to be refused")
        inp = d.find_element(By.ID, "key-input")
        inp.clear()
        inp.send_keys("ui-secret", Keys.ENTER)
        pick_model(d)
        assert d.execute_script("return sessionStorage.getItem('hearth.apiKey')") == "ui-secret"
        assert "ui-secret" not in (d.execute_script("return JSON.stringify(localStorage)") or "")
        set_option(d, "num_predict", 8)
        d.find_element(By.ID, "settings-btn").click()
        d.find_element(By.ID, "input").send_keys("Hi", Keys.ENTER)
        wait(lambda: not streaming(d) and answers(d) and answers(d)[-1].find_elements(By.CSS_SELECTOR, ".tps"), 120, "an answer with the key")
        d.get(base + "/ui/#server")
        wait(lambda: d.find_element(By.CSS_SELECTOR, "#server-config dd[data-key='API key']").text == "on", 20, "the server page with the key")
        assert "ui-secret" not in d.find_element(By.ID, "page-server").text
        assert not d.find_element(By.ID, "key-dialog").is_displayed(), "asked again"
    finally:
        d.quit()


@check
def no_ui_turns_it_off():
    for args, env in [(["--no-ui"], None), ([], {"HEARTH_NO_UI": "1"})]:
        base, _ = start_server(*args, env=env)
        assert http("GET", base + "/ui/")[0] == 404
        assert http("GET", base + "/")[1] == "Ollama is running"


@check
def no_script_errors_in_the_console():
    d = driver()
    errors = [e for e in d.get_log("browser") if e["level"] == "SEVERE" and "favicon" not in e["message"]]
    assert not errors, errors


def main():
    passed = failed = 0
    only = [c for c in os.environ.get("UI_CHECKS", "").split(",") if c]
    try:
        for fn in [c for c in CHECKS if not only or c.__name__ in only]:
            t = time.time()
            try:
                fn()
                passed += 1
                print(f"ok   {fn.__name__} ({time.time() - t:.1f} s)", flush=True)
            except Exception:  # noqa: BLE001 - every check reports
                failed += 1
                print(f"FAIL {fn.__name__}", flush=True)
                traceback.print_exc()
                if D is not None:
                    try:
                        shot(D, f"failed-{fn.__name__}")
                    except Exception:  # noqa: BLE001
                        pass
    finally:
        if D is not None:
            D.quit()
        stop_servers()
    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
