"""WebSocket protocol v1 (DESIGN.md section 4): every message as a pydantic model, in one module.

Client messages form one discriminated union on `type`; unknown fields are ignored. The same models
produce the JSON Schema that front-end developers generate types from.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any, Literal, get_args

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, TypeAdapter, ValidationError, model_validator

from domain.errors import Refused
from domain.text_rules import refuse_nul

MAX_FRAME_BYTES = 64 * 1024
RequestId = Annotated[str, Field(max_length=128)]

ERROR_CODES = (
    "invalid_message",
    "unknown_type",
    "not_started",
    "already_completed",
    "question_mismatch",
    "already_answered",
    "time_expired",
    "attempts_exhausted",
    "not_eligible",
    "window_closed",
    "rate_limited",
    "message_too_large",
    "internal",
)

# Close codes beyond the standard ones.
CLOSE_UNAUTHORIZED = 4401
CLOSE_FORBIDDEN = 4403
CLOSE_TAKEN_OVER = 4409
CLOSE_MESSAGE_TOO_LARGE = 1009
CLOSE_GOING_AWAY = 1001
CLOSE_CODES = {
    1000: "normal closure",
    CLOSE_GOING_AWAY: "idle timeout or server shutting down; reconnect and send start_assessment to resume",
    CLOSE_MESSAGE_TOO_LARGE: f"a frame over {MAX_FRAME_BYTES} bytes",
    CLOSE_UNAUTHORIZED: "missing, invalid or expired token; reconnect with a fresh token",
    CLOSE_FORBIDDEN: "the token is valid but may not use this endpoint or test (an error frame says why)",
    CLOSE_TAKEN_OVER: "another connection took over this attempt",
}


class ClientMessage(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        return refuse_nul(data)


class StartAssessment(ClientMessage):
    type: Literal["start_assessment"]
    request_id: RequestId | None = None


class SubmitAnswer(ClientMessage):
    type: Literal["submit_answer"]
    question_id: Annotated[str, Field(min_length=1, max_length=200)]
    selected_option: Annotated[str, Field(min_length=1, max_length=16)]
    request_id: RequestId | None = None


class GetState(ClientMessage):
    type: Literal["get_state"]
    request_id: RequestId | None = None


class Heartbeat(ClientMessage):
    type: Literal["heartbeat"]
    request_id: RequestId | None = None


class ChatMessage(ClientMessage):
    type: Literal["chat_message"]
    content: Annotated[str, Field(min_length=1, max_length=4000)]
    request_id: RequestId | None = None


# What a candidate's client may report as it happens (v1.1): the window lost or regained focus, the page was
# hidden or shown again, text was pasted, fullscreen was left. Stored for staff; never scored.
IntegrityKind = Literal["focus_lost", "focus_returned", "page_hidden", "page_visible", "paste", "fullscreen_exit"]
INTEGRITY_KINDS: tuple[str, ...] = get_args(IntegrityKind)


class IntegrityEvent(ClientMessage):
    """An integrity signal from the candidate's client (v1.1), during an attempt on /ws/assessment. No
    reply unless refused (`not_started`, `already_completed`, `rate_limited`, `invalid_message`)."""

    type: Literal["integrity_event"]
    kind: IntegrityKind
    occurred_at: AwareDatetime | None = None  # the client's clock, kept beside the server's
    detail: Annotated[str, Field(max_length=200)] | None = None
    request_id: RequestId | None = None


AnyClientMessage = Annotated[
    StartAssessment | SubmitAnswer | GetState | Heartbeat | ChatMessage | IntegrityEvent, Field(discriminator="type")
]
CLIENT_TYPES = frozenset(
    {"start_assessment", "submit_answer", "get_state", "heartbeat", "chat_message", "integrity_event"}
)
_CLIENT_MESSAGE = TypeAdapter(AnyClientMessage)


class ServerMessage(BaseModel):
    # Every field is always sent, defaults included: the schema marks them all required.
    model_config = ConfigDict(json_schema_serialization_defaults_required=True)

    def frame(self) -> str:
        return self.model_dump_json()


class AuthSuccess(ServerMessage):
    type: Literal["auth_success"] = "auth_success"
    user_id: int
    test_id: int | None
    connection_id: str
    server_time: datetime
    active_attempt_id: int | None


class AssessmentStarted(ServerMessage):
    type: Literal["assessment_started"] = "assessment_started"
    attempt_id: int
    attempt_number: int
    resumed: bool
    started_at: datetime
    deadline: datetime
    remaining_s: float
    max_questions: int
    answered: int


class QuestionOption(BaseModel):
    id: str
    text: str


class Question(ServerMessage):
    """A question as shown: never the key, never scoring fields."""

    type: Literal["question"] = "question"
    question_id: str
    index: int
    text: str
    options: list[QuestionOption]
    skill: str
    deadline: datetime


class AnswerFeedback(ServerMessage):
    """v1.1: under the test's feedback policy `correctness` the key and explanation are null, under `none`
    whether the answer was right is null too (the answer was stored); the fields are always sent."""

    type: Literal["answer_feedback"] = "answer_feedback"
    question_id: str
    correct: bool | None
    correct_option: str | None
    explanation: str | None
    duplicate: bool


class ProgressUpdate(ServerMessage):
    type: Literal["progress_update"] = "progress_update"
    answered: int
    max_questions: int
    completion_pct: float
    score: int | None  # v1.1: null under the feedback policy `none` (a running score tells right from wrong)
    elapsed_s: float
    remaining_s: float


class Ability(BaseModel):
    theta: float
    se: float


class SkillResult(BaseModel):
    skill: str
    answered: int
    correct: int
    # v1.1: the ability estimated from this skill's answers alone, with its standard error (null without
    # answers in the skill)
    theta: float | None = None
    se: float | None = None


class AssessmentCompleted(ServerMessage):
    type: Literal["assessment_completed"] = "assessment_completed"
    attempt_id: int
    reason: Literal["completed", "precision_reached", "time_expired", "abandoned"]
    score: int
    max_score: int
    percentage: float
    ability: Ability
    skills: list[SkillResult]
    duration_s: float
    # v1.1: the decision on ability: pass when theta reaches the test's cut on the theta scale; the scaled
    # score is 500 + 100 theta (100-900)
    decision: Literal["pass", "fail"] | None = None
    theta_cut: float | None = None
    scaled_score: int | None = None


class AssessmentState(ServerMessage):
    type: Literal["assessment_state"] = "assessment_state"
    attempt_id: int | None
    status: str
    answered: int
    pending_question_id: str | None
    remaining_s: float | None


class HeartbeatAck(ServerMessage):
    type: Literal["heartbeat_ack"] = "heartbeat_ack"
    server_time: datetime


class ChatResponse(ServerMessage):
    type: Literal["chat_response"] = "chat_response"
    content: str


class MonitorEvent(ServerMessage):
    """What a recruiter's `/ws/monitor` receives as candidates start, answer and finish (after commit)."""

    type: Literal["monitor_event"] = "monitor_event"
    event: Literal["attempt_started", "answered", "attempt_completed", "integrity_event"]
    sequence: int
    at: datetime
    test_id: int
    attempt_id: int
    user_id: int
    answered: int
    score: int
    question_index: int | None = None
    correct: bool | None = None
    reason: str | None = None
    percentage: float | None = None
    # v1.1: `answered` events carry the answer's time and whether it was far faster than the item's median
    # (null: too few responses to tell); `integrity_event` events carry the client's signal.
    time_taken_s: float | None = None
    fast_answer: bool | None = None
    integrity_kind: str | None = None


class Error(ServerMessage):
    type: Literal["error"] = "error"
    code: Annotated[str, Field(json_schema_extra={"enum": list(ERROR_CODES)})]
    message: str
    request_id: str | None = None


AnyServerMessage = Annotated[
    AuthSuccess
    | AssessmentStarted
    | Question
    | AnswerFeedback
    | ProgressUpdate
    | AssessmentCompleted
    | AssessmentState
    | HeartbeatAck
    | ChatResponse
    | MonitorEvent
    | Error,
    Field(discriminator="type"),
]


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of every message, both directions, from the models above: what
    `/ws/schema.json` serves for front ends to generate types from."""
    definitions: dict[str, Any] = {}
    for name, union, mode in (
        ("ClientToServer", AnyClientMessage, "validation"),
        ("ServerToClient", AnyServerMessage, "serialization"),
    ):
        schema = TypeAdapter(union).json_schema(mode=mode, ref_template="#/$defs/{model}")  # type: ignore[arg-type]
        definitions.update(schema.pop("$defs", {}))
        definitions[name] = schema
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "title": "Assess WebSocket protocol v1",
        "description": (
            "JSON text frames, one object each, always with a 'type'. Client messages are ClientToServer, "
            "server messages ServerToClient; unknown fields are ignored; times are ISO-8601 UTC, durations "
            f"seconds; frames are at most {MAX_FRAME_BYTES} bytes."
        ),
        "anyOf": [{"$ref": "#/$defs/ClientToServer"}, {"$ref": "#/$defs/ServerToClient"}],
        "$defs": definitions,
        "x-close-codes": {str(code): meaning for code, meaning in CLOSE_CODES.items()},
        "x-error-codes": list(ERROR_CODES),
        "x-max-frame-bytes": MAX_FRAME_BYTES,
    }


def _request_id_of(payload: dict[str, Any]) -> str | None:
    value = payload.get("request_id")
    return value if isinstance(value, str) and len(value) <= 128 else None


def parse_client_message(text: str) -> AnyClientMessage:
    """Decode one text frame; raise `Refused` with `invalid_message` or `unknown_type` and a reason."""
    try:
        payload = json.loads(text)
    except (ValueError, RecursionError):
        raise Refused("invalid_message", "the frame is not valid JSON") from None
    if not isinstance(payload, dict):
        raise Refused("invalid_message", "a message is a JSON object with a 'type'")
    kind = payload.get("type")
    if not isinstance(kind, str):
        raise Refused("invalid_message", "the message has no string 'type'")
    if kind not in CLIENT_TYPES:
        raise Refused("unknown_type", f"unknown message type {kind[:40]!r}")
    try:
        return _CLIENT_MESSAGE.validate_python(payload)
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(str(part) for part in problem['loc'][1:]) or 'message'}: {problem['msg']}"
            for problem in error.errors(include_input=False)
        )
        refusal = Refused("invalid_message", problems)
        refusal.request_id = _request_id_of(payload)  # type: ignore[attr-defined]
        raise refusal from None


def request_id_of(error: Refused) -> str | None:
    return getattr(error, "request_id", None)
