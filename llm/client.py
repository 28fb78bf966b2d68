"""An OpenAI-compatible chat-completions endpoint (vLLM, Ray Serve LLM, a hosted API), asked for JSON.

Requests use structured output (`response_format` with a JSON schema), so a conforming server returns
exactly the object asked for; the reply is still parsed and checked, as servers differ. At most
`max_concurrency` requests are in flight from one process: requests from many sessions reach the
serving engine together, and the engine batches them.
"""

from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass
from typing import Any

import httpx


class ModelError(Exception):
    """The model could not be used for this request: unreachable, too slow, an HTTP error, or not JSON."""


@dataclass(frozen=True)
class ModelReply:
    content: dict[str, Any]
    latency_s: float


class ChatModel:
    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 20.0,
        max_concurrency: int = 16,
    ) -> None:
        self.model = model
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else {}
        self._http = httpx.AsyncClient(base_url=base_url.rstrip("/") + "/", headers=headers, timeout=timeout_s)
        self._slots = asyncio.Semaphore(max_concurrency)

    async def complete_json(
        self, messages: list[dict[str, str]], schema_name: str, schema: dict[str, Any], temperature: float
    ) -> ModelReply:
        body = {
            "model": self.model,
            "messages": messages,
            "temperature": temperature,
            "response_format": {
                "type": "json_schema",
                "json_schema": {"name": schema_name, "schema": schema, "strict": True},
            },
        }
        async with self._slots:
            began = time.perf_counter()
            try:
                response = await self._http.post("chat/completions", json=body)
            except httpx.TimeoutException as error:
                raise ModelError(f"no reply within {self._http.timeout.read} s") from error
            except httpx.HTTPError as error:
                raise ModelError(f"endpoint unreachable: {type(error).__name__}") from error
            latency = time.perf_counter() - began
        if response.status_code != 200:
            raise ModelError(f"endpoint answered HTTP {response.status_code}")
        try:
            content = response.json()["choices"][0]["message"]["content"]
            parsed = json.loads(content)
        except (ValueError, KeyError, IndexError, TypeError) as error:
            raise ModelError("the reply is not the JSON object asked for") from error
        if not isinstance(parsed, dict):
            raise ModelError("the reply is not a JSON object")
        return ModelReply(parsed, latency)

    async def aclose(self) -> None:
        await self._http.aclose()
