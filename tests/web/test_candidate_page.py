"""The candidate page (serve_app/web) end to end: headless Chromium at a phone's width against the real
Serve deployment, on both databases.

The browser is Debian's Chromium driven by Playwright (`make chromium` installs it); a missing browser
fails these tests with the reason, it never skips them. Screenshots go to test-artifacts/.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from conftest import ADMIN_EMAIL, ADMIN_PASSWORD, Server

from domain.enums import Role
from serve_app.tokens import TokenService

pytestmark = pytest.mark.websocket

CHROMIUM = os.environ.get("ASSESS_TEST_CHROMIUM", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PHONE = {"width": 375, "height": 812}
WAIT_MS = 30_000  # a first question can wait on a cold session host
# Chromium logs a refused request itself (a 401 for a wrong password, a 404 for a used password link);
# that is the browser, not the page.
BROWSER_NETWORK_LOG = re.compile(r"^Failed to load resource: the server responded with a status of 40[14]")


# -- the server and the browser ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def server(isolated_server, ray_serve: int) -> Server:  # type: ignore[no-untyped-def]
    """The application with its own origin allowed. A browser always sends `Origin` on the WebSocket
    handshake, and the session's server admits only the default origins (port 8000); a page served
    from the ingress is one more origin the operator lists in ASSESS_ALLOWED_ORIGINS."""
    return isolated_server(ASSESS_ALLOWED_ORIGINS=f"http://127.0.0.1:{ray_serve}")  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def admin_token(server: Server) -> str:
    return server.login(ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"no Chromium at {CHROMIUM}: the browser tests need Debian's chromium package "
            "(`make chromium`, or `apt-get install -y chromium` as root; ASSESS_TEST_CHROMIUM names another)",
            pytrace=False,
        )
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.fail("playwright is not installed: `pip install -e '.[dev]'` (or `make install`)", pytrace=False)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        yield launched
        launched.close()


class Console:
    """The page's console errors and uncaught exceptions, collected for the end of the test."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("console", lambda message: self.errors.append(message.text) if message.type == "error" else None)
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))

    def page_errors(self) -> list[str]:
        return [error for error in self.errors if not BROWSER_NETWORK_LOG.match(error)]


@pytest.fixture
def phone(browser: Any) -> Iterator[tuple[Any, Console]]:
    """A fresh browser context (its own sessionStorage) and page at 375 x 812."""
    context = browser.new_context(viewport=PHONE, device_scale_factor=2, is_mobile=True, has_touch=True)
    context.set_default_timeout(WAIT_MS)
    page = context.new_page()
    console = Console()
    console.attach(page)
    yield page, console
    context.close()


def page_url(server: Server) -> str:
    return server.base_url + "/"


def screenshot(page: Any, name: str, server: Server) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"candidate-page-{name}-{server.backend}.png"
    page.screenshot(path=str(path), full_page=True)
    print(f"screenshot: {path}")
    return path


# -- what the page shows -------------------------------------------------------------------------------


def sign_in(page: Any, email: str, password: str) -> None:
    form = page.locator("#login-form")
    form.get_by_label("Email").fill(email)
    form.get_by_label("Password", exact=True).fill(password)
    form.get_by_label("Password", exact=True).press("Enter")


def progress(page: Any) -> tuple[float, str]:
    value = page.locator("#progress").evaluate("bar => bar.value")
    return float(value), page.locator("#progress-label").inner_text()


def wait_for_question(page: Any, after_id: str | None = None) -> str:
    """The id of the question on screen once it is one other than `after_id`, ready to answer."""
    page.wait_for_function(
        """previous => {
            const form = document.getElementById('answer-form');
            return !form.hidden && form.dataset.questionId && form.dataset.questionId !== previous
                && !document.getElementById('option-0').disabled;
        }""",
        arg=after_id or "",
    )
    return str(page.locator("#answer-form").get_attribute("data-question-id"))


def wait_for_feedback(page: Any) -> dict[str, str]:
    page.locator("#feedback").wait_for(state="visible")
    page.locator("#next:enabled").wait_for()  # the next question (or the result) has arrived
    return {
        "title": page.locator("#feedback-title").inner_text(),
        "correct": page.locator("#feedback-correct").inner_text(),
        "explanation": page.locator("#feedback-explanation").inner_text(),
    }


def wait_for_announcement(page: Any, opening: str) -> None:
    """Until the live region reads a message that starts with `opening`. The page empties the region and
    fills it a tick later (so a screen reader reads a repeated message again): it is waited for, not read."""
    page.wait_for_function(
        "opening => document.getElementById('announcer').textContent.startsWith(opening)", arg=opening
    )


def words(text: str) -> list[str]:
    """A question's words without Markdown's code marks, as stored and as shown alike."""
    return re.sub(r"```[\w+-]*|`", " ", text).split()


def focused_id(page: Any) -> str:
    return str(page.evaluate("document.activeElement && document.activeElement.id"))


def answer_by_keyboard(page: Any, position: int) -> str:
    """Number key `position` selects the option, Enter submits; returns the option's id."""
    page.keyboard.press(str(position))
    assert focused_id(page) == f"option-{position - 1}"
    chosen = page.locator(f"#option-{position - 1}")
    assert chosen.is_checked()
    page.keyboard.press("Enter")
    return str(chosen.get_attribute("value"))


def answer_by_click(page: Any, position: int) -> str:
    option = page.locator(".option").nth(position - 1)
    option.click()
    page.get_by_role("button", name="Submit answer").click()
    return str(option.locator("input").get_attribute("value"))


# -- the tests -----------------------------------------------------------------------------------------


def test_the_page_is_served_under_the_route_prefix_with_a_strict_policy(server: Server) -> None:
    with server.client() as client:
        page = client.get("/")
        script = client.get("/static/app.js")
        style = client.get("/static/style.css")
        missing = client.get("/static/index.html")
        bare = client.get(server.base_url)  # the prefix without its slash
    assert page.status_code == 200 and page.headers["content-type"] == "text/html; charset=utf-8"
    policy = page.headers["content-security-policy"]
    assert "default-src 'self'" in policy and "connect-src 'self' ws: wss:" in policy
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    assert page.headers["x-content-type-options"] == "nosniff"
    assert '<meta name="viewport"' in page.text and 'src="static/app.js"' in page.text
    assert script.status_code == 200 and script.headers["content-type"] == "text/javascript; charset=utf-8"
    assert style.status_code == 200 and style.headers["content-type"] == "text/css; charset=utf-8"
    assert "content-security-policy" in script.headers
    assert missing.status_code == 404
    # The prefix without its slash is redirected to it with the slash: relative URLs then resolve inside it.
    assert (bare.status_code, bare.headers.get("location")) == (307, server.base_url + "/")


def test_a_wrong_password_shows_an_error(server: Server, make_user, phone) -> None:  # type: ignore[no-untyped-def]
    page, console = phone
    candidate = make_user("candidate")
    page.goto(page_url(server))
    page.get_by_role("heading", name="Sign in").wait_for()
    sign_in(page, candidate.email, candidate.password + "-wrong")
    error = page.locator("#login-error")
    error.wait_for(state="visible")
    assert error.inner_text() == "Incorrect email or password."
    assert page.evaluate("sessionStorage.getItem('assess.token')") is None
    assert focused_id(page) == "password"
    assert page.locator("#view-tests").is_hidden()
    assert console.page_errors() == []


def test_an_invited_candidate_chooses_a_password_from_the_link(server: Server, admin_token: str, phone) -> None:  # type: ignore[no-untyped-def]
    """The link a staff member copies (no mail is configured here): the token leaves the address bar at once,
    the two passwords must agree, and the saved password signs the candidate in to the test they were
    invited to. The link then works no more; a reset request is answered alike for any address."""
    from builders import valid_test_body

    page, console = phone
    with server.client(admin_token) as staff:
        test = staff.post("/api/tests", json=valid_test_body(title="Invited by link")).json()
        assert staff.patch(f"/api/tests/{test['id']}", json={"status": "published"}).status_code == 200
        invited = staff.post(
            f"/api/tests/{test['id']}/invitations",
            json={"candidates": [{"email": f"linked-{os.getpid()}@example.com", "full_name": "Linked Candidate"}]},
        )
    assert invited.status_code == 201, invited.text
    link = invited.json()[0]["link"]
    assert link.startswith(page_url(server) + "#password-link=")

    page.goto(link)
    page.get_by_role("heading", name="Choose your password").wait_for()
    assert page.evaluate("location.hash") == ""
    assert "Linked Candidate" in page.locator("#choose-for").inner_text()
    assert focused_id(page) == "new-password"
    page.locator("#new-password").fill("chosen-by-the-candidate")
    page.locator("#new-password-again").fill("chosen-by-the-candidat")
    page.locator("#new-password-again").press("Enter")
    assert page.locator("#choose-error").inner_text() == "The two passwords differ."
    page.locator("#new-password-again").fill("chosen-by-the-candidate")
    page.locator("#new-password-again").press("Enter")
    page.get_by_role("heading", name="My tests").wait_for()
    assert "Invited by link" in page.locator("#tests-list").inner_text()
    screenshot(page, "invited-by-link", server)

    page.goto(link)  # used: the page says so on the sign-in screen
    page.locator("#login-error").wait_for(state="visible")
    assert "already used" in page.locator("#login-error").inner_text()

    page.locator("#forgot").click()
    page.get_by_role("heading", name="Forgot your password?").wait_for()
    page.locator("#reset-email").fill("nobody-here@example.com")
    page.locator("#reset-email").press("Enter")
    page.locator("#reset-message").wait_for(state="visible")
    assert "if this address has an account" in page.locator("#reset-message").inner_text()
    assert console.page_errors() == []


def test_a_candidate_takes_a_test_on_a_phone(server: Server, admin, make_live_test, phone) -> None:  # type: ignore[no-untyped-def]
    page, console = phone
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    page.on("websocket", lambda socket: requested.append(socket.url))
    live = make_live_test()
    candidate = live.candidate

    page.goto(page_url(server))
    sign_in(page, candidate.email, candidate.password)

    # My tests: the one invited to, with its attempts left; started from the keyboard.
    item = page.locator(f"#tests-list li[data-test-id='{live.test_id}']")
    item.wait_for()
    facts = item.inner_text()
    assert "Backend screening" in facts and "Open now" in facts
    assert re.search(r"Attempts left\s+2 of 2", facts), facts
    start = item.get_by_role("button", name=re.compile("^Start test"))
    start.focus()
    page.keyboard.press("Enter")

    # Question 1: the countdown runs from the server's deadline and ticks; answered by keyboard.
    first = wait_for_question(page)
    assert focused_id(page) == "option-0"
    timer = page.locator("#timer")
    started_at = timer.inner_text()
    assert re.fullmatch(r"2[45]:\d\d", started_at), started_at  # a 25-minute test
    page.wait_for_function("start => document.getElementById('timer').textContent !== start", arg=started_at)
    assert progress(page) == (0.0, "0 of 4 answered")
    chosen = [answer_by_keyboard(page, 2)]
    feedback = wait_for_feedback(page)
    assert feedback["title"] in ("Correct", "Not quite")
    assert feedback["correct"].startswith("The correct answer is ")
    assert feedback["explanation"]
    assert progress(page) == (25.0, "1 of 4 answered")
    wait_for_announcement(page, feedback["title"])
    assert page.locator(".option.is-correct").count() == 1
    assert focused_id(page) == "next"
    screenshot(page, "feedback", server)
    page.keyboard.press("Enter")

    # Question 2: by pointer.
    second = wait_for_question(page, first)
    chosen.append(answer_by_click(page, 1))
    wait_for_feedback(page)
    assert progress(page) == (50.0, "2 of 4 answered")
    page.get_by_role("button", name="Next question").click()

    # Question 3, then a reload: the attempt resumes at the same question with the progress so far.
    third = wait_for_question(page, second)
    text = page.locator("#question-text").inner_text()
    screenshot(page, "mid-test", server)
    page.reload()
    assert wait_for_question(page) == third
    assert page.locator("#question-text").inner_text() == text
    assert progress(page) == (50.0, "2 of 4 answered")
    wait_for_announcement(page, "Resumed")
    assert re.fullmatch(r"2[45]:\d\d", timer.inner_text())

    # The rest, to the end: keyboard and pointer in turn.
    question = third
    while True:
        answer = answer_by_keyboard if len(chosen) % 2 == 0 else answer_by_click
        chosen.append(answer(page, 3))
        wait_for_feedback(page)
        page.locator("#next").click()
        if page.locator("#view-result").is_visible():
            break
        question = wait_for_question(page, question)

    # The result: score, percentage and skills as the server computed them.
    page.get_by_role("heading", name="Your result").wait_for()
    results = admin.get(f"/api/tests/{live.test_id}/results")
    assert results.status_code == 200, results.text
    (summary,) = results.json()
    report = admin.get(f"/api/attempts/{summary['attempt_id']}")
    assert report.status_code == 200, report.text
    attempt = report.json()
    assert attempt["status"] == "completed" and attempt["answered"] == len(chosen) == 4
    assert [response["selected_option"] for response in attempt["responses"]] == chosen
    assert attempt["responses"][1]["question_id"] == second and attempt["responses"][2]["question_id"] == third
    assert words(attempt["responses"][2]["stem"]) == words(text)  # the page sets code apart, in its own blocks
    assert page.locator("#result-percentage").inner_text() == f"{round(attempt['percentage'])}%"
    assert page.locator("#result-score").inner_text() == f"{attempt['score']} of {attempt['max_score']} correct"
    skills = page.locator("#result-skills tr")
    assert sum(int(skills.nth(row).locator("td").nth(1).inner_text()) for row in range(skills.count())) == 4
    # The decision on ability: theta with its SE, the scaled score, the decision, and per-skill estimates.
    theta, se = attempt["ability"]["theta"], attempt["ability"]["se"]
    assert page.locator("#result-ability").inner_text() == (
        f"Ability {theta:.2f} ± {se:.2f}, scaled score {attempt['scaled_score']}"
    )
    expected = "Decision: pass" if attempt["decision"] == "pass" else "Decision: not passed"
    assert page.locator("#result-decision").inner_text() == expected
    assert all("±" in skills.nth(row).locator("td").nth(2).inner_text() for row in range(skills.count()))
    assert page.evaluate("sessionStorage.getItem('assess.test_id')") is None
    screenshot(page, "result", server)

    # Nothing left the page's own prefix: every request and socket was relative to it; and the token never
    # travelled in a URL (the socket takes it as its `bearer` subprotocol).
    ws_base = server.base_url.replace("http://", "ws://", 1)
    strays = [url for url in requested if not url.startswith((server.base_url + "/", ws_base + "/", "data:"))]
    assert strays == []
    assert any(url.startswith(ws_base + "/ws/assessment?") for url in requested)
    token = page.evaluate("sessionStorage.getItem('assess.token')") or candidate.token
    assert [url for url in requested if "token=" in url or token in url] == []
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]  # no sideways scrolling
    assert console.page_errors() == []


def test_a_second_tab_takes_over_and_the_first_can_take_it_back(  # type: ignore[no-untyped-def]
    server: Server, make_live_test, browser, phone
) -> None:
    first, console = phone
    live = make_live_test()
    first.goto(page_url(server))
    sign_in(first, live.candidate.email, live.candidate.password)
    first.get_by_role("button", name=re.compile("^Start test")).click()
    question = wait_for_question(first)

    other = browser.new_context(viewport=PHONE)
    try:
        second = other.new_page()
        second.set_default_timeout(WAIT_MS)
        second.goto(page_url(server))
        sign_in(second, live.candidate.email, live.candidate.password)
        second.get_by_role("button", name=re.compile("^Resume test")).click()
        assert wait_for_question(second) == question

        first.locator("#takeover").wait_for(state="visible")  # closed with 4409
        assert "opened in another tab" in first.locator("#takeover").inner_text()
        assert first.locator("#option-0").is_disabled()
        assert focused_id(first) == "take-back"
        first.keyboard.press("Enter")
        assert wait_for_question(first) == question
        second.locator("#takeover").wait_for(state="visible")
    finally:
        other.close()
    assert console.page_errors() == []


def test_an_expired_session_signs_in_again_and_resumes(server: Server, make_live_test, phone) -> None:  # type: ignore[no-untyped-def]
    page, console = phone
    live = make_live_test()
    # Long enough for a slow machine to load the page and show the first question before it ends.
    short = TokenService.from_settings(server.settings).issue(
        live.candidate.id, Role.CANDIDATE, lifetime=timedelta(seconds=8)
    )
    page.goto(page_url(server))
    page.evaluate(
        "([token, testId]) => { sessionStorage.setItem('assess.token', token);"
        " sessionStorage.setItem('assess.test_id', String(testId)); }",
        [short, live.test_id],
    )
    page.reload()
    question = wait_for_question(page)
    # At the token's expiry the server closes with 4401: back to signing in, the test id kept.
    page.locator("#login-error").wait_for(state="visible")
    assert "Sign in again" in page.locator("#login-error").inner_text()
    sign_in(page, live.candidate.email, live.candidate.password)
    assert wait_for_question(page) == question
    assert console.page_errors() == []


def test_a_test_that_keeps_its_keys_shows_only_that_each_answer_was_recorded(  # type: ignore[no-untyped-def]
    server: Server, make_live_test, phone
) -> None:
    """Under the feedback policy `none` the page says each answer was recorded, and no frame it receives
    carries a verdict, a key or an explanation; the result at the end is the candidate's."""
    page, console = phone
    frames: list[dict[str, Any]] = []
    page.on("websocket", lambda socket: socket.on("framereceived", lambda payload: frames.append(json.loads(payload))))
    live = make_live_test(max_questions=2, min_questions=2, feedback="none")
    page.goto(page_url(server))
    sign_in(page, live.candidate.email, live.candidate.password)
    page.get_by_role("button", name=re.compile("^Start test")).click()
    question = wait_for_question(page)
    for position in (1, 2):
        answer_by_click(page, position)
        feedback = wait_for_feedback(page)
        assert feedback["title"] == "Answer recorded"
        assert page.locator("#feedback-correct").is_hidden() and page.locator("#feedback-explanation").is_hidden()
        assert page.locator(".option.is-correct, .option.is-wrong").count() == 0
        wait_for_announcement(page, "Answer recorded")
        if position == 1:
            screenshot(page, "feedback-recorded", server)
        page.locator("#next").click()
        if position == 1:
            question = wait_for_question(page, question)
    page.get_by_role("heading", name="Your result").wait_for()

    feedback_frames = [frame for frame in frames if frame["type"] == "answer_feedback"]
    assert len(feedback_frames) == 2
    assert all(
        frame[name] is None for frame in feedback_frames for name in ("correct", "correct_option", "explanation")
    )
    assert [frame["score"] for frame in frames if frame["type"] == "progress_update"] == [None, None]
    assert console.page_errors() == []


# What a page does to report each signal, as the browser fires its events.
SIGNALS = {
    "focus_lost": "window.dispatchEvent(new Event('blur'))",
    "focus_returned": "window.dispatchEvent(new Event('focus'))",
    "page_hidden": """
        Object.defineProperty(document, 'visibilityState', {value: 'hidden', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));""",
    "page_visible": """
        Object.defineProperty(document, 'visibilityState', {value: 'visible', configurable: true});
        document.dispatchEvent(new Event('visibilitychange'));""",
    "paste": """
        const data = new DataTransfer();
        data.setData('text', 'def secret(): pass');
        document.dispatchEvent(new ClipboardEvent('paste', {clipboardData: data}));""",
    "fullscreen_exit": "document.dispatchEvent(new Event('fullscreenchange'))",
}


def test_the_page_reports_integrity_signals_that_only_staff_see(  # type: ignore[no-untyped-def]
    server: Server, admin_token: str, make_live_test, phone
) -> None:
    """Focus lost and regained, the page hidden and shown, a paste and a fullscreen exit during the test
    reach the server as integrity_event frames; staff read them back and the candidate never sees them.
    None is sent before the test starts or after it ends."""
    page, console = phone
    sent: list[dict[str, Any]] = []
    received: list[dict[str, Any]] = []

    def listen(socket: Any) -> None:
        socket.on("framesent", lambda payload: sent.append(json.loads(payload)))
        socket.on("framereceived", lambda payload: received.append(json.loads(payload)))

    page.on("websocket", listen)
    live = make_live_test(max_questions=2, min_questions=2)
    page.goto(page_url(server))
    sign_in(page, live.candidate.email, live.candidate.password)
    page.get_by_role("button", name=re.compile("^Start test")).click()
    page.evaluate(SIGNALS["focus_lost"])  # the list of tests: no attempt runs yet, nothing is reported
    question = wait_for_question(page)
    for script in SIGNALS.values():
        page.evaluate(script)
    answer_by_click(page, 1)
    wait_for_feedback(page)
    page.locator("#next").click()
    wait_for_question(page, question)
    answer_by_click(page, 2)
    wait_for_feedback(page)
    page.locator("#next").click()
    page.get_by_role("heading", name="Your result").wait_for()
    page.evaluate(SIGNALS["paste"])  # the result: the attempt is over
    assert page.locator("#alert").is_hidden() or not page.locator("#alert").inner_text()

    signals = [frame for frame in sent if frame["type"] == "integrity_event"]
    assert [frame["kind"] for frame in signals] == list(SIGNALS)
    assert signals[4]["detail"] == "18 characters", "a paste's length, never its text"
    assert not any("secret" in json.dumps(frame) for frame in sent)
    (attempt_id,) = {frame["attempt_id"] for frame in received if frame["type"] == "assessment_started"}
    assert not any(frame["type"] == "error" for frame in received), received
    with server.client(admin_token) as client:
        report = client.get(f"/api/attempts/{attempt_id}").json()
    assert [event["kind"] for event in report["integrity"]["events"]] == list(SIGNALS)
    assert all(event["question_index"] == 1 for event in report["integrity"]["events"])
    with server.client(live.candidate.token) as client:
        assert client.get(f"/api/attempts/{attempt_id}").json()["integrity"] is None
    assert console.page_errors() == []
