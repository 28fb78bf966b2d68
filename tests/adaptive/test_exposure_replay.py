"""A session rebuilt from its stored answers under exposure control draws again what it drew: the items the
Sympson-Hetter lottery refused, and so the next choice, are the same as the uninterrupted session's."""

import numpy as np

from adaptive.assembly import TestDesign, adaptive_test
from adaptive.exposure import ExposureControl
from questions.source import QuestionSource

DEFINITION = {
    "skills": [
        {"name": "python", "weight": 2.0, "prerequisites": []},
        {"name": "sql", "weight": 1.0, "prerequisites": []},
    ],
    "max_questions": 12,
    "min_questions": 12,
    "se_target": None,
}


def test_a_rebuilt_session_chooses_as_the_uninterrupted_one() -> None:
    plain = adaptive_test(QuestionSource(), TestDesign.from_definition(DEFINITION))
    fixed = [entry for index, entry in enumerate(plain.pool.ids) if not plain.pool.reusable[index]]
    control = ExposureControl(target=0.3, first_randomesque=3, k=tuple((entry, 0.4) for entry in fixed))
    test = adaptive_test(QuestionSource(), TestDesign.from_definition(DEFINITION, exposure=control))
    answers = [True, False, True, True, False, True, False, False, True, True, False]
    for attempt_id in (7, 8, 9):
        keys = np.array([attempt_id])
        state, given = test.begin(1), []
        for right in answers:
            entry = int(test.choose(state, np.array([0]), keys=keys)[0])
            test.record(state, np.array([0]), np.array([entry]), np.array([right]))
            given.append(entry)
        rebuilt = test.replay(given, answers, attempt_id)
        assert rebuilt.refused.any() and np.array_equal(rebuilt.refused, state.refused)
        assert np.array_equal(rebuilt.theta, state.theta)
        following = test.choose(state, np.array([0]), keys=keys)
        assert np.array_equal(test.choose(rebuilt, np.array([0]), keys=keys), following)
