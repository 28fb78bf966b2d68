"""The one settings class of the project, read from the environment (names in DESIGN.md section 7)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Literal

from pydantic import AliasChoices, Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

MIN_SECRET_BYTES = 32
MIN_ADMIN_PASSWORD_LENGTH = 12
MIN_METRICS_TOKEN_LENGTH = 16

# Development-only defaults: refused in production so that a forgotten variable fails loudly.
DEVELOPMENT_SECRET_KEY = "development-only-secret-key-change-me-0123456789"
DEVELOPMENT_ADMIN_PASSWORD = "admin-password-change-me"
DEFAULT_DATABASE_URL = "sqlite+aiosqlite:///./var/assess.db"
MODEL_ROUTE_PREFIX = "/llm"  # the Ray Serve LLM application's route, when we serve the model
# Sessions per session host by default (README, "Why ASSESS_SESSIONS_PER_ACTOR defaults to ..."): one host per
# core on PostgreSQL; on SQLite one host for all, since every write queues for the file's one write lock and
# a second writer process only adds waits (bench/soak.py, 5,000 candidates: p99 1,072 ms with two hosts,
# 88 ms with one).
SESSIONS_PER_HOST = 2_500
MAX_SESSIONS_PER_HOST = 10_000


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

    # Unset: chosen by the database (`sessions_per_actor`).
    sessions_per_actor_setting: int | None = Field(
        None, ge=1, le=MAX_SESSIONS_PER_HOST, validation_alias=_env("ASSESS_SESSIONS_PER_ACTOR")
    )
    generator: Literal["bank", "llm"] = Field("bank", validation_alias=_env("ASSESS_GENERATOR"))
    llm_base_url: str | None = Field(None, validation_alias=_env("ASSESS_LLM_BASE_URL"))
    llm_model: str | None = Field(None, validation_alias=_env("ASSESS_LLM_MODEL"))
    llm_api_key: SecretStr | None = Field(None, validation_alias=_env("ASSESS_LLM_API_KEY"))
    llm_timeout_s: float = Field(20.0, gt=0, le=600, validation_alias=_env("ASSESS_LLM_TIMEOUT_S"))
    llm_budget_s: float = Field(15.0, gt=0, le=600, validation_alias=_env("ASSESS_LLM_BUDGET_S"))
    llm_max_tries: int = Field(3, ge=1, le=10, validation_alias=_env("ASSESS_LLM_MAX_TRIES"))
    llm_prefetch: bool = Field(True, validation_alias=_env("ASSESS_LLM_PREFETCH"))
    llm_max_concurrency: int = Field(16, ge=1, le=1024, validation_alias=_env("ASSESS_LLM_MAX_CONCURRENCY"))
    # Serving the model ourselves on Ray Serve LLM (generation/serving.py): a local path or a model id.
    llm_serve_source: str | None = Field(None, validation_alias=_env("ASSESS_LLM_SERVE_SOURCE"))
    llm_serve_accelerator: str | None = Field(None, validation_alias=_env("ASSESS_LLM_SERVE_ACCELERATOR"))
    llm_serve_min_replicas: int = Field(1, ge=0, le=1024, validation_alias=_env("ASSESS_LLM_SERVE_MIN_REPLICAS"))
    llm_serve_max_replicas: int = Field(1, ge=1, le=1024, validation_alias=_env("ASSESS_LLM_SERVE_MAX_REPLICAS"))
    llm_serve_gpus_per_replica: int = Field(1, ge=1, le=64, validation_alias=_env("ASSESS_LLM_SERVE_GPUS_PER_REPLICA"))
    llm_serve_max_model_len: int = Field(
        8192, ge=512, le=1_048_576, validation_alias=_env("ASSESS_LLM_SERVE_MAX_MODEL_LEN")
    )
    llm_serve_max_batch: int = Field(256, ge=1, le=4096, validation_alias=_env("ASSESS_LLM_SERVE_MAX_BATCH"))
    idle_timeout_s: float = Field(120.0, gt=0, validation_alias=_env("ASSESS_IDLE_TIMEOUT_S"))
    session_idle_s: float = Field(900.0, gt=0, validation_alias=_env("ASSESS_SESSION_IDLE_S"))
    sweep_interval_s: float = Field(5.0, gt=0, validation_alias=_env("ASSESS_SWEEP_INTERVAL_S"))
    rate_limit_per_s: float = Field(10.0, gt=0, validation_alias=_env("ASSESS_RATE_LIMIT_PER_S"))
    rate_limit_burst: int = Field(30, ge=1, validation_alias=_env("ASSESS_RATE_LIMIT_BURST"))
    # Failed logins allowed per account and per client address, counted by each replica (the `limits`
    # notation: N per second, minute, hour; serve_app/login_throttle.py).
    login_failures_per_account: str = Field("5/minute", validation_alias=_env("ASSESS_LOGIN_FAILURES_PER_ACCOUNT"))
    login_failures_per_address: str = Field("30/minute", validation_alias=_env("ASSESS_LOGIN_FAILURES_PER_ADDRESS"))
    # A refused login (401, 429) is answered no sooner than this after it arrived (serve_app/login_gate.py).
    login_failure_delay_s: float = Field(1.0, ge=0, le=10, validation_alias=_env("ASSESS_LOGIN_FAILURE_DELAY_S"))
    # Invitation and password reset mail (serve_app/mail.py). Without a host, no mail is sent: staff copy the
    # links the API returns.
    smtp_host: str | None = Field(None, validation_alias=_env("ASSESS_SMTP_HOST"))
    smtp_port: int = Field(587, ge=1, le=65535, validation_alias=_env("ASSESS_SMTP_PORT"))
    smtp_username: str | None = Field(None, validation_alias=_env("ASSESS_SMTP_USERNAME"))
    smtp_password: SecretStr | None = Field(None, validation_alias=_env("ASSESS_SMTP_PASSWORD"))
    smtp_from: str = Field("assess@localhost", validation_alias=_env("ASSESS_SMTP_FROM"))
    smtp_security: Literal["starttls", "tls", "none"] = Field("starttls", validation_alias=_env("ASSESS_SMTP_SECURITY"))
    # Where the links in mail point: the address candidates reach the server at. Unset: the address the
    # request that made the link came to.
    public_url: str | None = Field(None, validation_alias=_env("ASSESS_PUBLIC_URL"))
    invitation_lifetime_hours: float = Field(72.0, gt=0, le=24 * 30, validation_alias=_env("ASSESS_INVITATION_HOURS"))
    reset_lifetime_minutes: float = Field(60.0, gt=0, le=24 * 60, validation_alias=_env("ASSESS_RESET_MINUTES"))
    # Proxies whose X-Forwarded-For names the client (a load balancer in front); by default the peer is the client.
    trusted_proxies: Annotated[tuple[str, ...], NoDecode] = Field((), validation_alias=_env("ASSESS_TRUSTED_PROXIES"))
    ingress: Literal["auto", "haproxy", "proxy"] = Field("auto", validation_alias=_env("ASSESS_INGRESS"))
    # The bearer token a Prometheus scrape presents to /metrics (serve_app/scrape_access.py). Unset: /metrics
    # is served only while the server listens on loopback.
    metrics_token: SecretStr | None = Field(None, validation_alias=_env("ASSESS_METRICS_TOKEN"))
    allowed_origins: Annotated[tuple[str, ...], NoDecode] = Field(
        ("http://127.0.0.1:8000", "http://localhost:8000"), validation_alias=_env("ASSESS_ALLOWED_ORIGINS")
    )

    @field_validator("allowed_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(origin.strip().rstrip("/") for origin in value.split(",") if origin.strip())
        return value

    @field_validator("trusted_proxies", mode="before")
    @classmethod
    def _split_proxies(cls, value: object) -> object:
        if isinstance(value, str):
            return tuple(address.strip() for address in value.split(",") if address.strip())
        return value

    @field_validator("login_failures_per_account", "login_failures_per_address")
    @classmethod
    def _a_rate(cls, value: str) -> str:
        from limits import parse  # here, not at the top: importing `limits` costs every process 0.1 s

        try:
            parse(value)
        except ValueError:
            raise ValueError(f"{value!r} is not a rate such as 5/minute") from None
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
    def _served_model_needs_a_name(self) -> Settings:
        if self.llm_serve_source and not self.llm_model:
            raise ValueError("ASSESS_LLM_SERVE_SOURCE needs ASSESS_LLM_MODEL: the name the served model answers to")
        if self.llm_serve_min_replicas > self.llm_serve_max_replicas:
            raise ValueError("ASSESS_LLM_SERVE_MIN_REPLICAS is above ASSESS_LLM_SERVE_MAX_REPLICAS")
        return self

    @model_validator(mode="after")
    def _refuse_unsafe_values(self) -> Settings:
        secret = self.secret_key.get_secret_value()
        if len(secret.encode()) < MIN_SECRET_BYTES:
            raise ValueError(f"SECRET_KEY must be at least {MIN_SECRET_BYTES} bytes long")
        if self.metrics_token is not None and len(self.metrics_token.get_secret_value()) < MIN_METRICS_TOKEN_LENGTH:
            raise ValueError(f"ASSESS_METRICS_TOKEN must be at least {MIN_METRICS_TOKEN_LENGTH} characters long")
        if self.is_development:
            return self
        if secret == DEVELOPMENT_SECRET_KEY:
            raise ValueError("SECRET_KEY still has its development default; set a random secret")
        admin_password = self.admin_password.get_secret_value()
        if admin_password == DEVELOPMENT_ADMIN_PASSWORD or len(admin_password) < MIN_ADMIN_PASSWORD_LENGTH:
            raise ValueError(f"ASSESS_ADMIN_PASSWORD must be set to at least {MIN_ADMIN_PASSWORD_LENGTH} characters")
        if "*" in self.allowed_origins:
            raise ValueError("ASSESS_ALLOWED_ORIGINS may not contain '*' outside development")
        if self.generator == "llm" and not (self.model_base_url and self.llm_model):
            raise ValueError(
                "ASSESS_GENERATOR=llm needs ASSESS_LLM_MODEL and ASSESS_LLM_BASE_URL (or ASSESS_LLM_SERVE_SOURCE)"
            )
        return self

    @property
    def is_development(self) -> bool:
        return self.environment == "development"

    @property
    def listens_on_loopback_only(self) -> bool:
        if self.host == "localhost":
            return True
        try:
            return ipaddress.ip_address(self.host).is_loopback
        except ValueError:  # a host name: it may resolve anywhere
            return False

    @property
    def sessions_per_actor(self) -> int:
        """`ASSESS_SESSIONS_PER_ACTOR`, or by default every session on one host on SQLite and one host per
        `SESSIONS_PER_HOST` sessions on PostgreSQL."""
        if self.sessions_per_actor_setting is not None:
            return self.sessions_per_actor_setting
        return MAX_SESSIONS_PER_HOST if self.database_url.startswith("sqlite") else SESSIONS_PER_HOST

    @property
    def model_base_url(self) -> str | None:
        """Where the model answers: ASSESS_LLM_BASE_URL, else our own Ray Serve LLM route when we serve it
        (every node runs a Serve proxy, so loopback reaches it from any host)."""
        if self.llm_base_url or not self.llm_serve_source:
            return self.llm_base_url
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::") else self.host
        return f"http://{host}:{self.port}{MODEL_ROUTE_PREFIX}/v1"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def sqlite_path(self) -> Path | None:
        if not self.is_sqlite:
            return None
        path = self.database_url.split(":///", 1)[1]
        return None if path in ("", ":memory:") else Path(path)
