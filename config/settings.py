"""The one settings class of the project, read from the environment (names in DESIGN.md section 7)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_BYTES = 32
MIN_ADMIN_PASSWORD_LENGTH = 12

# Development-only defaults: refused in production so that a forgotten variable fails loudly.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me-0123456789"
DEVELOPMENT_ADMIN_PASSWORD = "admin-password-change-me"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/assess.db"


def _env(*names: str) -> AliasChoices:
    return AliasChoices(*names)


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore", frozen=True, populate_by_name=True)

    environment: Literal["development", "production"] = Field(
        "development", validation_alias=_env("ASSESS_ENVIRONMENT")
    )

    secret_key: SecretStr = Field(SecretStr(DEVELOPMENT_SECRET_KEY), validation_alias=_env("SECRET_KEY"))
    jwt_algorithm: Literal["HS256", "HS384", "HS512"] = Field("HS256", validation_alias=_env("JWT_ALGORITHM"))
    access_token_expire_minutes: int = Field(
        60, ge=1, le=7 * 24 * 60, validation_alias=_env("ACCESS_TOKEN_EXPIRE_MINUTES")
    )
    jwt_issuer: str = Field("assess", validation_alias=_env("ASSESS_JWT_ISSUER"))
    jwt_audience: str = Field("assess-api", validation_alias=_env("ASSESS_JWT_AUDIENCE"))

    database_url: str = Field(DEFAULT_DATABASE_URL, validation_alias=_env("ASSESS_DATABASE_URL"))
    host: str = Field("127.0.0.1", validation_alias=_env("ASSESS_HOST"))
    port: int = Field(8000, ge=1, le=65535, validation_alias=_env("ASSESS_PORT"))

    admin_email: str = Field("admin@example.com", validation_alias=_env("ASSESS_ADMIN_EMAIL"))
    admin_password: SecretStr = Field(
        SecretStr(DEVELOPMENT_ADMIN_PASSWORD), validation_alias=_env("ASSESS_ADMIN_PASSWORD")
    )

    sessions_per_actor: int = Field(64, ge=1, le=10_000, validation_alias=_env("ASSESS_SESSIONS_PER_ACTOR"))
    generator: Literal["bank", "llm"] = Field("bank", validation_alias=_env("ASSESS_GENERATOR"))
    llm_base_url: str | None = Field(None, validation_alias=_env("ASSESS_LLM_BASE_URL"))
    llm_model: str | None = Field(None, validation_alias=_env("ASSESS_LLM_MODEL"))
    llm_api_key: SecretStr | None = Field(None, validation_alias=_env("ASSESS_LLM_API_KEY"))
    idle_timeout_s: float = Field(120.0, gt=0, validation_alias=_env("ASSESS_IDLE_TIMEOUT_S"))
    session_idle_s: float = Field(900.0, gt=0, validation_alias=_env("ASSESS_SESSION_IDLE_S"))
    sweep_interval_s: float = Field(5.0, gt=0, validation_alias=_env("ASSESS_SWEEP_INTERVAL_S"))
    rate_limit_per_s: float = Field(10.0, gt=0, validation_alias=_env("ASSESS_RATE_LIMIT_PER_S"))
    rate_limit_burst: int = Field(30, ge=1, validation_alias=_env("ASSESS_RATE_LIMIT_BURST"))
    ingress: Literal["auto", "haproxy", "proxy"] = Field("auto", validation_alias=_env("ASSESS_INGRESS"))
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        ("http://127.0.0.1:8000", "http://localhost:8000"), validation_alias=_env("ASSESS_ALLOWED_ORIGINS")
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())
        return value

    @field_validator("database_url")
    @classmethod
    def _async_driver(cls, url: str) -> str:
        """Accept plain `postgresql://` and `sqlite://` URLs and name the async drivers the store uses."""
        for plain, driver in (
            ("postgresql://", "postgresql+psycopg://"),
            ("postgres://", "postgresql+psycopg://"),
            ("sqlite://", "sqlite+aiosqlite://"),
        ):
            if url.startswith(plain):
                return driver + url.removeprefix(plain)
        if not url.startswith(("postgresql+psycopg://", "sqlite+aiosqlite://")):
            raise ValueError("ASSESS_DATABASE_URL must be a sqlite:// or postgresql:// URL")
        return url

    @model_validator(mode="after")
    def _refuse_unsafe_values(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long")
        if self.is_development:
            return self
        if secret == DEVELOPMENT_SECRET_KEY:
            raise ValueError("SECRET_KEY still has its development default; set a random secret")
        admin_password = self.admin_password.get_secret_value()
        if admin_password == DEVELOPMENT_ADMIN_PASSWORD or len(admin_password) < MIN_ADMIN_PASSWORD_LENGTH:
            raise ValueError(f"ASSESS_ADMIN_PASSWORD must be set to at least {MIN_ADMIN_PASSWORD_LENGTH} characters")
        if "*" in self.allowed_origins:
            raise ValueError("ASSESS_ALLOWED_ORIGINS may not contain '*' outside development")
        if self.generator == "llm" and not (self.llm_base_url and self.llm_model):
            raise ValueError("ASSESS_GENERATOR=llm needs ASSESS_LLM_BASE_URL and ASSESS_LLM_MODEL")
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1]
        return None if path in ("", ":memory:") else Path(path)
