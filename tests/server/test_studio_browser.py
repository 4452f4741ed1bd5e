"""The web studio driven in a real headless Chromium (Debian's, via Playwright) against a real server
process with API keys on, a student fallback that serves while main loads, and enrollments that
always go through ``pending`` (``--enroll-wait 0``). One server and one browser for the whole module;
the tests run in file order, as one visit would: status, key, speak, errors, clone, phone."""
from __future__ import annotations

import io
import os
import shutil
from pathlib import Path

import httpx
import numpy as np
import pytest
import soundfile as sf

from playwright.sync_api import Page, sync_playwright

CHROMIUM = "/usr/bin/chromium"
KEY = "studio-test-key"
FAST_FIT = ("--fit-evaluations", "0")
THREE_SENTENCES = ("The morning train was late again. Everyone on the platform sighed at once. "
                   "Then the sun came out and nobody minded any more.")
MIC_TEXT = ("I am speaking into the microphone right now. The weather was lovely today, "
            "and the trains ran on time for once.")
REPO = Path(__file__).resolve().parents[2]
SCREENSHOT = REPO / "docs" / "studio.png"


def fn(body: str) -> str:
    """A page-side predicate as a function (the page's CSP forbids evaluating strings)."""
    return f"() => ({body})"


@pytest.fixture(scope="module")
def studio_server(start_server):
    srv = start_server("--workers", "2", "--api-keys", KEY, "--fallback-bundle", "student",
                       "--main-start-delay", "6", "--enroll-wait", "0", *FAST_FIT)
    srv.wait_port()
    return srv


@pytest.fixture(scope="module")
def mic_wav(engine, tmp_path_factory) -> Path:
    """What Chromium's fake microphone plays: real speech from the engine, 16-bit WAV."""
    path = tmp_path_factory.mktemp("mic") / "mic.wav"
    audio = engine.synthesize(MIC_TEXT, voice="en_female_1", pitch=1.0).audio
    sf.write(path, audio, engine.sample_rate, subtype="PCM_16")
    return path


@pytest.fixture(scope="module")
def browser(mic_wav):
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(f"{CHROMIUM} is missing: run bash tests/system-deps.sh (installs Debian's chromium)")
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
            f"--use-file-for-fake-audio-capture={mic_wav}", "--autoplay-policy=user-gesture-required"])
        yield b
        b.close()


class Visit:
    """One page with everything it logged and every URL it requested."""

    def __init__(self, browser, url: str, **context_args) -> None:
        self.context = browser.new_context(accept_downloads=True, **context_args)
        self.page: Page = self.context.new_page()
        self.console: list[str] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: m.type in ("error", "warning") and self.console.append(m.text))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.failed: list[tuple[int, str]] = []
        self.page.on("response", lambda r: r.status >= 400 and self.failed.append((r.status, r.url)))
        self.url = url

    def open(self):
        response = self.page.goto(self.url + "/")
        self.page.wait_for_function(fn("window.studio && window.studio.interactive"))
        return response

    def state(self, expr: str):
        return self.page.evaluate(fn(expr))

    def wait(self, expr: str, timeout: float = 60_000) -> None:
        self.page.wait_for_function(fn(expr), timeout=timeout)

    def speak(self) -> tuple[dict, dict]:
        """Click Speak and wait for the end: (the JSON body the page sent, the page's record of the run)."""
        with self.page.expect_request("**/v1/tts") as sent:
            self.page.click("#speak")
        self.wait("window.studio.speak && window.studio.speak.done")
        return sent.value.post_data_json, self.state("window.studio.speak")


@pytest.fixture(scope="module")
def visit(browser, studio_server):
    """The desktop visit the tests share (its localStorage keeps the key between tests)."""
    v = Visit(browser, studio_server.url, viewport={"width": 1100, "height": 1250})
    yield v
    v.context.close()


def store_key(visit: Visit) -> None:
    """Put the key in the origin's localStorage from a page that runs no script (no request without it)."""
    visit.page.goto(visit.url + "/studio/config.json")
    visit.page.evaluate(f"() => localStorage.setItem('emotivoice.apiKey', '{KEY}')")


@pytest.fixture
def keyed(visit):
    """The shared visit with the key stored and main ready (what the first two tests leave behind; set
    here too so that any test can run alone)."""
    if visit.page.url == "about:blank" or visit.state("localStorage.getItem('emotivoice.apiKey')") != KEY:
        store_key(visit)
        visit.open()
    visit.wait("window.studio.status && window.studio.status.state === 'ready'", timeout=90_000)
    return visit


def api_error(server, method: str, path: str, **kwargs) -> dict:
    with server.client(headers={"Authorization": f"Bearer {KEY}"}) as c:
        return c.request(method, path, **kwargs).json()["error"]


def test_while_main_loads_the_strip_and_the_audio_say_the_fallback_answers_then_main_is_ready(visit):
    store_key(visit)
    visit.open()
    visit.wait("window.studio.status && window.studio.status.state === 'fallback'", timeout=20_000)
    assert "fallback model answers" in visit.page.inner_text("#status-text")
    visit.page.fill("#text", "Hello there.")
    _, run = visit.speak()
    assert run["tier"] == "fallback"
    assert visit.page.inner_text("#tier").startswith("fallback · kokoro-82m-student")
    assert "while main loads" in visit.page.inner_text("#tier")
    visit.wait("window.studio.status.state === 'ready'", timeout=90_000)
    assert "Ready" in visit.page.inner_text("#status-text")
    assert "int8" in visit.page.inner_text("#status-text")


def test_without_a_key_the_page_shows_the_401_reason_and_with_one_it_works(visit, studio_server):
    visit.page.evaluate("() => localStorage.removeItem('emotivoice.apiKey')")
    visit.open()
    assert visit.page.is_visible("#api-key")
    reason = api_error(studio_server, "GET", "/v1/voices", headers={"Authorization": ""})["message"]
    assert visit.page.inner_text("#api-key-error") == reason  # next to the key field
    visit.page.fill("#api-key", "not-the-key")
    visit.page.click("#key-save")
    visit.wait("document.getElementById('api-key-error').textContent === 'invalid API key'")
    visit.page.fill("#api-key", KEY)
    visit.page.press("#api-key", "Enter")
    visit.wait("document.querySelectorAll('#voice option').length > 1")
    assert visit.page.inner_text("#api-key-error") == ""
    assert "en_female_1" in visit.page.eval_on_selector_all("#voice option", "os => os.map(o => o.value)")


@pytest.mark.usefixtures("keyed")
def test_the_page_loads_with_the_stored_key_no_console_error_and_nothing_from_another_origin(visit, studio_server):
    visit.console.clear()
    visit.requests.clear()
    response = visit.open()
    headers = response.headers
    assert "script-src 'self'" in headers["content-security-policy"]
    assert headers["x-content-type-options"] == "nosniff" and headers["referrer-policy"] == "no-referrer"
    visit.wait("document.querySelectorAll('#voice option').length > 1")
    assert visit.page.input_value("#api-key") == KEY  # kept in localStorage
    assert visit.console == []  # a CSP violation or a failed load would be logged here
    outcome = visit.page.evaluate("""() => new Promise(resolve => {
        document.addEventListener('securitypolicyviolation', e => resolve(e.violatedDirective), {once: true});
        const s = document.createElement('script');
        s.textContent = 'window.inlineRan = true';
        document.body.append(s);
        setTimeout(() => resolve(window.inlineRan ? 'inline script ran' : 'no violation reported'), 2000);
    })""")
    assert outcome.startswith("script-src")  # the browser enforces the policy: inline code never runs
    visit.console.clear()
    assert visit.requests and all(u.startswith(studio_server.url + "/") for u in visit.requests), visit.requests


@pytest.mark.usefixtures("keyed")
def test_speak_plays_the_stream_before_the_server_has_finished_and_downloads_the_whole_wav(visit, studio_server):
    page = visit.page
    page.fill("#text", THREE_SENTENCES)
    page.check("#emotion-sad")
    _, run = visit.speak()
    assert run["error"] is None and run["tier"] == "main"
    # the audio graph got samples, and its clock had played past them, before the response ended
    assert run["firstQueuedAt"] < run["responseEndAt"]
    assert run["playedAtEnd"] > 0.2, run
    assert page.inner_text("#ttfa").endswith(" ms")
    assert page.inner_text("#tier").startswith("main · kokoro-82m")
    with page.expect_download() as info:
        page.click("#download")
    audio, rate = sf.read(info.value.path(), dtype="int16")
    with studio_server.client(headers={"Authorization": f"Bearer {KEY}"}) as c:
        whole = c.post("/v1/tts", json={"text": THREE_SENTENCES, "voice": "en_female_1", "emotion": "sad",
                                        "intensity": 0.8, "speed": 1.0, "pitch": 0.0})
    expected, expected_rate = sf.read(io.BytesIO(whole.content), dtype="int16")
    assert rate == expected_rate == 24000
    assert audio.shape == expected.shape == (run["samples"],)
    assert np.array_equal(audio, expected)


@pytest.mark.usefixtures("keyed")
def test_a_mix_a_prompt_and_a_whole_file_format_reach_the_api_and_play(visit):
    """The second emotion and the free-text prompt are sent as the API's emotion_mix and prompt; a
    format that cannot stream (mp3) plays once complete and downloads as that format."""
    page = visit.page
    page.fill("#text", "Oh, really?")
    page.check("#emotion-happy")
    page.check("#mix-on")
    page.select_option("#mix-emotion", "surprised")
    page.fill("#mix-weight", "0.3")
    body, run = visit.speak()
    assert body["emotion_mix"] == {"happy": 0.7, "surprised": 0.3} and "emotion" not in body
    assert run["error"] is None
    page.uncheck("#mix-on")
    page.check("#mode-prompt")
    page.fill("#prompt", "a little sad")
    page.select_option("#format", "mp3")
    body, run = visit.speak()
    assert body["prompt"] == "a little sad" and "emotion" not in body and "emotion_mix" not in body
    assert body["format"] == "mp3" and body["stream"] is False
    assert run["error"] is None and run["seconds"] > 0.5
    with page.expect_download() as info:
        page.click("#download")
    assert info.value.suggested_filename == "speech.mp3"
    assert sf.info(info.value.path()).duration == pytest.approx(run["seconds"], abs=0.1)
    page.check("#mode-preset")
    page.select_option("#format", "wav")


@pytest.mark.usefixtures("keyed")
def test_an_api_error_is_shown_next_to_the_control_that_caused_it(visit, studio_server):
    page = visit.page
    page.fill("#text", "   ")
    _, run = visit.speak()
    assert run["error"] == "text_empty"
    reason = api_error(studio_server, "POST", "/v1/tts", json={"text": "   ", "voice": "en_female_1"})
    assert page.inner_text("#text-error") == reason["message"]
    assert page.get_attribute("#text", "aria-invalid") == "true"
    assert page.inner_text("#speak-error") == ""


@pytest.mark.usefixtures("keyed")
@pytest.mark.parametrize("case", ["not audio", "one second"])
def test_a_bad_upload_shows_the_api_reason_next_to_the_upload_control(visit, studio_server, reference_wav, case):
    if case == "not audio":
        payload = {"name": "notes.wav", "mimeType": "audio/wav", "buffer": b"these are my notes, not audio\n" * 20}
    else:
        audio, rate = sf.read(io.BytesIO(reference_wav), dtype="float32")
        buf = io.BytesIO()
        sf.write(buf, audio[:rate], rate, format="WAV", subtype="PCM_16")
        payload = {"name": "short.wav", "mimeType": "audio/wav", "buffer": buf.getvalue()}
    page = visit.page
    page.fill("#clone-name", "Bad " + case)
    page.set_input_files("#clone-file", files=[payload])
    page.click("#clone")
    visit.wait("document.getElementById('clone-file-error').textContent !== ''")
    reason = api_error(studio_server, "POST", "/v1/voices", data={"name": "Bad " + case},
                       files={"file": (payload["name"], payload["buffer"], "audio/wav")})
    shown = page.inner_text("#clone-file-error")
    assert reason["message"] in shown and reason["code"].startswith("audio_")
    plain = {"not audio": "not audio the server can read", "one second": "Too short"}[case]
    assert plain in shown


def wait_cloned(visit: Visit, voice_id: str) -> list[str]:
    visit.wait(f"window.studio.clone.history.some(h => h.voice === '{voice_id}' && h.status !== 'pending')",
               timeout=120_000)
    return [h["status"] for h in visit.state("window.studio.clone.history") if h["voice"] == voice_id]


def speak_with_selected_voice(visit: Visit, voice_id: str) -> dict:
    assert visit.page.input_value("#voice") == voice_id  # selected at once
    visit.page.fill("#text", "It is me, and I am thrilled.")
    _, run = visit.speak()
    assert run["error"] is None and run["voice"] == voice_id and run["samples"] > 24000 * 0.5
    return run


@pytest.mark.usefixtures("keyed")
def test_clone_from_an_uploaded_file_goes_pending_then_ready_speaks_and_deletes(visit, studio_server, reference_wav):
    page = visit.page
    page.set_input_files("#clone-file", files=[{"name": "alice.wav", "mimeType": "audio/wav", "buffer": reference_wav}])
    page.fill("#clone-name", "Upload Alice")
    page.click("#clone")
    statuses = wait_cloned(visit, "upload_alice")
    assert statuses[0] == "pending" and statuses[-1] == "ready", statuses
    assert page.inner_text("li[data-voice=upload_alice] .badge") == "ready"
    speak_with_selected_voice(visit, "upload_alice")
    page.click("li[data-voice=upload_alice] button:has-text('Delete')")
    page.wait_for_selector("li[data-voice=upload_alice]", state="detached")
    assert api_error(studio_server, "GET", "/v1/voices/upload_alice")["code"] == "unknown_voice"


@pytest.mark.usefixtures("keyed")
def test_clone_from_the_microphone(visit):
    page = visit.page
    page.click("#record")
    visit.wait("window.studio.recording && window.studio.recording.seconds >= 6", timeout=20_000)
    page.click("#record")
    visit.wait("window.studio.recording.state === 'done'")
    assert visit.state("window.studio.recording.seconds") >= 5.5
    page.fill("#clone-name", "Mic Voice")
    page.click("#clone")
    statuses = wait_cloned(visit, "mic_voice")
    assert statuses[0] == "pending" and statuses[-1] == "ready", (statuses, page.inner_text("#record-error"))
    speak_with_selected_voice(visit, "mic_voice")
    visit.page.screenshot(path=str(visit_screenshot_dir() / "studio-desktop.png"))


@pytest.mark.usefixtures("keyed")
def test_check_a_file_shows_who_made_it_and_catches_tampering(visit, studio_server, tmp_path):
    """The page reads a file's Content Credentials (POST /v1/verify): maker, model, voice kind; and a
    file with one flipped audio byte reads as tampered."""
    with studio_server.client(headers={"Authorization": f"Bearer {KEY}"}) as c:
        wav = c.post("/v1/tts", json={"text": "Checked in the page.", "voice": "en_male_1", "format": "wav"}).content
    bad = bytearray(wav)
    bad[bad.index(b"data") + 8 + 999] ^= 0x01
    (tmp_path / "signed.wav").write_bytes(wav)
    (tmp_path / "tampered.wav").write_bytes(bytes(bad))
    page = visit.page
    for name, state in (("signed.wav", "untrusted"), ("tampered.wav", "tampered")):
        page.evaluate("() => { window.studio.verify = null; }")
        page.set_input_files("#verify-file", str(tmp_path / name))
        page.click("#verify")
        visit.wait("window.studio.verify")
        assert visit.state("window.studio.verify.state") == state
        assert page.get_attribute("#verify-result", "data-state") == state
        if state == "untrusted":
            assert "emotivoice-srv" in page.inner_text("#verify-maker")
            assert "development certificate" in page.inner_text("#verify-maker")
            assert page.inner_text("#verify-model").startswith("kokoro-82m")
            assert page.inner_text("#verify-voice") == "built-in (en_male_1)"
    assert page.inner_text("#verify-state").startswith("Tampered")


def visit_screenshot_dir() -> Path:
    out = Path(os.environ.get("STUDIO_SCREENSHOT_DIR", REPO / ".pytest_cache" / "studio"))
    out.mkdir(parents=True, exist_ok=True)
    return out


@pytest.mark.usefixtures("keyed")
def test_every_control_is_labelled_and_reachable_by_keyboard(visit):
    page = visit.page
    unlabelled = page.eval_on_selector_all(
        "input, select, textarea, button",
        "els => els.filter(e => !e.closest('[hidden]') && !(e.labels && e.labels.length) && !e.getAttribute('aria-label')"
        " && !(e.tagName === 'BUTTON' && e.textContent.trim())).map(e => e.id || e.outerHTML)")
    assert unlabelled == []
    page.focus("#text")
    reached = set()
    for _ in range(60):
        page.keyboard.press("Tab")
        reached.add(page.evaluate("() => document.activeElement.id"))
    assert {"voice", "format", "intensity", "mix-on", "speed", "pitch", "speak", "clone-name", "clone-file",
            "record", "clone"} <= reached


def test_phone_width_layout_fits_390px(browser, studio_server):
    phone = Visit(browser, studio_server.url, viewport={"width": 390, "height": 844}, device_scale_factor=2,
                  is_mobile=True, has_touch=True)
    try:
        store_key(phone)
        phone.open()
        phone.wait("document.querySelectorAll('#voice option').length > 1")
        assert phone.state("document.documentElement.scrollWidth") <= 390
        overflow = phone.page.eval_on_selector_all(
            "input, select, textarea, button", "els => els.filter(e => e.offsetParent !== null && "
            "e.getBoundingClientRect().right > 390 + 0.5).map(e => e.id)")
        assert overflow == []
        phone.page.screenshot(path=str(visit_screenshot_dir() / "studio-phone.png"), full_page=True)
        assert phone.console == [], (phone.console, phone.failed)
    finally:
        phone.context.close()


@pytest.mark.usefixtures("keyed")
def test_desktop_screenshot_for_the_readme(visit):
    """docs/studio.png comes from this run (copied there when STUDIO_UPDATE_SCREENSHOT=1)."""
    page = visit.page
    page.evaluate("() => { document.activeElement.blur(); window.scrollTo(0, 0); }")
    shot = visit_screenshot_dir() / "studio.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    if os.environ.get("STUDIO_UPDATE_SCREENSHOT") == "1":
        shutil.copyfile(shot, SCREENSHOT)
