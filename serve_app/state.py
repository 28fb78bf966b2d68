"""What one ingress replica owns for its lifetime, built from the settings passed into it."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from langgraph.graph.state import CompiledStateGraph
from ray.actor import ActorHandle

from actors.registry import RegistryConfig, get_registry
from config.settings import Settings
from graphs.chat import build_chat_graph
from persistence.database import Database
from questions.source import QuestionSource
from serve_app.metrics import HttpMetrics
from serve_app.tokens import TokenService


@dataclass
class ReplicaState:
    settings: Settings
    database: Database
    tokens: TokenService
    questions: QuestionSource
    metrics: HttpMetrics
    registry: ActorHandle
    chat: CompiledStateGraph[Any, Any, Any, Any]

    @classmethod
    def build(cls, settings: Settings) -> ReplicaState:
        database = Database(settings.database_url)
        return cls(
            settings=settings,
            database=database,
            tokens=TokenService.from_settings(settings),
            questions=QuestionSource(),
            metrics=HttpMetrics(),
            registry=get_registry(RegistryConfig.from_settings(settings)),
            chat=build_chat_graph(database),
        )
