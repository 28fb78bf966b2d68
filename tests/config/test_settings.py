import pytest
from pydantic import ValidationError

from config.settings import DEVELOPMENT_ADMIN_PASSWORD, DEVELOPMENT_SECRET_KEY, Settings

STRONG_SECRET = "a-production-secret-that-is-long-enough-0123456789"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    for name in (
        "SECRET_KEY",
        "JWT_ALGORITHM",
        "ACCESS_TOKEN_EXPIRE_MINUTES",
        "ASSESS_ENVIRONMENT",
        "ASSESS_DATABASE_URL",
        "ASSESS_ADMIN_PASSWORD",
        "ASSESS_ALLOWED_ORIGINS",
        "ASSESS_GENERATOR",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)  # no stray .env file


def test_development_defaults_are_accepted() -> None:
    settings = Settings()
    assert settings.is_development
    assert settings.database_url == "sqlite+aiosqlite:///./var/assess.db"
    assert (settings.host, settings.port, settings.jwt_algorithm) == ("127.0.0.1", 8000, "HS256")
    assert settings.generator == "bank"


def test_environment_names_of_the_design(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("JWT_ALGORITHM", "HS512")
    monkeypatch.setenv("ACCESS_TOKEN_EXPIRE_MINUTES", "15")
    monkeypatch.setenv("ASSESS_DATABASE_URL", "postgresql://postgres@127.0.0.1:5432/test")
    monkeypatch.setenv("ASSESS_HOST", "0.0.0.0")
    monkeypatch.setenv("ASSESS_PORT", "9000")
    monkeypatch.setenv("ASSESS_SESSIONS_PER_ACTOR", "1")
    monkeypatch.setenv("ASSESS_ALLOWED_ORIGINS", "https://a.example, https://b.example/")
    settings = Settings()
    assert settings.secret_key.get_secret_value() == STRONG_SECRET
    assert settings.jwt_algorithm == "HS512"
    assert settings.access_token_expire_minutes == 15
    assert settings.database_url == "postgresql+psycopg://postgres@127.0.0.1:5432/test"
    assert (settings.host, settings.port, settings.sessions_per_actor) == ("0.0.0.0", 9000, 1)
    assert settings.allowed_origins == ("https://a.example", "https://b.example")


@pytest.mark.parametrize(
    ("environment", "message"),
    [
        ({}, "development default"),
        ({"SECRET_KEY": "short"}, "at least 32 bytes"),
        ({"SECRET_KEY": STRONG_SECRET}, "ASSESS_ADMIN_PASSWORD"),
        (
            {"SECRET_KEY": STRONG_SECRET, "ASSESS_ADMIN_PASSWORD": DEVELOPMENT_ADMIN_PASSWORD},
            "ASSESS_ADMIN_PASSWORD",
        ),
        ({"SECRET_KEY": STRONG_SECRET, "ASSESS_ADMIN_PASSWORD": "short"}, "ASSESS_ADMIN_PASSWORD"),
        (
            {
                "SECRET_KEY": STRONG_SECRET,
                "ASSESS_ADMIN_PASSWORD": "a-long-admin-password",
                "ASSESS_ALLOWED_ORIGINS": "*",
            },
            "'*'",
        ),
        (
            {
                "SECRET_KEY": STRONG_SECRET,
                "ASSESS_ADMIN_PASSWORD": "a-long-admin-password",
                "ASSESS_GENERATOR": "llm",
            },
            "ASSESS_LLM_BASE_URL",
        ),
    ],
)
def test_production_refuses_unsafe_values(
    monkeypatch: pytest.MonkeyPatch, environment: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("ASSESS_ENVIRONMENT", "production")
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(ValidationError, match=message):
        Settings()


def test_production_accepts_safe_values(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ASSESS_ENVIRONMENT", "production")
    monkeypatch.setenv("SECRET_KEY", STRONG_SECRET)
    monkeypatch.setenv("ASSESS_ADMIN_PASSWORD", "a-long-admin-password")
    assert not Settings().is_development


def test_a_short_secret_is_refused_even_in_development(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SECRET_KEY", "x" * 31)
    with pytest.raises(ValidationError, match="32 bytes"):
        Settings()
    assert len(DEVELOPMENT_SECRET_KEY) >= 32


@pytest.mark.parametrize("url", ["mysql://root@localhost/test", "http://example.com"])
def test_unsupported_database_urls_are_refused(monkeypatch: pytest.MonkeyPatch, url: str) -> None:
    monkeypatch.setenv("ASSESS_DATABASE_URL", url)
    with pytest.raises(ValidationError, match="sqlite:// or postgresql://"):
        Settings()


def test_sessions_per_host_default_follows_the_database(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ASSESS_SESSIONS_PER_ACTOR", raising=False)
    on_sqlite = Settings(ASSESS_DATABASE_URL="sqlite:///./var/x.db")  # type: ignore[call-arg]
    on_postgresql = Settings(ASSESS_DATABASE_URL="postgresql://postgres@127.0.0.1:5432/test")  # type: ignore[call-arg]
    assert (on_sqlite.sessions_per_actor, on_postgresql.sessions_per_actor) == (10_000, 2_500)
    chosen = Settings(ASSESS_DATABASE_URL="sqlite:///./var/x.db", ASSESS_SESSIONS_PER_ACTOR=1)  # type: ignore[call-arg]
    assert chosen.sessions_per_actor == 1
    with pytest.raises(ValidationError):
        Settings(ASSESS_SESSIONS_PER_ACTOR=10_001)  # type: ignore[call-arg]
