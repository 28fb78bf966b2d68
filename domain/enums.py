"""The named states of the domain. Stored as their string values."""

from enum import StrEnum


class Role(StrEnum):
    ADMIN = "admin"
    RECRUITER = "recruiter"
    CANDIDATE = "candidate"


class TestStatus(StrEnum):
    __test__ = False  # not a pytest class

    DRAFT = "draft"
    PUBLISHED = "published"
    CLOSED = "closed"


class GeneratorKind(StrEnum):
    BANK = "bank"
    LLM = "llm"


class ApplicationStatus(StrEnum):
    INVITED = "invited"
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    EXPIRED = "expired"


class AttemptStatus(StrEnum):
    IN_PROGRESS = "in_progress"
    COMPLETED = "completed"
    EXPIRED = "expired"
    ABANDONED = "abandoned"


class ParameterSetStatus(StrEnum):
    """A calibrated parameter set waits as a draft for review; one at a time is active; an active set that
    another replaces is retired (kept: responses scored with it name it)."""

    DRAFT = "draft"
    ACTIVE = "active"
    RETIRED = "retired"


class Decision(StrEnum):
    PASS = "pass"
    FAIL = "fail"


class FeedbackPolicy(StrEnum):
    """What a candidate learns of each answer (domain.feedback): the key and explanation, only whether it
    was right, or only that it was stored."""

    FULL = "full"
    CORRECTNESS = "correctness"
    NONE = "none"


class AuditAction(StrEnum):
    """The staff actions written to the audit log (persistence/audit.py), as `subject.verb`."""

    TEST_CREATED = "test.created"
    TEST_UPDATED = "test.updated"  # its definition: any field but the status
    TEST_PUBLISHED = "test.published"
    TEST_CLOSED = "test.closed"
    CANDIDATES_INVITED = "candidates.invited"
    EXTRA_TIME_GRANTED = "candidates.extra_time_granted"  # a new extra time for candidates already invited
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"  # name, role or password (never its value)
    USER_DISABLED = "user.disabled"
    USER_ENABLED = "user.enabled"
    PARAMETER_SET_CREATED = "parameter_set.created"
    PARAMETER_SET_ACTIVATED = "parameter_set.activated"
    ORGANIZATION_CREATED = "organization.created"


class PasswordLinkPurpose(StrEnum):
    INVITATION = "invitation"  # a new account's first password
    RESET = "reset"


class FinishReason(StrEnum):
    COMPLETED = "completed"
    PRECISION_REACHED = "precision_reached"
    TIME_EXPIRED = "time_expired"
    ABANDONED = "abandoned"


# Which test transitions a recruiter may make: a draft is published or dropped, a published test closes.
TEST_TRANSITIONS: dict[TestStatus, frozenset[TestStatus]] = {
    TestStatus.DRAFT: frozenset({TestStatus.PUBLISHED, TestStatus.CLOSED}),
    TestStatus.PUBLISHED: frozenset({TestStatus.CLOSED}),
    TestStatus.CLOSED: frozenset(),
}
