"""Structured logs: JSON lines carrying attempt and connection ids, and never a token or key material."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import ray
from conftest import Server
from live_client import LiveClient, ws_url

pytestmark = pytest.mark.websocket


def log_lines() -> list[str]:
    directory = Path(ray._private.worker._global_node.get_logs_dir_path())  # type: ignore[attr-defined]
    lines: list[str] = []
    for path in directory.rglob("*"):
        if path.is_file() and path.suffix in (".log", ".err", ".out", ".txt"):
            lines.extend(path.read_text(errors="replace").splitlines())
    return lines


def test_logs_carry_ids_and_never_a_token_or_a_key(server: Server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_questions=3, min_questions=3)

    async def scenario() -> tuple[str, int, list[dict]]:  # type: ignore[type-arg]
        client = await LiveClient.connect(
            ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
        )
        hello = await client.expect("auth_success")
        started, question = await client.start()
        feedback = []
        while question["type"] == "question":
            frames = await client.answer(question)
            feedback.append(frames[0])
            question = frames[2]
        await client.close()
        return hello["connection_id"], started["attempt_id"], feedback

    connection_id, attempt_id, feedback = asyncio.run(scenario())
    ours: list[dict] = []  # type: ignore[type-arg]
    for _ in range(50):  # Ray copies worker output into its log files asynchronously
        lines = log_lines()
        ours = [json.loads(line[line.index("{") :]) for line in lines if connection_id in line and "{" in line]
        if any(entry.get("message") == "connection closed: closed by the client" for entry in ours):
            break
        asyncio.run(asyncio.sleep(0.2))
    messages = {entry["message"] for entry in ours}
    assert "attempt started" in messages, messages  # per answer only at DEBUG: a line each costs the replica
    assert any(message.startswith("connection opened: ") and message.endswith("/ws/assessment") for message in messages)
    assert all(entry["connection_id"] == connection_id for entry in ours)
    assert any(entry.get("attempt_id") == attempt_id for entry in ours)
    everything = "\n".join(lines)
    assert live.candidate.token not in everything
    assert live.candidate.token.split(".")[2] not in everything  # not even the signature
    for answer in feedback:  # no explanation (key material) was ever logged
        assert answer["explanation"][:60] not in everything
