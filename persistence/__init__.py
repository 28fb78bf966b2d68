"""The store: SQLAlchemy 2.x async models, engine set-up, Alembic migrations and data access."""
