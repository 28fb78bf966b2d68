"""GET /ws/schema.json: the JSON Schema of every WebSocket message, generated from the protocol models.

Every frame that any test receives through `LiveClient` is validated against this schema; here: the
served document is the models' schema, a valid draft 2020-12 schema, complete (every message type, error
code and close code), and it accepts real frames and refuses malformed ones in both directions."""

from __future__ import annotations

import asyncio
from typing import Any, get_args

import pytest
from jsonschema import Draft202012Validator
from live_client import PINNED_SERVER_TYPES, SERVER_MESSAGE, LiveClient, ws_url

from wire import protocol

pytestmark = pytest.mark.websocket


def validator_for(schema: dict[str, Any], direction: str) -> Draft202012Validator:
    return Draft202012Validator({"$defs": schema["$defs"], "$ref": f"#/$defs/{direction}"})


def message_types(union: Any) -> set[str]:
    members = get_args(get_args(union)[0])
    return {get_args(member.model_fields["type"].annotation)[0] for member in members}


def served_schema(server) -> dict[str, Any]:  # type: ignore[no-untyped-def]
    with server.client() as client:  # no token: the schema is public, like the OpenAPI document
        response = client.get("/ws/schema.json")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("application/json")
    return response.json()  # type: ignore[no-any-return]


def test_the_served_schema_is_the_protocol_models_schema(server) -> None:  # type: ignore[no-untyped-def]
    schema = served_schema(server)
    assert schema == protocol.json_schema()
    Draft202012Validator.check_schema(schema)
    definitions = schema["$defs"]
    client_types = {choice["$ref"].rsplit("/", 1)[1] for choice in definitions["ClientToServer"]["oneOf"]}
    server_types = {choice["$ref"].rsplit("/", 1)[1] for choice in definitions["ServerToClient"]["oneOf"]}
    assert {definitions[name]["properties"]["type"]["const"] for name in client_types} == set(protocol.CLIENT_TYPES)
    assert (
        {definitions[name]["properties"]["type"]["const"] for name in server_types}
        == message_types(protocol.AnyServerMessage)
        >= PINNED_SERVER_TYPES | {"chat_response", "monitor_event"}
    )
    assert definitions["Error"]["properties"]["code"]["enum"] == list(protocol.ERROR_CODES)
    assert schema["x-close-codes"].keys() == {"1000", "1001", "1009", "4401", "4403", "4409"}
    assert schema["x-max-frame-bytes"] == 64 * 1024
    # Server messages always carry every field: generated types need not mark any optional.
    for name in server_types:
        assert set(definitions[name]["required"]) == set(definitions[name]["properties"]), name


def test_the_schema_tells_good_client_messages_from_bad(server) -> None:  # type: ignore[no-untyped-def]
    client_message = validator_for(served_schema(server), "ClientToServer")
    good = [
        {"type": "start_assessment"},
        {"type": "start_assessment", "request_id": "r-1"},
        {"type": "submit_answer", "question_id": "q1-abc", "selected_option": "b"},
        {"type": "get_state"},
        {"type": "heartbeat"},
        {"type": "chat_message", "content": "how did I do?"},
    ]
    bad = [
        {},
        {"type": "launch_missiles"},
        {"type": "submit_answer", "question_id": "q1"},
        {"type": "submit_answer", "question_id": "", "selected_option": "a"},
        {"type": "submit_answer", "question_id": "q1", "selected_option": 3},
        {"type": "chat_message", "content": ""},
        {"type": "start_assessment", "request_id": "r" * 129},
        ["start_assessment"],
    ]
    for message in good:
        assert client_message.is_valid(message), message
    for message in bad:
        assert not client_message.is_valid(message), message


def test_real_frames_of_a_whole_assessment_match_the_schema(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_questions=2, min_questions=2)

    async def scenario() -> list[dict[str, Any]]:
        client = await LiveClient.connect(
            ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
        )
        await client.expect("auth_success")
        await client.send("heartbeat")
        await client.expect("heartbeat_ack")
        await client.send("submit_answer", question_id="q", selected_option="a")
        await client.expect("error")  # not_started
        _, question = await client.start()
        await client.send("get_state")
        await client.expect("assessment_state")
        while question["type"] == "question":
            *_, question = await client.answer(question)
        await client.close()
        return client.received  # each validated by LiveClient.recv against the schema

    frames = asyncio.run(scenario())
    kinds = [frame["type"] for frame in frames]
    assert {"auth_success", "heartbeat_ack", "error", "assessment_started", "question", "assessment_state"} <= set(
        kinds
    )
    assert kinds[-1] == "assessment_completed"
    for frame in frames:
        assert SERVER_MESSAGE.is_valid(frame)
    # The schema is strict where generated types rely on it: a frame missing a field or with a code
    # outside the protocol does not pass.
    assert not SERVER_MESSAGE.is_valid({k: v for k, v in frames[-1].items() if k != "score"})
    assert not SERVER_MESSAGE.is_valid({"type": "error", "code": "teapot", "message": "x", "request_id": None})
