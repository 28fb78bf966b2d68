"""Request bodies the API tests start from and vary."""

from __future__ import annotations


def valid_test_body(**overrides: object) -> dict[str, object]:
    """A valid POST /api/tests body over bank skills."""
    body: dict[str, object] = {
        "title": "Backend screening",
        "job_description": "Python services on PostgreSQL, HTTP APIs and tests.",
        "skills": [
            {"name": "python", "weight": 2, "prerequisites": []},
            {"name": "sql", "weight": 1, "prerequisites": []},
            {"name": "algorithms", "weight": 1, "prerequisites": ["python"]},
        ],
        "max_questions": 12,
        "min_questions": 6,
        "se_target": 0.35,
        "duration_minutes": 25,
        "max_attempts": 2,
        "generator": "bank",
        "passing_score": 65,
    }
    body.update(overrides)
    return body
