"""Where a session host's generator reaches the model, taken from the settings (None: bank only)."""

from __future__ import annotations

from dataclasses import dataclass

from config.settings import Settings
from generation.prefetch import Prefetcher
from generation.service import ItemGenerator
from llm.client import ChatModel
from persistence.database import Database
from questions.source import QuestionSource


@dataclass(frozen=True)
class ModelEndpoint:
    base_url: str
    model: str
    api_key: str | None
    timeout_s: float
    budget_s: float
    max_tries: int
    max_concurrency: int
    prefetch: bool = True

    @classmethod
    def from_settings(cls, settings: Settings) -> ModelEndpoint | None:
        if settings.generator != "llm" or not settings.model_base_url or not settings.llm_model:
            return None
        return cls(
            base_url=settings.model_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout_s=settings.llm_timeout_s,
            budget_s=settings.llm_budget_s,
            max_tries=settings.llm_max_tries,
            max_concurrency=settings.llm_max_concurrency,
            prefetch=settings.llm_prefetch,
        )

    def client(self) -> ChatModel:
        return ChatModel(self.base_url, self.model, self.api_key, self.timeout_s, self.max_concurrency)

    def prefetcher(self, model: ChatModel, database: Database, questions: QuestionSource) -> Prefetcher:
        bank_stems = [item.stem for item in questions.items]
        generator = ItemGenerator(model, database, bank_stems, self.max_tries, self.budget_s)
        return Prefetcher(generator, ahead=self.prefetch)
