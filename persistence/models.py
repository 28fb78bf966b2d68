"""The relational schema. Alembic migrations in `persistence/migrations` create it; never `create_all`."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

from domain.enums import (
    ApplicationStatus,
    AttemptStatus,
    AuditAction,
    FeedbackPolicy,
    FinishReason,
    GeneratorKind,
    ParameterSetStatus,
    PasswordLinkPurpose,
    Role,
    TestStatus,
)

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite stores naive text)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _enum(enum_class: type, name: str) -> Enum:
    # Stored as plain strings with a CHECK constraint: portable and easy to extend by migration.
    return Enum(
        enum_class,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=32,
        values_callable=lambda members: [member.value for member in members],
    )


def unique_where(name: str, column: str, condition: str) -> Index:
    """A partial unique index: `column` unique among the rows meeting `condition` (both backends)."""
    return Index(name, column, unique=True, sqlite_where=text(condition), postgresql_where=text(condition))


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


DEFAULT_ORGANIZATION_ID = 1  # made by the migration: everything of a deployment that never creates another


class Organization(Base):
    """A hiring team: its staff see and change only its own users, tests, parameter sets and audit log."""

    __tablename__ = "organizations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


def _organization() -> Mapped[int]:
    # The default organization unless given: what the command line, the demo and simulations create lives
    # there; every REST route names its organization.
    return mapped_column(
        ForeignKey("organizations.id", ondelete="RESTRICT"), index=True, default=DEFAULT_ORGANIZATION_ID
    )


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = _organization()
    # The bootstrapped admin (ASSESS_ADMIN_EMAIL): also creates organizations and their first users.
    is_operator: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    email: Mapped[str] = mapped_column(String(320), unique=True)
    full_name: Mapped[str] = mapped_column(String(200))
    role: Mapped[Role] = mapped_column(_enum(Role, "role"))
    password_hash: Mapped[str] = mapped_column(String(255))
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, server_default=text("true"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Written into every token issued to the user; raised to revoke them all (serve_app/tokens.py).
    token_generation: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class PasswordLink(Base):
    """A single-use, expiring link to set a password: an invitation for a new account, or a reset. Only the
    SHA-256 of its token is kept; the token itself exists in the mail (or on the staff's screen) alone."""

    __tablename__ = "password_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    purpose: Mapped[PasswordLinkPurpose] = mapped_column(_enum(PasswordLinkPurpose, "password_link_purpose"))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Set when the link is used, or when a newer link for the same user replaces it.
    spent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class Test(Base):
    __tablename__ = "tests"
    __test__ = False  # not a pytest class
    __table_args__ = (
        CheckConstraint("min_questions >= 1 AND min_questions <= max_questions", name="question_bounds"),
        CheckConstraint("duration_minutes >= 1", name="positive_duration"),
        CheckConstraint("max_attempts >= 1", name="positive_attempts"),
        CheckConstraint("passing_score >= 0 AND passing_score <= 100", name="passing_score_percent"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = _organization()
    title: Mapped[str] = mapped_column(String(200))
    job_description: Mapped[str] = mapped_column(Text)
    # The skill graph: [{"name", "weight", "prerequisites": [names]}], validated at the REST edge.
    skills: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    max_questions: Mapped[int] = mapped_column(Integer)
    min_questions: Mapped[int] = mapped_column(Integer)
    se_target: Mapped[float | None] = mapped_column(Float)
    duration_minutes: Mapped[int] = mapped_column(Integer)
    starts_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_attempts: Mapped[int] = mapped_column(Integer)
    status: Mapped[TestStatus] = mapped_column(_enum(TestStatus, "test_status"), default=TestStatus.DRAFT)
    generator: Mapped[GeneratorKind] = mapped_column(_enum(GeneratorKind, "generator_kind"))
    passing_score: Mapped[float] = mapped_column(Float)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The pass mark on the ability scale; None: derived from `passing_score` through the pool's test
    # characteristic curve (adaptive.decision).
    theta_cut: Mapped[float | None] = mapped_column(Float)
    # Stop once the confidence interval around theta clears the cut (after min_questions).
    classification_stop: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))
    # Unscored items for online calibration, at random positions, on top of max_questions.
    pretest_items: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Exposure control computed by simulation (adaptive.exposure): {"r_max", "randomesque", "k": {entry: k},
    # "candidates", "computed_at"}; None: maximum information without exposure control.
    exposure: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # What candidates learn of each answer (domain.feedback).
    feedback: Mapped[FeedbackPolicy] = mapped_column(
        _enum(FeedbackPolicy, "feedback_policy"), default=FeedbackPolicy.FULL, server_default=FeedbackPolicy.FULL.value
    )


class CandidateApplication(Base):
    """A candidate's eligibility for one test, with any extra time granted to them."""

    __tablename__ = "candidate_applications"
    __table_args__ = (
        UniqueConstraint("test_id", "user_id"),
        CheckConstraint("extra_time_minutes >= 0", name="non_negative_extra_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("tests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    extra_time_minutes: Mapped[int] = mapped_column(Integer, default=0)
    status: Mapped[ApplicationStatus] = mapped_column(
        _enum(ApplicationStatus, "application_status"), default=ApplicationStatus.INVITED
    )
    invited_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user: Mapped[User] = relationship(lazy="raise")


class Attempt(Base):
    __tablename__ = "attempts"
    __table_args__ = (
        UniqueConstraint("application_id", "number"),
        # At most one attempt in progress per candidate and test, even when two sockets race to start.
        unique_where("uq_attempts_one_in_progress", "application_id", "status = 'in_progress'"),
        CheckConstraint("number >= 1", name="positive_number"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    application_id: Mapped[int] = mapped_column(ForeignKey("candidate_applications.id", ondelete="CASCADE"), index=True)
    test_id: Mapped[int] = mapped_column(ForeignKey("tests.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[AttemptStatus] = mapped_column(
        _enum(AttemptStatus, "attempt_status"), default=AttemptStatus.IN_PROGRESS, index=True
    )
    started_at: Mapped[datetime] = mapped_column(UTCDateTime)
    deadline: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finish_reason: Mapped[FinishReason | None] = mapped_column(_enum(FinishReason, "finish_reason"))
    max_questions: Mapped[int] = mapped_column(Integer)
    score: Mapped[int] = mapped_column(Integer, default=0)
    max_score: Mapped[int] = mapped_column(Integer, default=0)
    ability_theta: Mapped[float | None] = mapped_column(Float)
    ability_se: Mapped[float | None] = mapped_column(Float)
    # Progress, written with each response in one transaction (persistence.progress): the answers counted
    # (the guard of that write), and the question waiting for an answer, exactly as shown.
    answered: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    pending_question: Mapped[dict[str, Any] | None] = mapped_column(JSON(none_as_null=True))
    # The item parameters the attempt is scored with: the active set when it started (None: the starting
    # parameters). A session rebuilt later reads the same set.
    parameter_set_id: Mapped[int | None] = mapped_column(ForeignKey("parameter_sets.id", ondelete="RESTRICT"))

    responses: Mapped[list[Response]] = relationship(
        lazy="raise", order_by="Response.index", cascade="all, delete-orphan"
    )


class Response(Base):
    """One answered question of an attempt: the item exactly as shown, the key, and the answer."""

    __tablename__ = "responses"
    __table_args__ = (UniqueConstraint("attempt_id", "question_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    question_id: Mapped[str] = mapped_column(String(160))
    item_id: Mapped[str] = mapped_column(String(160), index=True)
    index: Mapped[int] = mapped_column(Integer)
    skill: Mapped[str] = mapped_column(String(64))
    # {"stem", "options": [{"id", "text"}], "explanation", "difficulty", "family", "tags"}
    item_snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    correct_option: Mapped[str] = mapped_column(String(8))
    selected_option: Mapped[str] = mapped_column(String(8))
    is_correct: Mapped[bool] = mapped_column(Boolean)
    presented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    time_taken_s: Mapped[float] = mapped_column(Float)
    theta_before: Mapped[float | None] = mapped_column(Float)
    theta_after: Mapped[float | None] = mapped_column(Float)
    se_after: Mapped[float | None] = mapped_column(Float)
    pool_entry: Mapped[int | None] = mapped_column(Integer)  # where in the test's item pool it came from
    parameter_set_id: Mapped[int | None] = mapped_column(ForeignKey("parameter_sets.id", ondelete="RESTRICT"))
    pretest: Mapped[bool] = mapped_column(Boolean, default=False, server_default=text("false"))  # unscored

    @property
    def stem(self) -> str:
        return str(self.item_snapshot["stem"])

    @property
    def options(self) -> list[dict[str, str]]:
        return list(self.item_snapshot["options"])

    @property
    def explanation(self) -> str:
        return str(self.item_snapshot.get("explanation", ""))


class Item(Base):
    """The item catalogue: shipped bank items, and later generated items with their provenance."""

    __tablename__ = "items"

    id: Mapped[str] = mapped_column(String(160), primary_key=True)
    skill: Mapped[str] = mapped_column(String(64), index=True)
    difficulty: Mapped[int] = mapped_column(Integer)
    source: Mapped[str] = mapped_column(String(16))  # bank | family | llm
    family: Mapped[str | None] = mapped_column(String(64))
    stem: Mapped[str] = mapped_column(Text)
    options: Mapped[list[dict[str, str]]] = mapped_column(JSON)
    key: Mapped[str] = mapped_column(String(8))
    explanation: Mapped[str] = mapped_column(Text)
    tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    irt_a: Mapped[float | None] = mapped_column(Float)
    irt_b: Mapped[float | None] = mapped_column(Float)
    irt_c: Mapped[float | None] = mapped_column(Float)
    provenance: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ParameterSet(Base):
    """A calibration's item parameters, kept as one version: who made it, when, from which responses, how
    well it fits, and whether staff activated it. Never changed once made, except its status."""

    __tablename__ = "parameter_sets"
    __table_args__ = (
        # At most one active set per organization: its live pool and the simulator read it.
        unique_where("uq_parameter_sets_one_active", "organization_id", "status = 'active'"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int] = _organization()
    model: Mapped[str] = mapped_column(String(8))  # 1pl | 2pl | 3pl
    status: Mapped[ParameterSetStatus] = mapped_column(
        _enum(ParameterSetStatus, "parameter_set_status"), default=ParameterSetStatus.DRAFT
    )
    # {"tests": [ids] or "file": name, "responses", "persons", "first_answer", "last_answer"}
    source: Mapped[dict[str, Any]] = mapped_column(JSON)
    # {"cycles", "converged", "log_likelihood", "ability_mean", "ability_sd", "misfit_items"}
    fit: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(Text, default="")
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    activated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    activated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    items: Mapped[list[CalibratedItem]] = relationship(
        lazy="raise", order_by="CalibratedItem.item_id", cascade="all, delete-orphan"
    )


class CalibratedItem(Base):
    """One item's (or one family's) estimates in a parameter set."""

    __tablename__ = "item_parameters"

    parameter_set_id: Mapped[int] = mapped_column(ForeignKey("parameter_sets.id", ondelete="CASCADE"), primary_key=True)
    item_id: Mapped[str] = mapped_column(String(160), primary_key=True)  # a bank or generated item, or a family
    a: Mapped[float] = mapped_column(Float)
    b: Mapped[float] = mapped_column(Float)
    c: Mapped[float] = mapped_column(Float)
    se_a: Mapped[float | None] = mapped_column(Float)
    se_b: Mapped[float | None] = mapped_column(Float)
    se_c: Mapped[float | None] = mapped_column(Float)
    n: Mapped[int] = mapped_column(Integer)
    rmsd: Mapped[float | None] = mapped_column(Float)
    anchored: Mapped[bool] = mapped_column(Boolean, default=False)


class AuditEvent(Base):
    """One staff action: who (kept by id and email, so the record outlives any change to the account),
    when (the server's time), what, on which record, and from which client address. Append-only: the
    migration installs triggers that refuse every UPDATE and DELETE, on both backends."""

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    organization_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the organization acted on
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(Integer, index=True)  # None: the operator, from the CLI
    actor_email: Mapped[str] = mapped_column(String(320))
    action: Mapped[AuditAction] = mapped_column(_enum(AuditAction, "audit_action"), index=True)
    target_type: Mapped[str] = mapped_column(String(32))  # test | user | parameter_set
    target_id: Mapped[int] = mapped_column(Integer)
    details: Mapped[dict[str, Any]] = mapped_column(JSON)
    client_address: Mapped[str] = mapped_column(String(64))


class IntegrityEvent(Base):
    """A signal the candidate's client reported during an attempt (focus lost, page hidden, paste,
    fullscreen left), at the server's time, against the question on screen. For staff only; never scored."""

    __tablename__ = "integrity_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(ForeignKey("attempts.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(32))  # wire.protocol.INTEGRITY_KINDS
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    client_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # the client's own clock, as it said
    question_index: Mapped[int] = mapped_column(Integer)  # the question on screen (1 = the first)
    detail: Mapped[str | None] = mapped_column(String(200))
