import pytest

from domain.errors import InvalidRequest
from domain.skill_graph import SkillNode, blueprint, check_skill_graph, stored_skills
from serve_app.schemas import SkillRead


def test_prerequisites_come_first() -> None:
    order = check_skill_graph(
        [SkillNode("design", 1, ("http", "sql")), SkillNode("sql", 1), SkillNode("http", 1, ("sql",))]
    )
    assert order.index("sql") < order.index("http") < order.index("design")


@pytest.mark.parametrize(
    ("skills", "message"),
    [
        ([], "at least one skill"),
        ([SkillNode("a", 1), SkillNode("a", 2)], "duplicate skills: a"),
        ([SkillNode("a", 0)], "positive weight"),
        ([SkillNode("a", 1, ("b",))], "not skills of this test: b"),
        ([SkillNode("a", 1, ("a",))], "its own prerequisite"),
        ([SkillNode("a", 1, ("b",)), SkillNode("b", 1, ("c",)), SkillNode("c", 1, ("a",))], "cycle"),
    ],
)
def test_invalid_graphs_are_refused(skills: list[SkillNode], message: str) -> None:
    with pytest.raises(InvalidRequest, match=message):
        check_skill_graph(skills)


def test_blueprint_follows_weights_by_largest_remainder() -> None:
    skills = [SkillNode("python", 3), SkillNode("sql", 2), SkillNode("http", 2), SkillNode("git", 1)]
    # shares of 20: 7.5, 5, 5, 2.5 -> floors 7, 5, 5, 2; the leftover goes to the larger remainder
    assert blueprint(skills, 20) == {"python": 8, "sql": 5, "http": 5, "git": 2}


def test_blueprint_gives_every_skill_a_question_when_there_are_enough() -> None:
    skills = [SkillNode("big", 100), SkillNode("small", 1), SkillNode("tiny", 1)]
    counts = blueprint(skills, 5)
    assert counts == {"big": 3, "small": 1, "tiny": 1}
    assert sum(blueprint(skills, 2).values()) == 2


@pytest.mark.parametrize("questions", [1, 3, 7, 10, 50, 200])
def test_blueprint_always_sums_to_the_length(questions: int) -> None:
    skills = [SkillNode(f"s{i}", weight) for i, weight in enumerate([0.5, 1, 1.5, 2, 7])]
    assert sum(blueprint(skills, questions).values()) == questions


def test_the_stored_form_names_every_field_a_test_is_read_back_with() -> None:
    """A simulator's definition may leave out weights and prerequisites; a test stored from it must read back
    like one made over REST (GET /api/tests failed on one without prerequisites)."""
    stored = stored_skills([{"name": "sql"}, {"name": "python", "weight": 2, "prerequisites": ["sql"]}])
    assert stored == [
        {"name": "sql", "weight": 1.0, "prerequisites": []},
        {"name": "python", "weight": 2.0, "prerequisites": ["sql"]},
    ]
    assert [SkillRead.model_validate(skill) for skill in stored]  # as GET /api/tests reads it
