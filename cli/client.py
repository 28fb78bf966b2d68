"""`assess client`: take an assessment from the terminal over the pinned WebSocket protocol.

Interactive by default; `--auto` answers by itself. A terminal client never sees keys, so `--auto`
reaches a chosen accuracy by looking the question up in the locally installed bank (an oracle only a
test harness has); questions it cannot find there (fresh family variants) are guessed.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import websockets
from rich.console import Console
from rich.panel import Panel
from rich.progress import BarColumn, Progress, TextColumn
from rich.prompt import Prompt

from questions.source import QuestionSource


class ProtocolFailure(Exception):
    """The server answered with an `error` frame or closed the socket unexpectedly."""


@dataclass
class AutoAnswerer:
    accuracy: float
    rng: random.Random

    def __post_init__(self) -> None:
        self._keys = {item.stem: item.key for item in QuestionSource().items}

    def choose(self, question: dict[str, Any]) -> str:
        options = [option["id"] for option in question["options"]]
        key = self._keys.get(question["text"])
        if key is None:
            return self.rng.choice(options)
        if self.rng.random() < self.accuracy:
            return key
        return self.rng.choice([option for option in options if option != key])


def ask_candidate(console: Console, question: dict[str, Any]) -> str:
    body = question["text"] + "\n\n" + "\n".join(f"  {o['id']}) {o['text']}" for o in question["options"])
    console.print(Panel(body, title=f"Question {question['index'] + 1} · {question['skill']}"))
    return Prompt.ask("Your answer", choices=[option["id"] for option in question["options"]], console=console)


async def take_assessment(url: str, console: Console, answerer: AutoAnswerer | None) -> dict[str, Any]:
    async with websockets.connect(url, open_timeout=60) as socket:

        async def receive(expected: set[str]) -> dict[str, Any]:
            try:
                frame = json.loads(await socket.recv())
            except websockets.ConnectionClosed as closed:
                code = closed.rcvd.code if closed.rcvd else "none"
                raise ProtocolFailure(f"the server closed the connection (code {code})") from None
            if frame["type"] == "error":
                raise ProtocolFailure(f"{frame['code']}: {frame['message']}")
            if frame["type"] not in expected:
                raise ProtocolFailure(f"expected {sorted(expected)}, got {frame['type']}")
            return frame  # type: ignore[no-any-return]

        hello = await receive({"auth_success"})
        console.print(f"Connected as user {hello['user_id']} (connection {hello['connection_id'][:8]}).")
        await socket.send(json.dumps({"type": "start_assessment"}))
        started = await receive({"assessment_started", "assessment_completed"})
        if started["type"] == "assessment_completed":
            return started
        verb = "Resumed" if started["resumed"] else "Started"
        console.print(
            f"{verb} attempt {started['attempt_number']}: {started['max_questions']} questions, "
            f"{started['remaining_s'] / 60:.1f} minutes left."
        )
        frame = await receive({"question", "assessment_completed"})
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            TextColumn("{task.completed}/{task.total}"),
            console=console,
            transient=answerer is None,
        ) as progress:
            task = progress.add_task("answered", total=started["max_questions"], completed=started["answered"])
            while frame["type"] == "question":
                option = answerer.choose(frame) if answerer else ask_candidate(console, frame)
                await socket.send(
                    json.dumps(
                        {"type": "submit_answer", "question_id": frame["question_id"], "selected_option": option}
                    )
                )
                feedback = await receive({"answer_feedback"})
                update = await receive({"progress_update"})
                progress.update(task, completed=update["answered"])
                if answerer is None:
                    verdict = (
                        "[green]correct[/green]"
                        if feedback["correct"]
                        else (f"[red]wrong[/red], the answer was {feedback['correct_option']}")
                    )
                    console.print(f"{verdict}. {feedback['explanation']}")
                frame = await receive({"question", "assessment_completed"})
        return frame


def print_result(console: Console, result: dict[str, Any]) -> None:
    console.print(
        Panel(
            f"Reason: {result['reason']}\nScore: {result['score']}/{result['max_score']} ({result['percentage']}%)\n"
            f"Ability: θ = {result['ability']['theta']:+.2f} (SE {result['ability']['se']:.2f})\n"
            + "\n".join(f"  {s['skill']}: {s['correct']}/{s['answered']}" for s in result["skills"]),
            title="Assessment completed",
        )
    )
