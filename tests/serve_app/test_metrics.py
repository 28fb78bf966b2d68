"""GET /metrics, parsed with prometheus-client's parser, moved by a scripted session over real sockets:
connections by endpoint, messages by type, error frames by code, the answer round trip, live sessions
per host (as the registry's last sweep found them), the sweep and the attempts it finalizes by deadline."""

from __future__ import annotations

import asyncio
import time

import pytest
from conftest import start_then_pass_the_deadline
from live_client import LiveClient, ws_url
from prometheus_scrape import Samples, scrape, total, value

pytestmark = pytest.mark.websocket


def delta(after: Samples, before: Samples, name: str, **labels: str) -> float:
    return value(after, name, **labels) - value(before, name, **labels)


def test_a_scripted_session_moves_each_figure(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test(max_questions=2, min_questions=2)
    before = scrape(server)

    async def scenario() -> tuple[Samples, Samples]:
        client = await LiveClient.connect(
            ws_url(server.base_url, "/ws/assessment", token=live.candidate.token, test_id=live.test_id)
        )
        await client.expect("auth_success")
        await client.send_raw("{not json")
        await client.expect("error")
        await client.send("fly_away")
        await client.expect("error")
        await client.send_raw(b"\x00\x01")
        await client.expect("error")
        await client.send("submit_answer", question_id="q", selected_option="a")
        await client.expect("error")  # not_started
        await client.send("heartbeat")
        await client.expect("heartbeat_ack")
        _, question = await client.start()
        # The per-host figures are what the hosts told the registry's last sweep: wait for one that saw this.
        while total(during := await asyncio.to_thread(scrape, server), "assess_attached_connections") < 1:
            await asyncio.sleep(0.5)  # pytest-timeout bounds a sweep that never comes
        while question["type"] == "question":
            *_, question = await client.answer(question)
        await client.close()
        return during, await asyncio.to_thread(scrape, server)

    during, after = asyncio.run(scenario())
    messages = "assess_ws_messages_total"
    for kind, count in {
        "invalid": 1,
        "unknown_type": 1,
        "binary": 1,
        "heartbeat": 1,
        "start_assessment": 1,
        "submit_answer": 3,
    }.items():
        assert delta(after, before, messages, endpoint="assessment", type=kind) == count, kind
    errors = "assess_ws_error_frames_total"
    for code, count in {"invalid_message": 2, "unknown_type": 1, "not_started": 1}.items():
        assert delta(after, before, errors, code=code) == count, code
    assert delta(after, before, "assess_answer_round_trip_seconds_count") == 2
    assert delta(after, before, "assess_answer_round_trip_seconds_sum") > 0
    assert value(during, "assess_ws_connections", endpoint="assessment") >= 1
    assert (
        value(after, "assess_ws_connections", endpoint="assessment")
        == value(during, "assess_ws_connections", endpoint="assessment") - 1
    )
    assert value(after, "assess_cluster_figures_available") == 1
    assert value(after, "assess_session_hosts") >= 1
    assert value(after, "assess_session_hosts_not_answering") == 0
    assert total(during, "assess_live_sessions") >= 1
    assert 0 <= value(during, "assess_cluster_figures_age_seconds") < 3600
    assert value(after, "assess_sweeps_total") >= 0
    # prometheus-client's own families are there too: process memory, and the HTTP requests
    assert value(after, "process_resident_memory_bytes") > 0
    assert total(after, "assess_http_requests_total", route="/metrics") >= 2


def test_the_sweep_and_the_attempts_it_finalizes_by_deadline(server, make_live_test) -> None:  # type: ignore[no-untyped-def]
    live = make_live_test()
    before = scrape(server)

    asyncio.run(start_then_pass_the_deadline(server, live))
    finalized = "assess_attempts_finalized_by_deadline_total"
    while delta(after := scrape(server), before, finalized) < 1:
        time.sleep(0.5)  # pytest-timeout bounds a sweep that never finalizes it
    assert delta(after, before, finalized) == 1
    assert value(after, "assess_sweeps_total") > value(before, "assess_sweeps_total")
    assert value(after, "assess_sweep_duration_seconds") > 0


def test_the_cluster_figures_are_marked_missing_when_the_registry_does_not_answer() -> None:
    from serve_app.metrics import ReplicaMetrics

    text = ReplicaMetrics(lambda: {"assessment": 3}).render(None).decode()
    assert "assess_cluster_figures_available 0.0" in text
    assert 'assess_ws_connections{endpoint="assessment"} 3.0' in text
    assert "assess_live_sessions" not in text
