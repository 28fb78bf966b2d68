"""Where pretest items go: positions seeded by the attempt, and given before the test can end."""

from graphs.assessment import pretest_due, pretest_positions


def test_positions_are_distinct_seeded_and_before_any_stop() -> None:
    for attempt_id in range(1, 200):
        positions = pretest_positions(attempt_id, 2, 6)
        assert len(set(positions)) == 2 and all(1 <= position <= 7 for position in positions)
        assert positions == pretest_positions(attempt_id, 2, 6) == sorted(positions)
    assert pretest_positions(5, 0, 6) == [] and pretest_positions(5, 3, 1) == [1, 2, 3]


def test_a_pretest_item_waits_for_its_position_and_never_for_the_deadline() -> None:
    # Positions 3 and 7 of a 6-item test: index 3 is one, index 4 is not.
    assert pretest_due(3, [3, 7], scored=3, reason=None)
    assert not pretest_due(4, [3, 7], scored=3, reason=None)
    # Index 7 after six scored answers: the length stop would end the test; the owed item comes first.
    assert pretest_due(7, [3, 7], scored=6, reason="completed")
    # Both given (8 answers, 6 scored): the test ends.
    assert not pretest_due(8, [3, 7], scored=6, reason="completed")
    # A precision stop at index 4 with position 7 still owed: given now, and only as many as owed.
    assert pretest_due(4, [2, 7], scored=3, reason="precision_reached")
    assert not pretest_due(5, [2, 7], scored=3, reason="precision_reached")
    # The deadline and an order to finish do not wait.
    assert not pretest_due(3, [3, 7], scored=3, reason="time_expired")
    assert not pretest_due(7, [3, 7], scored=6, reason="abandoned")
