"""The skills the embedded question source covers, with their display titles."""

SKILL_TITLES: dict[str, str] = {
    "python": "Python",
    "sql": "SQL",
    "algorithms": "Data structures and algorithms",
    "http": "HTTP and the web",
    "git": "Git",
    "linux": "Linux and the shell",
    "testing": "Software testing",
    "system-design": "System design",
    "security": "Security basics",
    "statistics": "Statistics",
}

SKILLS: tuple[str, ...] = tuple(SKILL_TITLES)
