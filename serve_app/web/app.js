// The candidate's page: sign in, see my tests, take one over /ws/assessment (DESIGN.md sections 4 and 5).
//
// Every URL is relative to the page's own folder (this script lives in <base>/static/), so the page works
// under any route prefix. The server's clock is the only clock: the countdown is the server's deadline
// minus the server's "now", estimated from the last server timestamp seen and the local time elapsed since.
// Server text is only ever set with textContent.

const BASE = new URL("../", import.meta.url);
const HEARTBEAT_MS = 20_000;
const TICK_MS = 250;
const STORE = { token: "assess.token", test: "assess.test_id" };
const CLOSE = { unauthorized: 4401, forbidden: 4403, takenOver: 4409, tooLarge: 1009 };
// Remaining seconds at which the timer is read out (beyond what the screen shows every second).
const ANNOUNCE_AT_S = [1800, 900, 600, 300, 120, 60, 30, 10];
const RECONNECT_DELAYS_MS = [500, 1000, 2000, 4000, 8000, 15000, 30000];
// Error codes after which this attempt cannot go on from this page.
const FINAL_ERRORS = new Set(["not_eligible", "attempts_exhausted", "window_closed", "already_completed"]);
const REASONS = {
  completed: "You answered every question.",
  precision_reached: "The test ended early: your answers had already shown your level precisely enough.",
  time_expired: "The time ran out.",
  abandoned: "The attempt was closed without being finished.",
};
const WINDOWS = { open: "Open now", not_open: "Not open yet", closed: "Closed" };
// Integrity signals seen while the socket is down wait for it, this many at most.
const INTEGRITY_QUEUE_MAX = 20;
const INTEGRITY_REQUEST = "integrity";

const $ = (id) => document.getElementById(id);

const state = {
  token: sessionStorage.getItem(STORE.token),
  testId: Number(sessionStorage.getItem(STORE.test)) || null,
  titles: new Map(),
  socket: null,
  heartbeat: null,
  ticker: null,
  reconnectTry: 0,
  reconnectTimer: null,
  lastError: null,
  requestSeq: 0,
  // The server's clock: serverNow() = Date.now() + clockOffsetMs.
  clockOffsetMs: 0,
  deadlineMs: null,
  announced: new Set(),
  maxQuestions: 0,
  question: null,
  selected: null,
  awaitingFeedback: false,
  pending: null, // the question or result that follows the feedback on screen, shown on "Next"
  completed: false,
  attemptRunning: false, // between assessment_started and the end: when integrity signals are reported
  integrityQueue: [],
  linkToken: null, // an invitation's or a reset's, from the address it came in
};

// -- helpers -------------------------------------------------------------------------------------------

function url(path) {
  return new URL(path, BASE);
}

/** ISO-8601 from the server (microseconds, `Z` or `+00:00`) as epoch milliseconds. */
function parseTime(text) {
  return Date.parse(String(text).replace(/(\.\d{3})\d+/, "$1"));
}

function serverNow() {
  return Date.now() + state.clockOffsetMs;
}

function announce(text) {
  const region = $("announcer");
  region.textContent = "";
  // A fresh text node after a tick makes screen readers read a repeated message again.
  setTimeout(() => {
    region.textContent = text;
  }, 50);
}

function showAlert(text) {
  const alert = $("alert");
  alert.textContent = text;
  alert.hidden = false;
}

function clearAlert() {
  $("alert").hidden = true;
  $("alert").textContent = "";
}

function show(view) {
  for (const section of document.querySelectorAll(".view")) {
    section.hidden = section.id !== `view-${view}`;
  }
  $("sign-out").hidden = !state.token;
}

function focusOn(element) {
  element.focus({ preventScroll: false });
}

function formatDuration(seconds) {
  const whole = Math.max(0, Math.ceil(seconds));
  const h = Math.floor(whole / 3600);
  const m = Math.floor((whole % 3600) / 60);
  const s = whole % 60;
  const mm = String(m).padStart(h ? 2 : 1, "0");
  return `${h ? `${h}:` : ""}${mm}:${String(s).padStart(2, "0")}`;
}

function spokenDuration(seconds) {
  if (seconds >= 120) return `${Math.round(seconds / 60)} minutes left`;
  if (seconds >= 60) return "1 minute left";
  return `${Math.round(seconds)} seconds left`;
}

/** Inline `code` spans of a text as nodes (text is never parsed as HTML). */
function inlineNodes(text) {
  return String(text)
    .split(/(`[^`\n]+`)/)
    .filter((part) => part !== "")
    .map((part) => {
      if (part.length < 3 || !part.startsWith("`") || !part.endsWith("`")) return document.createTextNode(part);
      const code = document.createElement("code");
      code.textContent = part.slice(1, -1);
      return code;
    });
}

/** A question's text as nodes: ```fenced``` blocks become <pre><code>, the rest as `inlineNodes`. */
function richNodes(text) {
  const source = String(text);
  const nodes = [];
  let at = 0;
  for (const match of source.matchAll(/```[\w+-]*\n?([\s\S]*?)```/g)) {
    nodes.push(...inlineNodes(source.slice(at, match.index).replace(/^\n+|\s+$/g, "")));
    const pre = document.createElement("pre");
    const code = document.createElement("code");
    code.textContent = match[1].replace(/\n$/, "");
    pre.append(code);
    nodes.push(pre);
    at = match.index + match[0].length;
  }
  const rest = source.slice(at);
  nodes.push(...inlineNodes(at ? rest.replace(/^\s+/, "") : rest));
  return nodes;
}

function setToken(token) {
  state.token = token;
  if (token) sessionStorage.setItem(STORE.token, token);
  else sessionStorage.removeItem(STORE.token);
}

function setTestId(testId) {
  state.testId = testId;
  if (testId) sessionStorage.setItem(STORE.test, String(testId));
  else sessionStorage.removeItem(STORE.test);
}

// -- REST ----------------------------------------------------------------------------------------------

async function messageOf(response) {
  try {
    const body = await response.json();
    if (typeof body.message === "string") return body.message;
    if (typeof body.detail === "string") return body.detail;
  } catch {
    // not JSON: fall through to the status
  }
  return `The server answered ${response.status}.`;
}

/** GET with the bearer token; null (and the right screen) when it failed. */
async function authed(path) {
  let response;
  try {
    response = await fetch(url(path), { headers: { Authorization: `Bearer ${state.token}` } });
  } catch {
    showAlert("The server could not be reached. Check your connection and try again.");
    return null;
  }
  if (response.status === 401) {
    signOut("Your session has ended. Sign in again.");
    return null;
  }
  if (!response.ok) {
    showAlert(await messageOf(response));
    return null;
  }
  return response;
}

// -- sign in and out -----------------------------------------------------------------------------------

function showLogin(message) {
  show("login");
  const error = $("login-error");
  error.textContent = message || "";
  error.hidden = !message;
  focusOn($("email"));
}

async function signIn(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const email = form.elements.username.value.trim();
  const password = form.elements.password.value;
  const error = $("login-error");
  const fail = (text) => {
    error.textContent = text;
    error.hidden = false;
    focusOn(form.elements.username.value ? form.elements.password : form.elements.username);
  };
  if (!email || !password) {
    fail("Enter your email and your password.");
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  let response;
  try {
    response = await fetch(url("auth/token"), {
      method: "POST",
      body: new URLSearchParams({ username: email, password }),
    });
  } catch {
    fail("The server could not be reached. Try again.");
    return;
  } finally {
    button.disabled = false;
  }
  if (!response.ok) {
    fail(response.status === 401 ? "Incorrect email or password." : await messageOf(response));
    return;
  }
  const body = await response.json();
  setToken(body.access_token);
  form.reset();
  error.hidden = true;
  clearAlert();
  // A test interrupted by an expired session resumes right after signing in again.
  if (state.testId) openAssessment(state.testId);
  else await showTests();
}

// -- password links and resets -------------------------------------------------------------------------
// A link from an invitation or a reset carries its token in the fragment (#password-link=...), which no
// browser sends to a server; the page takes it out of the address bar at once and sends it in a body.

const LINK_PREFIX = "#password-link=";

function formError(id, text) {
  const error = $(id);
  error.textContent = text || "";
  error.hidden = !text;
}

async function postJson(path, body) {
  try {
    return await fetch(url(path), {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body),
    });
  } catch {
    return null;
  }
}

async function openPasswordLink(token) {
  state.linkToken = token;
  const response = await postJson("auth/password-link", { token });
  if (!response) {
    showLogin("The server could not be reached. Open the link again.");
    return;
  }
  if (!response.ok) {
    showLogin(await messageOf(response));
    return;
  }
  const link = await response.json();
  $("choose-title").textContent = link.purpose === "reset" ? "Choose a new password" : "Choose your password";
  $("choose-for").textContent = `For ${link.full_name} (${link.email}).`;
  formError("choose-error", "");
  show("choose-password");
  focusOn($("new-password"));
}

async function choosePassword(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const password = form.elements.password.value;
  if (password.length < 8) {
    formError("choose-error", "Use 8 characters or more.");
    focusOn(form.elements.password);
    return;
  }
  if (password !== form.elements.again.value) {
    formError("choose-error", "The two passwords differ.");
    focusOn(form.elements.again);
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const response = await postJson("auth/password", { token: state.linkToken, password });
  button.disabled = false;
  if (!response || !response.ok) {
    formError("choose-error", response ? await messageOf(response) : "The server could not be reached. Try again.");
    return;
  }
  state.linkToken = null;
  form.reset();
  setToken((await response.json()).access_token);
  announce("Your password is saved.");
  await showTests();
}

function showReset() {
  formError("reset-message", "");
  show("reset");
  $("reset-email").value = $("email").value;
  focusOn($("reset-email"));
}

async function askForReset(event) {
  event.preventDefault();
  const form = event.currentTarget;
  const email = form.elements.email.value.trim();
  if (!email) {
    formError("reset-message", "Enter your email address.");
    focusOn(form.elements.email);
    return;
  }
  const button = form.querySelector("button[type=submit]");
  button.disabled = true;
  const response = await postJson("auth/password-reset", { email });
  button.disabled = false;
  if (!response) formError("reset-message", "The server could not be reached. Try again.");
  else formError("reset-message", await messageOf(response));
}

function signOut(message) {
  state.attemptRunning = false;
  closeSocket();
  stopTimers();
  setToken(null);
  setTestId(null);
  clearAlert();
  showLogin(message);
}

// -- my tests ------------------------------------------------------------------------------------------

function fact(list, term, value) {
  const dt = document.createElement("dt");
  dt.textContent = term;
  const dd = document.createElement("dd");
  dd.textContent = value;
  list.append(dt, dd);
}

function testItem(test) {
  const item = document.createElement("li");
  item.dataset.testId = String(test.test_id);
  const title = document.createElement("h2");
  title.textContent = test.title;
  const facts = document.createElement("dl");
  fact(facts, "Window", WINDOWS[test.window] || test.window);
  if (test.ends_at) fact(facts, "Closes", new Date(parseTime(test.ends_at)).toLocaleString());
  const extra = test.extra_time_minutes ? ` (+${test.extra_time_minutes} extra)` : "";
  fact(facts, "Time allowed", `${test.duration_minutes} minutes${extra}`);
  fact(facts, "Questions", `up to ${test.max_questions}`);
  fact(facts, "Attempts left", `${test.attempts_left} of ${test.max_attempts}`);
  const button = document.createElement("button");
  button.type = "button";
  button.className = "primary";
  const active = test.active_attempt_id !== null;
  const open = test.status === "published" && test.window === "open";
  button.textContent = active ? "Resume test" : "Start test";
  button.disabled = !open || (!active && test.attempts_left < 1);
  button.setAttribute("aria-label", `${button.textContent}: ${test.title}`);
  button.addEventListener("click", () => openAssessment(test.test_id));
  item.append(title, facts, button);
  return item;
}

async function showTests() {
  const response = await authed("api/me/tests");
  if (!response) return;
  const tests = await response.json();
  const list = $("tests-list");
  list.replaceChildren(...tests.map(testItem));
  for (const test of tests) state.titles.set(test.test_id, test.title);
  $("tests-empty").hidden = tests.length > 0;
  show("tests");
  focusOn($("tests-title"));
}

// -- the assessment: connection ------------------------------------------------------------------------

function openAssessment(testId) {
  clearAlert();
  setTestId(testId);
  resetAssessment();
  $("assessment-title").textContent = state.titles.get(testId) || "Assessment";
  show("assessment");
  connect();
  if (!state.titles.has(testId)) fillTitle(testId);
}

async function fillTitle(testId) {
  // After a reload the page knows only the id; the title is a nicety, so failures stay quiet.
  try {
    const response = await fetch(url("api/me/tests"), { headers: { Authorization: `Bearer ${state.token}` } });
    if (!response.ok) return;
    for (const test of await response.json()) state.titles.set(test.test_id, test.title);
    if (state.testId === testId && state.titles.has(testId)) {
      $("assessment-title").textContent = state.titles.get(testId);
    }
  } catch {
    // keep the generic title
  }
}

function resetAssessment() {
  state.question = null;
  state.pending = null;
  state.awaitingFeedback = false;
  state.completed = false;
  state.attemptRunning = false;
  state.integrityQueue = [];
  state.deadlineMs = null;
  state.lastError = null;
  state.reconnectTry = 0;
  state.announced = new Set();
  $("answer-form").hidden = true;
  $("feedback").hidden = true;
  $("takeover").hidden = true;
  $("reconnect").hidden = true;
  $("timer").textContent = "--:--";
  $("timer").classList.remove("low");
  setProgress(0, 0, 0);
}

/** The socket's address carries the test only: the token travels in the `bearer, <JWT>` subprotocol, so it
 * never appears in a URL (server logs, proxies and the browser's history keep URLs). */
function socketUrl() {
  const address = url("ws/assessment");
  address.protocol = address.protocol === "https:" ? "wss:" : "ws:";
  address.search = new URLSearchParams({ test_id: String(state.testId) }).toString();
  return address;
}

function connect() {
  closeSocket();
  clearTimeout(state.reconnectTimer);
  $("takeover").hidden = true;
  $("reconnect").hidden = true;
  setConnectionStatus("Connecting…");
  const socket = new WebSocket(socketUrl(), ["bearer", state.token]);
  state.socket = socket;
  socket.addEventListener("open", () => {
    if (state.socket !== socket) return;
    clearInterval(state.heartbeat);
    state.heartbeat = setInterval(() => send({ type: "heartbeat" }), HEARTBEAT_MS);
  });
  socket.addEventListener("message", (event) => {
    if (state.socket === socket) receive(event.data);
  });
  socket.addEventListener("close", (event) => {
    if (state.socket === socket) closed(event.code);
  });
}

function closeSocket() {
  const socket = state.socket;
  state.socket = null;
  clearInterval(state.heartbeat);
  if (socket && socket.readyState <= WebSocket.OPEN) socket.close(1000, "done");
}

function send(message) {
  if (state.socket?.readyState !== WebSocket.OPEN) return false;
  state.socket.send(JSON.stringify(message));
  return true;
}

function requestId(prefix = "web") {
  state.requestSeq += 1;
  return `${prefix}-${state.requestSeq}`;
}

function setConnectionStatus(text) {
  const status = $("connection-status");
  status.textContent = text || "";
  status.hidden = !text;
}

function closed(code) {
  state.socket = null;
  clearInterval(state.heartbeat);
  if (state.completed) return;
  setFormEnabled(false);
  if (code === CLOSE.unauthorized) {
    // The token expired or was refused: sign in again; the stored test id resumes the attempt after.
    closeSocket();
    stopTimers();
    setToken(null);
    showLogin("Your session has ended. Sign in again to continue your test.");
  } else if (code === CLOSE.takenOver) {
    setConnectionStatus("");
    $("takeover").hidden = false;
    announce("This test was opened in another tab or window.");
    focusOn($("take-back"));
  } else if (code === CLOSE.forbidden) {
    const message = state.lastError?.message || "You cannot take this test now.";
    leaveAssessment(message);
  } else {
    if (code === CLOSE.tooLarge) showAlert("A message was too large for the server.");
    scheduleReconnect();
  }
}

function scheduleReconnect() {
  if (state.reconnectTry >= RECONNECT_DELAYS_MS.length) {
    setConnectionStatus("");
    $("reconnect").hidden = false;
    announce("The connection to the server was lost.");
    return;
  }
  const delay = RECONNECT_DELAYS_MS[state.reconnectTry];
  state.reconnectTry += 1;
  setConnectionStatus("Connection lost. Reconnecting…");
  state.reconnectTimer = setTimeout(connect, delay);
}

async function leaveAssessment(message) {
  state.attemptRunning = false;
  closeSocket();
  stopTimers();
  setTestId(null);
  await showTests();
  if (message) showAlert(message);
}

// -- the assessment: frames ----------------------------------------------------------------------------

function receive(raw) {
  let frame;
  try {
    frame = JSON.parse(raw);
  } catch {
    return;
  }
  switch (frame.type) {
    case "auth_success":
      state.clockOffsetMs = parseTime(frame.server_time) - Date.now();
      setConnectionStatus("");
      state.reconnectTry = 0;
      send({ type: "start_assessment", request_id: requestId() });
      break;
    case "assessment_started":
      started(frame);
      break;
    case "question":
      if (state.awaitingFeedback || !$("feedback").hidden) queue(frame);
      else showQuestion(frame);
      break;
    case "answer_feedback":
      showFeedback(frame);
      break;
    case "progress_update":
      syncClock(frame.remaining_s);
      setProgress(frame.answered, frame.max_questions, frame.completion_pct);
      break;
    case "assessment_completed":
      state.completed = true;
      state.attemptRunning = false;
      setTestId(null);
      closeSocket();
      if (state.awaitingFeedback || !$("feedback").hidden) queue(frame);
      else showResult(frame);
      break;
    case "heartbeat_ack":
      state.clockOffsetMs = parseTime(frame.server_time) - Date.now();
      break;
    case "error":
      // A refused integrity signal (the attempt just ended, too many at once) changes nothing on screen.
      if (!frame.request_id?.startsWith(`${INTEGRITY_REQUEST}-`)) failed(frame);
      break;
    default:
      break; // unknown types are ignored, as the protocol asks of clients too
  }
}

function started(frame) {
  state.deadlineMs = parseTime(frame.deadline);
  syncClock(frame.remaining_s);
  state.maxQuestions = frame.max_questions;
  setProgress(frame.answered, frame.max_questions, Math.round((10000 * frame.answered) / frame.max_questions) / 100);
  // Thresholds already behind us are not read out on a resume.
  const remaining = (state.deadlineMs - serverNow()) / 1000;
  state.announced = new Set(ANNOUNCE_AT_S.filter((at) => at >= remaining));
  startTicker();
  if (frame.resumed) announce(`Resumed: ${frame.answered} answered, ${spokenDuration(remaining)}.`);
  state.attemptRunning = true;
  flushIntegrity();
}

/** A frame that states the time remaining fixes the server's "now" (deadline minus remaining). */
function syncClock(remainingS) {
  if (state.deadlineMs === null || typeof remainingS !== "number") return;
  state.clockOffsetMs = state.deadlineMs - remainingS * 1000 - Date.now();
}

function setProgress(answered, maxQuestions, pct) {
  const bar = $("progress");
  bar.value = pct;
  bar.textContent = `${pct}%`;
  $("progress-label").textContent = `${answered} of ${maxQuestions} answered`;
}

function failed(frame) {
  state.lastError = frame;
  showAlert(frame.message || frame.code);
  announce(frame.message || frame.code);
  if (FINAL_ERRORS.has(frame.code)) {
    if (!state.completed) leaveAssessment(frame.message);
    return;
  }
  if (frame.code === "time_expired") {
    setFormEnabled(false);
    return;
  }
  if (frame.code === "not_started" || frame.code === "question_mismatch") {
    // Out of step with the server: starting again resumes the attempt at its pending question.
    state.awaitingFeedback = false;
    send({ type: "start_assessment", request_id: requestId() });
    return;
  }
  if (state.awaitingFeedback) {
    state.awaitingFeedback = false;
    setFormEnabled(true);
    $("submit-answer").textContent = "Submit answer";
  }
}

// -- the assessment: the countdown ---------------------------------------------------------------------

function startTicker() {
  clearInterval(state.ticker);
  tick();
  state.ticker = setInterval(tick, TICK_MS);
}

function stopTimers() {
  clearInterval(state.ticker);
  clearInterval(state.heartbeat);
  clearTimeout(state.reconnectTimer);
}

function tick() {
  if (state.deadlineMs === null) return;
  const remaining = Math.max(0, (state.deadlineMs - serverNow()) / 1000);
  const timer = $("timer");
  const text = formatDuration(remaining);
  if (timer.textContent !== text) timer.textContent = text;
  timer.classList.toggle("low", remaining <= 60);
  for (const at of ANNOUNCE_AT_S) {
    if (remaining <= at && !state.announced.has(at)) {
      state.announced.add(at);
      announce(spokenDuration(at));
    }
  }
  if (remaining <= 0) {
    clearInterval(state.ticker);
    setFormEnabled(false);
    announce("Time is up. Waiting for the server to close the test.");
    // The server closes the attempt at its deadline and sends the result on this socket.
  }
}

// -- the assessment: questions, answers, feedback ------------------------------------------------------

function queue(frame) {
  state.pending = frame;
  const next = $("next");
  next.textContent = frame.type === "assessment_completed" ? "See your result" : "Next question";
  next.disabled = false;
  if (!$("feedback").hidden && document.activeElement === $("feedback-title")) focusOn(next);
}

function option(choice, position) {
  const label = document.createElement("label");
  label.className = "option";
  const input = document.createElement("input");
  input.type = "radio";
  input.name = "option";
  input.value = choice.id;
  input.id = `option-${position}`;
  const key = document.createElement("span");
  key.className = "key";
  key.textContent = String(position + 1);
  key.setAttribute("aria-hidden", "true");
  const text = document.createElement("span");
  text.className = "option-text";
  text.append(...inlineNodes(choice.text));
  label.append(input, key, text);
  return label;
}

function showQuestion(question) {
  state.question = question;
  state.pending = null;
  state.awaitingFeedback = false;
  $("feedback").hidden = true;
  $("question-number").textContent = `Question ${question.index + 1} of up to ${state.maxQuestions}`;
  $("question-skill").textContent = question.skill;
  $("question-text").replaceChildren(...richNodes(question.text));
  $("options").replaceChildren(...question.options.map(option));
  $("submit-answer").textContent = "Submit answer";
  $("answer-form").dataset.questionId = question.question_id;
  $("answer-form").hidden = false;
  setFormEnabled(state.deadlineMs === null || state.deadlineMs > serverNow());
  focusOn($("option-0"));
}

function setFormEnabled(enabled) {
  const form = $("answer-form");
  for (const control of form.querySelectorAll("input, button")) control.disabled = !enabled;
}

function submitAnswer(event) {
  event.preventDefault();
  if (!state.question || state.awaitingFeedback) return;
  const chosen = $("answer-form").querySelector("input[name=option]:checked");
  if (!chosen) {
    showAlert("Choose an answer first.");
    focusOn($("option-0"));
    return;
  }
  clearAlert();
  const sent = send({
    type: "submit_answer",
    question_id: state.question.question_id,
    selected_option: chosen.value,
    request_id: requestId(),
  });
  if (!sent) {
    showAlert("Not connected. Your answer was not sent; it can be sent once the page has reconnected.");
    return;
  }
  state.selected = chosen.value;
  state.awaitingFeedback = true;
  setFormEnabled(false);
  $("submit-answer").textContent = "Submitting…";
}

/** What the test's feedback policy lets through: the key and explanation (full), right or wrong only
 * (correctness), or only that the answer was stored (none: `correct` is null too). */
function showFeedback(feedback) {
  state.awaitingFeedback = false;
  const judged = feedback.correct !== null;
  const keyed = feedback.correct_option !== null;
  const options = state.question ? state.question.options : [];
  const position = keyed ? options.findIndex((choice) => choice.id === feedback.correct_option) : -1;
  for (const label of $("options").querySelectorAll(".option")) {
    const value = label.querySelector("input").value;
    label.classList.toggle("is-correct", keyed && value === feedback.correct_option);
    label.classList.toggle("is-wrong", judged && value === state.selected && !feedback.correct);
  }
  const panel = $("feedback");
  panel.classList.toggle("correct", judged && feedback.correct);
  panel.classList.toggle("incorrect", judged && !feedback.correct);
  panel.classList.toggle("recorded", !judged);
  $("feedback-title").textContent = !judged ? "Answer recorded" : feedback.correct ? "Correct" : "Not quite";
  const answer = position >= 0 ? `${position + 1}. ${options[position].text}` : feedback.correct_option;
  $("feedback-correct").replaceChildren(...(keyed ? inlineNodes(`The correct answer is ${answer}`) : []));
  $("feedback-correct").hidden = !keyed;
  $("feedback-explanation").replaceChildren(...(feedback.explanation ? richNodes(feedback.explanation) : []));
  $("feedback-explanation").hidden = !feedback.explanation;
  $("submit-answer").textContent = "Answered";
  const next = $("next");
  next.disabled = state.pending === null;
  panel.hidden = false;
  const spoken = [$("feedback-title").textContent, keyed ? $("feedback-correct").textContent : "", feedback.explanation];
  announce(spoken.filter(Boolean).join(". "));
  focusOn(state.pending ? next : $("feedback-title"));
}

function continueAfterFeedback() {
  const frame = state.pending;
  if (!frame) return;
  state.pending = null;
  $("next").disabled = true;
  if (frame.type === "assessment_completed") showResult(frame);
  else showQuestion(frame);
}

// -- the result ----------------------------------------------------------------------------------------

function estimate(theta, se) {
  return se == null ? theta.toFixed(2) : `${theta.toFixed(2)} ± ${se.toFixed(2)}`;
}

function showResult(result) {
  stopTimers();
  closeSocket();
  setTestId(null);
  $("result-percentage").textContent = `${Math.round(result.percentage)}%`;
  $("result-score").textContent = `${result.score} of ${result.max_score} correct`;
  $("result-reason").textContent = REASONS[result.reason] || "";
  const decision = $("result-decision");
  decision.hidden = !result.decision;
  decision.textContent = result.decision === "pass" ? "Decision: pass" : "Decision: not passed";
  const scaled = result.scaled_score == null ? "" : `, scaled score ${result.scaled_score}`;
  $("result-ability").textContent = `Ability ${estimate(result.ability.theta, result.ability.se)}${scaled}`;
  const rows = result.skills.map((skill) => {
    const row = document.createElement("tr");
    const name = document.createElement("th");
    name.scope = "row";
    name.textContent = skill.skill;
    const correct = document.createElement("td");
    correct.textContent = String(skill.correct);
    const answered = document.createElement("td");
    answered.textContent = String(skill.answered);
    const ability = document.createElement("td");
    ability.textContent = skill.theta == null ? "–" : estimate(skill.theta, skill.se);
    row.append(name, correct, answered, ability);
    return row;
  });
  $("result-skills").replaceChildren(...rows);
  show("result");
  focusOn($("result-title"));
  announce(`Test complete. You scored ${Math.round(result.percentage)} percent.`);
}

// -- keyboard ------------------------------------------------------------------------------------------

function onKey(event) {
  if (event.altKey || event.ctrlKey || event.metaKey) return;
  const form = $("answer-form");
  if ($("view-assessment").hidden || form.hidden) return;
  if (event.target instanceof HTMLInputElement && event.target.type !== "radio") return;
  const choice = Number(event.key);
  if (Number.isInteger(choice) && choice >= 1) {
    const input = $(`option-${choice - 1}`);
    if (input && !input.disabled) {
      input.checked = true;
      focusOn(input);
      event.preventDefault();
    }
  } else if (event.key === "Enter" && event.target instanceof HTMLInputElement && form.contains(event.target)) {
    event.preventDefault();
    form.requestSubmit();
  }
}

// -- integrity signals ---------------------------------------------------------------------------------

/** What the page sees happen while an attempt runs (protocol v1.1 `integrity_event`): focus lost and
 * regained, the page hidden and shown, a paste (its length only, never its text), fullscreen left. Staff
 * see them in the report and the live monitor with the server's time; they never change the score. */
function reportIntegrity(kind, detail) {
  if (!state.attemptRunning) return;
  const message = {
    type: "integrity_event",
    kind,
    occurred_at: new Date(serverNow()).toISOString(),
    request_id: requestId(INTEGRITY_REQUEST),
  };
  if (detail) message.detail = detail;
  if (!send(message) && state.integrityQueue.length < INTEGRITY_QUEUE_MAX) state.integrityQueue.push(message);
}

function flushIntegrity() {
  while (state.integrityQueue.length && send(state.integrityQueue[0])) state.integrityQueue.shift();
}

function watchIntegrity() {
  window.addEventListener("blur", () => reportIntegrity("focus_lost"));
  window.addEventListener("focus", () => reportIntegrity("focus_returned"));
  document.addEventListener("visibilitychange", () =>
    reportIntegrity(document.visibilityState === "hidden" ? "page_hidden" : "page_visible"),
  );
  document.addEventListener("paste", (event) => {
    const pasted = event.clipboardData?.getData("text") ?? "";
    reportIntegrity("paste", `${pasted.length} characters`);
  });
  document.addEventListener("fullscreenchange", () => {
    if (!document.fullscreenElement) reportIntegrity("fullscreen_exit");
  });
}

// -- start ---------------------------------------------------------------------------------------------

function boot() {
  $("login-form").addEventListener("submit", signIn);
  $("forgot").addEventListener("click", showReset);
  $("reset-form").addEventListener("submit", askForReset);
  $("reset-back").addEventListener("click", () => showLogin());
  $("choose-form").addEventListener("submit", choosePassword);
  $("sign-out").addEventListener("click", () => signOut("You have signed out."));
  $("answer-form").addEventListener("submit", submitAnswer);
  $("next").addEventListener("click", continueAfterFeedback);
  $("take-back").addEventListener("click", connect);
  $("reconnect-now").addEventListener("click", () => {
    state.reconnectTry = 0;
    connect();
  });
  $("back-to-tests").addEventListener("click", () => {
    clearAlert();
    showTests();
  });
  document.addEventListener("keydown", onKey);
  watchIntegrity();
  // A page being left (reload, navigation) must not read its socket's close as a lost connection.
  window.addEventListener("pagehide", () => {
    state.completed = true;
    closeSocket();
  });
  // Restored from the back-forward cache: its socket is gone, so route again from what the tab stored.
  window.addEventListener("pageshow", (event) => {
    if (event.persisted) route();
  });
  // A link opened in a tab that already shows the page changes only the fragment: no new page load.
  window.addEventListener("hashchange", () => {
    if (location.hash.startsWith(LINK_PREFIX)) route();
  });
  route();
}

function route() {
  if (location.hash.startsWith(LINK_PREFIX)) {
    const token = location.hash.slice(LINK_PREFIX.length);
    history.replaceState(null, "", location.pathname + location.search);
    openPasswordLink(token);
  } else if (!state.token) showLogin();
  else if (state.testId) openAssessment(state.testId);
  else showTests();
}

boot();
