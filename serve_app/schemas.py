"""REST request and response bodies (DESIGN.md section 5). Request bodies forbid unknown fields."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, EmailStr, Field, StringConstraints, model_validator

from domain.enums import (
    ApplicationStatus,
    AttemptStatus,
    AuditAction,
    Decision,
    FeedbackPolicy,
    FinishReason,
    GeneratorKind,
    ParameterSetStatus,
    PasswordLinkPurpose,
    Role,
    TestStatus,
)
from domain.errors import InvalidRequest
from domain.skill_graph import SkillNode, check_skill_graph
from domain.text_rules import refuse_nul

Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]
SkillName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64)]
Password = Annotated[str, StringConstraints(min_length=8, max_length=128)]
MAX_RECORD_ID = 2**31 - 1  # ids are 32-bit integer keys; larger numbers name nothing
RecordId = Annotated[int, Field(ge=1, le=MAX_RECORD_ID)]


class RequestBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    @model_validator(mode="before")
    @classmethod
    def _refuse_nul(cls, data: Any) -> Any:
        return refuse_nul(data)


class ReadModel(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int


class UserCreate(RequestBody):
    email: EmailStr
    password: Password
    full_name: Name
    role: Role
    organization_id: RecordId | None = None  # the operator's choice only; everyone else creates in their own


class OrganizationCreate(RequestBody):
    name: Name


class OrganizationRead(ReadModel):
    id: int
    name: str


class UserUpdate(RequestBody):
    full_name: Name | None = None
    password: Password | None = None
    role: Role | None = None
    is_active: bool | None = None

    @model_validator(mode="after")
    def _names_a_change(self) -> UserUpdate:
        if not self.model_fields_set:
            raise ValueError("the body names no field to change")
        nulled = sorted(name for name in self.model_fields_set if getattr(self, name) is None)
        if nulled:
            raise ValueError(f"these fields cannot be null: {', '.join(nulled)}")
        return self


class AuditEventRead(ReadModel):
    id: int
    organization_id: int | None
    at: datetime
    actor_id: int | None  # null: the operator, at the command line
    actor_email: str
    action: AuditAction
    target_type: str
    target_id: int
    details: dict[str, Any]
    client_address: str


class UserRead(ReadModel):
    id: int
    email: str
    full_name: str
    role: Role
    is_active: bool
    created_at: datetime
    organization_id: int


class SkillSpec(RequestBody):
    name: SkillName
    weight: Annotated[float, Field(gt=0, le=100)] = 1.0
    prerequisites: Annotated[list[SkillName], Field(max_length=50)] = []


def _check_graph(skills: list[SkillSpec]) -> None:
    try:
        check_skill_graph([SkillNode(s.name, s.weight, tuple(s.prerequisites)) for s in skills])
    except InvalidRequest as error:
        raise ValueError(error.message) from None


# The standard error at which a test may stop early; 0 or null means no precision stop (fixed length).
SETarget = Annotated[float, Field(ge=0, le=2)]
# The pass mark on the ability scale; null: from passing_score through the pool's test characteristic curve.
ThetaCut = Annotated[float, Field(ge=-4, le=4, allow_inf_nan=False)]
PretestItems = Annotated[int, Field(ge=0, le=20)]


class TestFields(RequestBody):
    """Fields a test is defined by; on create the content fields are required, on update all optional."""

    __test__ = False

    max_questions: Annotated[int, Field(ge=1, le=200)] = 20
    min_questions: Annotated[int, Field(ge=1, le=200)] = 10
    se_target: SETarget | None = 0.3
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)] = 30
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    max_attempts: Annotated[int, Field(ge=1, le=20)] = 1
    generator: GeneratorKind = GeneratorKind.BANK
    passing_score: Annotated[float, Field(ge=0, le=100)] = 60.0
    theta_cut: ThetaCut | None = None
    classification_stop: bool = False
    pretest_items: PretestItems = 0  # unscored items at random positions, on top of max_questions
    feedback: FeedbackPolicy = FeedbackPolicy.FULL  # what candidates learn of each answer (domain.feedback)


class TestCreate(TestFields):
    __test__ = False

    title: Name
    job_description: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)]
    skills: Annotated[list[SkillSpec], Field(min_length=1, max_length=50)]

    @model_validator(mode="after")
    def _consistent(self) -> TestCreate:
        if self.min_questions > self.max_questions:
            raise ValueError("min_questions may not exceed max_questions")
        if self.starts_at and self.ends_at and self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be later than starts_at")
        _check_graph(self.skills)
        return self


NULLABLE_TEST_FIELDS = frozenset({"se_target", "starts_at", "ends_at", "theta_cut"})


class TestUpdate(RequestBody):
    """PATCH body: any subset of the fields, and/or a status transition (publish or close)."""

    __test__ = False

    status: TestStatus | None = None
    title: Name | None = None
    job_description: (
        Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=20_000)] | None
    ) = None
    skills: Annotated[list[SkillSpec], Field(min_length=1, max_length=50)] | None = None
    max_questions: Annotated[int, Field(ge=1, le=200)] | None = None
    min_questions: Annotated[int, Field(ge=1, le=200)] | None = None
    se_target: SETarget | None = None
    duration_minutes: Annotated[int, Field(ge=1, le=24 * 60)] | None = None
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    max_attempts: Annotated[int, Field(ge=1, le=20)] | None = None
    generator: GeneratorKind | None = None
    passing_score: Annotated[float, Field(ge=0, le=100)] | None = None
    theta_cut: ThetaCut | None = None
    classification_stop: bool | None = None
    pretest_items: PretestItems | None = None
    feedback: FeedbackPolicy | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> TestUpdate:
        if not self.model_fields_set:
            raise ValueError("the body names no field to change")
        nulled = sorted(name for name in self.model_fields_set - NULLABLE_TEST_FIELDS if getattr(self, name) is None)
        if nulled:
            raise ValueError(f"these fields cannot be null: {', '.join(nulled)}")
        if self.skills is not None:
            _check_graph(self.skills)
        return self


class SkillRead(BaseModel):
    name: str
    weight: float
    prerequisites: list[str]


class ExposureRead(BaseModel):
    """The exposure control computed for a test by simulation (`assess simulate --exposure-target`)."""

    target: float
    first_randomesque: int
    k: dict[str, float]
    candidates: int | None = None
    rounds: int | None = None
    max_rate: float | None = None
    computed_at: datetime | None = None


class TestRead(ReadModel):
    __test__ = False

    id: int
    title: str
    job_description: str
    skills: list[SkillRead]
    max_questions: int
    min_questions: int
    se_target: float | None
    duration_minutes: int
    starts_at: datetime | None
    ends_at: datetime | None
    max_attempts: int
    generator: GeneratorKind
    passing_score: float
    theta_cut: float | None
    classification_stop: bool
    pretest_items: int
    feedback: FeedbackPolicy
    exposure: ExposureRead | None
    status: TestStatus
    created_at: datetime
    updated_at: datetime
    published_at: datetime | None
    closed_at: datetime | None
    blueprint: dict[str, int]


class CatalogSkill(BaseModel):
    name: str
    title: str
    items: int
    families: int


class CandidatesAdd(RequestBody):
    user_ids: Annotated[list[RecordId], Field(min_length=1, max_length=1000)]
    extra_time_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 0


class ApplicationRead(ReadModel):
    id: int
    test_id: int
    user_id: int
    email: str
    full_name: str
    extra_time_minutes: int
    status: ApplicationStatus
    invited_at: datetime


class Ability(BaseModel):
    theta: float
    se: float | None


class AttemptSummary(BaseModel):
    attempt_id: int
    test_id: int
    user_id: int
    email: str
    full_name: str
    number: int
    status: AttemptStatus
    started_at: datetime
    deadline: datetime
    finished_at: datetime | None
    finish_reason: FinishReason | None
    answered: int
    score: int | None  # null to its candidate while in progress under the feedback policy `none`
    max_score: int
    percentage: float | None
    passed: bool | None  # the decision on ability (theta against the cut), once finished
    ability: Ability | None
    decision: Decision | None = None
    theta_cut: float | None = None  # the pass mark on theta, under the attempt's parameter set
    scaled_score: int | None = None  # 500 + 100 theta
    parameter_set_id: int | None = None  # the item parameters it was scored with (null: starting ones)
    # What this view shows of each answer: `full` to staff; to the candidate, the test's feedback policy
    # (null where hidden: the key, explanation and item id, and under `none` whether each answer was right).
    feedback: FeedbackPolicy = FeedbackPolicy.FULL


class OptionRead(BaseModel):
    id: str
    text: str


class ResponseRead(ReadModel):
    question_id: str
    item_id: str | None
    index: int
    skill: str
    stem: str
    options: list[OptionRead]
    explanation: str | None
    correct_option: str | None
    selected_option: str
    is_correct: bool | None
    presented_at: datetime
    answered_at: datetime
    time_taken_s: float
    pretest: bool | None = False  # an unscored pretest item (for calibration); null to the candidate


class IntegrityEventRead(ReadModel):
    kind: str
    at: datetime  # the server's time
    client_at: datetime | None  # the client's clock, as it reported
    question_index: int  # the question on screen (1 = the first)
    detail: str | None


class FastAnswer(BaseModel):
    question_index: int
    time_taken_s: float
    item_median_s: float  # over the item's most recent responses, every candidate's


class IntegrityReport(BaseModel):
    """For staff: what the candidate's client reported during the attempt, and the answers far faster than
    their items' medians. Never part of the score."""

    events: list[IntegrityEventRead]
    counts: dict[str, int]  # events by kind
    fast_answers: list[FastAnswer]


class AttemptReport(AttemptSummary):
    test_title: str
    responses: list[ResponseRead]
    integrity: IntegrityReport | None = None  # staff only: null to the candidate


class ReportResponse(ResponseRead):
    theta_after: float | None
    se_after: float | None


class SkillResult(BaseModel):
    skill: str
    answered: int
    correct: int
    percentage: float | None
    theta: float | None = None  # the ability estimated from this skill's answers alone
    se: float | None = None


class TimeSummary(BaseModel):
    total_s: float
    mean_s: float | None
    per_question_s: list[float]


class CandidateReport(AttemptSummary):
    """GET /api/attempts/{id}/report: the summary, per-skill results, times and every response."""

    test_title: str
    passing_score: float
    skills: list[SkillResult]
    time: TimeSummary
    responses: list[ReportResponse]
    integrity: IntegrityReport | None = None  # staff only: null to the candidate


class OptionAnalysis(BaseModel):
    option: str
    text: str
    count: int
    proportion: float
    is_key: bool
    mean_percentage: float | None
    attempt_ids: list[int]
    user_ids: list[int]


class ScoreBin(BaseModel):
    low: int
    high: int
    count: int


class ItemStatistics(BaseModel):
    item_id: str
    skill: str
    stem: str
    shown: int
    correct: int
    facility: float
    option_counts: dict[str, int]
    attempts_seen: int
    exposure: float  # share of the test's attempts that saw the item
    exposure_k: float | None = None  # its Sympson-Hetter parameter under the test's exposure control
    over_exposure_target: bool | None = None  # seen by more than the target share (null without a target)
    point_biserial: float | None
    upper_facility: float | None
    lower_facility: float | None
    discrimination_index: float | None
    distractors: list[OptionAnalysis]


class ItemAnalysis(BaseModel):
    test_id: int
    attempts: int
    responses: int
    finished_attempts: int
    mean_percentage: float | None
    sd_percentage: float | None
    kr20: float | None
    kr20_items: float | None
    marginal_reliability: float | None
    upper_lower_group_size: int
    score_distribution: list[ScoreBin]
    items: list[ItemStatistics]
    exposure_target: float | None = None  # r_max of the test's exposure control, if it has one


class Health(BaseModel):
    status: str
    database: str


class ParameterSetCreate(RequestBody):
    """POST /api/parameter-sets: calibrate the stored responses of these tests into a new draft set."""

    test_ids: Annotated[list[RecordId], Field(min_length=1, max_length=100)]
    model: Literal["1pl", "2pl", "3pl"] = "2pl"
    anchored_to_active: bool = False  # keep the active set's items fixed; estimate the rest on its scale
    note: Annotated[str, StringConstraints(max_length=2000)] = ""


class ParameterSetRead(ReadModel):
    id: int
    model: str
    status: ParameterSetStatus
    source: dict[str, Any]
    fit: dict[str, Any]
    note: str
    items: int
    created_by_id: int | None
    created_at: datetime
    activated_by_id: int | None
    activated_at: datetime | None


class CalibratedItemRead(ReadModel):
    item_id: str
    a: float
    b: float
    c: float
    se_a: float | None
    se_b: float | None
    se_c: float | None
    n: int
    rmsd: float | None
    anchored: bool


class ParameterSetDetail(ParameterSetRead):
    """One set with every item's estimates, for review before activation."""

    parameters: list[CalibratedItemRead]


class InvitedPerson(RequestBody):
    email: EmailStr
    full_name: Name


class InvitationsCreate(RequestBody):
    """People to invite by email: those without an account get one (a candidate's, in the test's
    organization) and a link to set its password."""

    candidates: Annotated[list[InvitedPerson], Field(min_length=1, max_length=1000)]
    extra_time_minutes: Annotated[int, Field(ge=0, le=24 * 60)] = 0

    @model_validator(mode="after")
    def _each_once(self) -> InvitationsCreate:
        counts = Counter(str(person.email).lower() for person in self.candidates)
        twice = sorted(email for email, count in counts.items() if count > 1)
        if twice:
            raise ValueError(f"emails listed more than once: {', '.join(twice)}")
        return self


class InvitationRead(BaseModel):
    user_id: int
    email: str
    full_name: str
    new_account: bool
    # The link that sets the account's first password (shown here once); null for an account that has one.
    link: str | None
    link_expires_at: datetime | None
    mail: Literal["queued", "not_configured"]


class PasswordLinkRead(BaseModel):
    """A link issued by an admin for a user: to copy, and mailed where mail is configured."""

    link: str
    expires_at: datetime
    mail: Literal["queued", "not_configured"]


class PasswordLinkCheck(RequestBody):
    token: Annotated[str, StringConstraints(min_length=1, max_length=200)]


class PasswordLinkInfo(BaseModel):
    purpose: PasswordLinkPurpose
    email: str
    full_name: str
    expires_at: datetime


class PasswordSet(PasswordLinkCheck):
    password: Password


class PasswordResetRequest(RequestBody):
    email: EmailStr
