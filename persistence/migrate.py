"""Apply the Alembic migrations programmatically (the CLI's `db upgrade`, `make run`, the tests)."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS_DIR = Path(__file__).with_name("migrations")


def alembic_config(database_url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    return config


def _in_worker_thread(function, *args: object) -> None:  # type: ignore[no-untyped-def]
    # env.py drives its own event loop with asyncio.run; keep it off any loop already running here.
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        function(*args)
        return
    import threading

    errors: list[BaseException] = []

    def run() -> None:
        try:
            function(*args)
        except BaseException as error:
            errors.append(error)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if errors:
        raise errors[0]


def upgrade(database_url: str, revision: str = "head") -> None:
    """Apply the migrations."""
    _in_worker_thread(command.upgrade, alembic_config(database_url), revision)


def downgrade(database_url: str, revision: str = "base") -> None:
    _in_worker_thread(command.downgrade, alembic_config(database_url), revision)


def current_revision(database_url: str) -> str | None:
    from alembic.runtime.migration import MigrationContext
    from sqlalchemy import create_engine as create_sync_engine

    sync_url = database_url.replace("+aiosqlite", "")
    engine = create_sync_engine(sync_url)
    try:
        with engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()
    finally:
        engine.dispose()
