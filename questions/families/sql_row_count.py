"""SQL row counting: tiny tables plus a query, "how many rows does it return?".

The key is the number of rows an in-memory SQLite database actually returns for the query. Distractors
are the row counts of *mutant* queries that encode a classic misreading (AND/OR precedence, NULL
comparisons, filtering a LEFT JOIN in WHERE instead of ON, counting groups without HAVING, ...).
"""

from __future__ import annotations

import random
import sqlite3
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from questions.families._common import fence, pick_distractors
from questions.families.base import ItemFamily

NAMES = (
    "Ada",
    "Bo",
    "Chen",
    "Dara",
    "Eli",
    "Femi",
    "Gus",
    "Hana",
    "Ivo",
    "Jun",
    "Kai",
    "Lena",
    "Mo",
    "Nia",
    "Omar",
    "Pia",
)
DEPTS = ("eng", "sales", "ops", "hr", "legal", "finance")
CITIES = ("Oslo", "Lima", "Pune", "Kyiv", "Accra", "Quito")
STATUSES = ("paid", "open", "refunded")


def sql_literal(value: object) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, str):
        return "'" + value.replace("'", "''") + "'"
    return str(value)


def insert_statement(table: str, columns: tuple[str, ...], rows: Sequence[tuple[object, ...]]) -> str:
    values = ",\n".join("    (" + ", ".join(sql_literal(v) for v in row) + ")" for row in rows)
    return f"INSERT INTO {table} ({', '.join(columns)}) VALUES\n{values};"


def plural(n: int, noun: str = "row") -> str:
    return f"{n} {noun}" + ("" if n == 1 else "s")


def count_rows(setup: str, query: str) -> int:
    connection = sqlite3.connect(":memory:")
    try:
        connection.executescript(setup)
        return len(connection.execute(query).fetchall())
    finally:
        connection.close()


@dataclass
class Scenario:
    setup: str
    query: str
    mutants: list[str]
    explain: Callable[[Callable[[str], int]], str]


# ---------------------------------------------------------------- single table (employees)

EMPLOYEE_COLUMNS = ("id", "name", "dept", "salary", "bonus")
EMPLOYEE_DDL = (
    "CREATE TABLE employees (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    name TEXT NOT NULL,\n"
    "    dept TEXT,\n"
    "    salary INTEGER NOT NULL,\n"
    "    bonus INTEGER\n"
    ");"
)


EmployeeRow = tuple[int, str, str | None, int, int | None]  # id, name, dept, salary, bonus


def _employees(rng: random.Random) -> tuple[str, list[EmployeeRow], list[str]]:
    n = rng.randint(6, 9)
    depts = rng.sample(DEPTS, 3)
    names = rng.sample(NAMES, n)
    rows: list[EmployeeRow] = []
    for i in range(n):
        dept = None if rng.random() < 0.15 else rng.choice(depts)
        bonus = None if rng.random() < 0.3 else rng.choice([0, 100, 200, 300, 500])
        rows.append((i + 1, names[i], dept, rng.randrange(3000, 9001, 100), bonus))
    # Make sure the NULL-handling traps can actually bite.
    null_dept, null_bonus = rng.sample(range(n), 2)
    id_, name, _, salary, bonus = rows[null_dept]
    rows[null_dept] = (id_, name, None, salary, bonus)
    id_, name, dept, salary, _ = rows[null_bonus]
    rows[null_bonus] = (id_, name, dept, salary, None)
    setup = EMPLOYEE_DDL + "\n" + insert_statement("employees", EMPLOYEE_COLUMNS, rows)
    return setup, rows, depts


def _precedence(rng: random.Random) -> Scenario:
    setup, rows, depts = _employees(rng)
    x, y = rng.sample(depts, 2)
    salary = rng.choice(sorted(row[3] for row in rows)[1:-1])
    cond = f"dept = '{x}' OR dept = '{y}' AND salary > {salary}"
    query = f"SELECT name FROM employees\nWHERE {cond};"
    mutants = [
        f"SELECT name FROM employees WHERE (dept = '{x}' OR dept = '{y}') AND salary > {salary};",
        f"SELECT name FROM employees WHERE dept IN ('{x}', '{y}');",
        f"SELECT name FROM employees WHERE dept = '{y}' AND salary > {salary};",
    ]

    def explain(count: Callable[[str], int]) -> str:
        a = count(f"SELECT 1 FROM employees WHERE dept = '{x}'")
        b = count(f"SELECT 1 FROM employees WHERE dept = '{y}' AND salary > {salary}")
        return (
            f"AND binds more tightly than OR, so the filter means dept = '{x}' OR (dept = '{y}' AND salary > "
            f"{salary}). {plural(a)} in '{x}' plus {plural(b)} in '{y}' with salary above {salary} gives "
            f"{plural(a + b)} in total."
        )

    return Scenario(setup, query, mutants, explain)


def _not_equal_null(rng: random.Random) -> Scenario:
    setup, rows, _ = _employees(rng)
    bonus = rng.choice([row[4] for row in rows if row[4] is not None] or [100])
    query = f"SELECT name FROM employees\nWHERE bonus <> {bonus};"
    mutants = [
        f"SELECT name FROM employees WHERE bonus <> {bonus} OR bonus IS NULL;",
        "SELECT name FROM employees;",
        f"SELECT name FROM employees WHERE bonus = {bonus};",
    ]

    def explain(count: Callable[[str], int]) -> str:
        nulls = count("SELECT 1 FROM employees WHERE bonus IS NULL")
        return (
            "Comparing NULL with anything yields NULL, which "
            f"WHERE treats as not true, so rows with a NULL bonus ({nulls} here) "
            f"are dropped as well as the rows whose bonus equals {bonus}. "
            f"Result: {plural(count(query))}."
        )

    return Scenario(setup, query, mutants, explain)


def _equals_null(rng: random.Random) -> Scenario:
    setup, rows, _ = _employees(rng)
    column = rng.choice(["bonus", "dept"])
    if rng.random() < 0.5:
        query = f"SELECT * FROM employees\nWHERE {column} = NULL;"
        mutants = [
            f"SELECT * FROM employees WHERE {column} IS NULL;",
            f"SELECT * FROM employees WHERE {column} IS NOT NULL;",
            "SELECT * FROM employees;",
        ]
        tail = "No row can satisfy it, so the query returns 0 rows."
    else:
        salary = rng.choice(sorted(row[3] for row in rows)[1:-1])
        query = f"SELECT * FROM employees\nWHERE {column} = NULL OR salary > {salary};"
        mutants = [
            f"SELECT * FROM employees WHERE {column} IS NULL OR salary > {salary};",
            "SELECT * FROM employees;",
            f"SELECT * FROM employees WHERE {column} IS NULL;",
        ]
        tail = f"Only the salary > {salary} branch can select rows."

    def explain(count: Callable[[str], int]) -> str:
        return (
            f"{column} = NULL is never true: comparing with NULL "
            f"yields NULL (unknown), even when {column} is "
            f"NULL. The test for a missing value is IS NULL. {tail} Result: {plural(count(query))}."
        )

    return Scenario(setup, query, mutants, explain)


def _not_in(rng: random.Random) -> Scenario:
    setup, _rows, depts = _employees(rng)
    x, y = rng.sample(depts, 2)
    if rng.random() < 0.3:
        query = f"SELECT name FROM employees\nWHERE dept NOT IN ('{x}', NULL);"
        mutants = [
            f"SELECT name FROM employees WHERE dept <> '{x}';",
            f"SELECT name FROM employees WHERE dept <> '{x}' OR dept IS NULL;",
            f"SELECT name FROM employees WHERE dept = '{x}';",
        ]

        def explain(count: Callable[[str], int]) -> str:
            return (
                f"dept NOT IN ('{x}', NULL) means dept <> '{x}' AND dept <> NULL. The second comparison is "
                "NULL for every row, so the whole condition is never true and the query returns 0 rows."
            )

        return Scenario(setup, query, mutants, explain)
    query = f"SELECT name FROM employees\nWHERE dept NOT IN ('{x}', '{y}');"
    mutants = [
        f"SELECT name FROM employees WHERE dept NOT IN ('{x}', '{y}') OR dept IS NULL;",
        f"SELECT name FROM employees WHERE dept IN ('{x}', '{y}');",
        f"SELECT name FROM employees WHERE dept <> '{x}';",
    ]

    def explain_plain(count: Callable[[str], int]) -> str:
        nulls = count("SELECT 1 FROM employees WHERE dept IS NULL")
        return (
            "NOT IN compares dept with each listed value; for "
            f"rows with a NULL dept ({nulls} here) the result "
            f"is NULL, not true, so they are excluded along with the '{x}' and '{y}' rows. "
            f"Result: {plural(count(query))}."
        )

    return Scenario(setup, query, mutants, explain_plain)


def _distinct(rng: random.Random) -> Scenario:
    setup, _rows, _ = _employees(rng)
    if rng.random() < 0.6:
        query = "SELECT DISTINCT dept FROM employees;"
        mutants = [
            "SELECT DISTINCT dept FROM employees WHERE dept IS NOT NULL;",
            "SELECT dept FROM employees;",
            "SELECT DISTINCT dept FROM employees WHERE dept IS NOT NULL AND bonus IS NOT NULL;",
        ]

        def explain(count: Callable[[str], int]) -> str:
            named = count("SELECT DISTINCT dept FROM employees WHERE dept IS NOT NULL")
            return (
                f"DISTINCT keeps one row per distinct value, and all NULLs count as one value for DISTINCT: "
                f"{plural(named, 'named department')} plus one NULL row = {plural(count(query))}."
            )

        return Scenario(setup, query, mutants, explain)
    query = "SELECT DISTINCT dept, bonus FROM employees;"
    mutants = [
        "SELECT DISTINCT dept FROM employees;",
        "SELECT DISTINCT bonus FROM employees;",
        "SELECT DISTINCT dept, bonus FROM employees WHERE dept IS NOT NULL AND bonus IS NOT NULL;",
        "SELECT dept, bonus FROM employees;",
    ]

    def explain_pairs(count: Callable[[str], int]) -> str:
        return (
            "DISTINCT applies to the whole selected row, so duplicates are removed per (dept, bonus) pair; "
            f"NULLs compare as equal for this purpose. There are {count(query)} distinct pairs."
        )

    return Scenario(setup, query, mutants, explain_pairs)


def _between(rng: random.Random) -> Scenario:
    setup, rows, _ = _employees(rng)
    salaries = sorted({row[3] for row in rows})
    lo, hi = sorted(rng.sample(salaries, 2))
    query = f"SELECT name FROM employees\nWHERE salary BETWEEN {lo} AND {hi};"
    mutants = [
        f"SELECT name FROM employees WHERE salary > {lo} AND salary < {hi};",
        f"SELECT name FROM employees WHERE salary >= {lo} AND salary < {hi};",
        f"SELECT name FROM employees WHERE salary > {lo} AND salary <= {hi};",
    ]

    def explain(count: Callable[[str], int]) -> str:
        return (
            f"BETWEEN is inclusive at both ends: salary >= {lo} AND salary <= {hi}. Both bounds occur in "
            f"the table, so those rows count too: {plural(count(query))}."
        )

    return Scenario(setup, query, mutants, explain)


def _not_and(rng: random.Random) -> Scenario:
    setup, _rows, depts = _employees(rng)
    x = rng.choice(depts)
    bonus = rng.choice([0, 100, 200])
    query = f"SELECT name FROM employees\nWHERE NOT (dept = '{x}' AND bonus > {bonus});"
    mutants = [
        f"SELECT name FROM employees WHERE NOT (dept = '{x}' AND bonus > {bonus}) OR dept IS NULL OR bonus IS NULL;",
        f"SELECT name FROM employees WHERE dept = '{x}' AND bonus > {bonus};",
        f"SELECT name FROM employees WHERE dept <> '{x}';",
    ]

    def explain(count: Callable[[str], int]) -> str:
        unknown = count(f"SELECT 1 FROM employees WHERE (dept = '{x}' AND bonus > {bonus}) IS NULL")
        return (
            "SQL uses three-valued logic: when dept or bonus is NULL the inner condition can be NULL, and "
            f"NOT NULL is still NULL, so such rows are not returned ({plural(unknown)} here). The remaining "
            f"rows are those where the inner condition is false: {plural(count(query))}."
        )

    return Scenario(setup, query, mutants, explain)


# ---------------------------------------------------------------- two tables (customers, orders)

CUSTOMER_DDL = "CREATE TABLE customers (\n    id INTEGER PRIMARY KEY,\n    name TEXT NOT NULL,\n    city TEXT\n);"
ORDER_DDL = (
    "CREATE TABLE orders (\n"
    "    id INTEGER PRIMARY KEY,\n"
    "    customer_id INTEGER,\n"
    "    amount INTEGER NOT NULL,\n"
    "    status TEXT NOT NULL\n"
    ");"
)


CustomerRow = tuple[int, str, str | None]  # id, name, city
OrderRow = tuple[int, int, int, str]  # id, customer_id, amount, status


def _shop(rng: random.Random) -> tuple[str, list[CustomerRow], list[OrderRow]]:
    n_customers = rng.randint(5, 7)
    cities = rng.sample(CITIES, 3)
    names = rng.sample(NAMES, n_customers)
    customers: list[CustomerRow] = [
        (i + 1, names[i], None if rng.random() < 0.15 else rng.choice(cities)) for i in range(n_customers)
    ]
    ids = [c[0] for c in customers]
    # Some customers order several times, some never.
    buyers = rng.sample(ids, rng.randint(2, n_customers - 1))
    n_orders = rng.randint(len(buyers) + 1, len(buyers) + 4)
    orders: list[OrderRow] = []
    for i in range(n_orders):
        customer = buyers[i] if i < len(buyers) else rng.choice(buyers)
        orders.append((100 + i + 1, customer, rng.randrange(10, 205, 5), rng.choice(STATUSES)))
    rng.shuffle(orders)
    orders = [(100 + i + 1, customer, amount, status) for i, (_, customer, amount, status) in enumerate(orders)]
    setup = "\n".join(
        [
            CUSTOMER_DDL,
            ORDER_DDL,
            insert_statement("customers", ("id", "name", "city"), customers),
            insert_statement("orders", ("id", "customer_id", "amount", "status"), orders),
        ]
    )
    return setup, customers, orders


def _left_join(rng: random.Random) -> Scenario:
    setup, _customers, _orders = _shop(rng)
    query = "SELECT c.name, o.id\nFROM customers AS c\nLEFT JOIN orders AS o ON o.customer_id = c.id;"
    mutants = [
        "SELECT c.name, o.id FROM customers AS c JOIN orders AS o ON o.customer_id = c.id;",
        "SELECT name FROM customers;",
        "SELECT DISTINCT c.name FROM customers AS c JOIN orders AS o ON o.customer_id = c.id;",
    ]

    def explain(count: Callable[[str], int]) -> str:
        matched = count("SELECT 1 FROM customers c JOIN orders o ON o.customer_id = c.id")
        lonely = count("SELECT 1 FROM customers c WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.customer_id = c.id)")
        return (
            f"A LEFT JOIN returns one row per matching (customer, order) pair ({matched}) plus one row with "
            f"NULL order columns for each customer without orders ({lonely}): {plural(matched + lonely)}."
        )

    return Scenario(setup, query, mutants, explain)


def _left_join_where(rng: random.Random) -> Scenario:
    setup, _customers, _orders = _shop(rng)
    status = rng.choice(STATUSES)
    query = (
        "SELECT c.name, o.id\nFROM customers AS c\nLEFT JOIN orders AS o ON o.customer_id = c.id\n"
        f"WHERE o.status = '{status}';"
    )
    mutants = [
        "SELECT c.name, o.id FROM customers AS c LEFT JOIN orders AS o "
        f"ON o.customer_id = c.id AND o.status = '{status}';",
        "SELECT c.name, o.id FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id;",
        "SELECT c.name, o.id FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id "
        f"WHERE o.status = '{status}' OR o.id IS NULL;",
    ]

    def explain(count: Callable[[str], int]) -> str:
        return (
            f"The WHERE clause runs after the join. Customers without orders get NULL in o.status, and "
            f"NULL = '{status}' is not true, so the filter removes them: the LEFT JOIN behaves like an inner "
            f"join, and only the order rows with status '{status}' survive: {plural(count(query))}."
        )

    return Scenario(setup, query, mutants, explain)


def _left_join_on(rng: random.Random) -> Scenario:
    setup, _customers, orders = _shop(rng)
    amount = rng.choice(sorted(o[2] for o in orders))
    query = (
        "SELECT c.name, o.id\nFROM customers AS c\n"
        f"LEFT JOIN orders AS o ON o.customer_id = c.id AND o.amount > {amount};"
    )
    mutants = [
        "SELECT c.name, o.id FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id "
        f"WHERE o.amount > {amount};",
        "SELECT c.name, o.id FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id;",
        "SELECT name FROM customers;",
    ]

    def explain(count: Callable[[str], int]) -> str:
        matched = count(f"SELECT 1 FROM customers c JOIN orders o ON o.customer_id = c.id AND o.amount > {amount}")
        return (
            f"A condition in ON only decides which orders match; every customer is still kept. "
            f"{matched} (customer, order) pairs have amount > {amount}, and each customer with no such "
            f"order contributes one row with NULLs: {plural(count(query))}."
        )

    return Scenario(setup, query, mutants, explain)


def _anti_join(rng: random.Random) -> Scenario:
    setup, _customers, _orders = _shop(rng)
    query = "SELECT c.name\nFROM customers AS c\nLEFT JOIN orders AS o ON o.customer_id = c.id\nWHERE o.id IS NULL;"
    mutants = [
        "SELECT c.name FROM customers AS c LEFT JOIN orders AS o ON o.customer_id = c.id WHERE o.id IS NOT NULL;",
        "SELECT name FROM customers;",
        "SELECT DISTINCT customer_id FROM orders;",
    ]

    def explain(count: Callable[[str], int]) -> str:
        return (
            "This is an anti-join: the LEFT JOIN fills the order columns with NULL exactly for customers "
            "that have no order, and WHERE o.id IS NULL keeps "
            f"only those. {count(query)} customers never ordered."
        )

    return Scenario(setup, query, mutants, explain)


def _group_having(rng: random.Random) -> Scenario:
    setup, _customers, _orders = _shop(rng)
    if rng.random() < 0.5:
        threshold = rng.choice([2, 2, 3])
        query = f"SELECT customer_id, COUNT(*) AS n\nFROM orders\nGROUP BY customer_id\nHAVING COUNT(*) >= {threshold};"
        mutants = [
            "SELECT customer_id, COUNT(*) FROM orders GROUP BY customer_id;",
            f"SELECT customer_id, COUNT(*) FROM orders GROUP BY customer_id HAVING COUNT(*) > {threshold};",
            "SELECT customer_id FROM orders;",
        ]

        def explain(count: Callable[[str], int]) -> str:
            groups = count("SELECT 1 FROM orders GROUP BY customer_id")
            return (
                f"GROUP BY produces one row per customer_id ({groups} groups); HAVING then keeps the groups "
                f"with at least {threshold} orders: {plural(count(query))}."
            )

        return Scenario(setup, query, mutants, explain)
    amount = rng.choice([100, 150, 200, 250])
    query = (
        f"SELECT customer_id, SUM(amount) AS total\nFROM orders\nGROUP BY customer_id\nHAVING SUM(amount) > {amount};"
    )
    mutants = [
        f"SELECT customer_id, SUM(amount) FROM orders WHERE amount > {amount} GROUP BY customer_id;",
        "SELECT customer_id, SUM(amount) FROM orders GROUP BY customer_id;",
        f"SELECT * FROM orders WHERE amount > {amount};",
    ]

    def explain_sum(count: Callable[[str], int]) -> str:
        return (
            f"Rows are grouped per customer_id first; HAVING filters on each group's total, not on single "
            f"orders. Customers whose orders total more than {amount}: {count(query)}, one row each."
        )

    return Scenario(setup, query, mutants, explain_sum)


def _aggregate_one_row(rng: random.Random) -> Scenario:
    setup, _customers, _orders = _shop(rng)
    amount = rng.choice([50, 100, 150, 190, 250])
    query = f"SELECT COUNT(*) AS n\nFROM orders\nWHERE amount > {amount};"
    mutants = [
        f"SELECT * FROM orders WHERE amount > {amount};",
        "SELECT * FROM orders;",
        f"SELECT * FROM orders WHERE amount <= {amount};",
    ]

    def explain(count: Callable[[str], int]) -> str:
        matching = count(f"SELECT 1 FROM orders WHERE amount > {amount}")
        return (
            "An aggregate without GROUP BY collapses all qualifying rows into a single result row, even when "
            f"no row qualifies. The query returns 1 row, whose value n is {matching}."
        )

    return Scenario(setup, query, mutants, explain)


def _distinct_join(rng: random.Random) -> Scenario:
    setup, _customers, _orders = _shop(rng)
    query = "SELECT DISTINCT c.city\nFROM customers AS c\nJOIN orders AS o ON o.customer_id = c.id;"
    mutants = [
        "SELECT c.city FROM customers AS c JOIN orders AS o ON o.customer_id = c.id;",
        "SELECT DISTINCT city FROM customers;",
        "SELECT DISTINCT city FROM customers WHERE city IS NOT NULL;",
    ]

    def explain(count: Callable[[str], int]) -> str:
        return (
            "The inner join keeps only customers with at least one order (once per order), then DISTINCT "
            f"collapses equal cities, treating NULL cities as one value: {plural(count(query))}."
        )

    return Scenario(setup, query, mutants, explain)


# ---------------------------------------------------------------- families

_ASKS = (
    "How many rows does the following query return?",
    "How many rows are in the result of this query?",
    "Run the query below. How many rows come back?",
)


class _SqlRowCountFamily(ItemFamily):
    scenarios: tuple[Callable[[random.Random], Scenario], ...] = ()

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        builder = rng.choice(self.scenarios)
        scenario = builder(rng)
        for _ in range(30):
            # Prefer data where the first (most tempting) misreading gives a different count.
            if count_rows(scenario.setup, scenario.query) != count_rows(scenario.setup, scenario.mutants[0]):
                break
            scenario = builder(rng)
        setup, query = scenario.setup, scenario.query
        key = count_rows(setup, query)
        mutant_counts = [str(count_rows(setup, mutant)) for mutant in scenario.mutants]
        nearby = [str(key + d) for d in (1, -1, 2, -2, 3, 4, 5) if key + d >= 0]
        distractors = pick_distractors(str(key), mutant_counts, nearby)
        tables = "this table" if setup.count("CREATE TABLE") == 1 else "these tables"
        stem = f"Consider {tables} in SQLite:\n\n{fence(setup, 'sql')}\n\n{rng.choice(_ASKS)}\n\n{fence(query, 'sql')}"
        explanation = scenario.explain(lambda sql: count_rows(setup, sql))
        return stem, str(key), distractors, explanation


class SqlRowCountFamily(_SqlRowCountFamily):
    name = "sql_row_count"
    skill = "sql"
    difficulty = 3
    tags = ("sql", "where", "nulls")
    scenarios = (_precedence, _not_equal_null, _equals_null, _not_in, _distinct, _between, _not_and)


class SqlJoinRowCountFamily(_SqlRowCountFamily):
    name = "sql_join_row_count"
    skill = "sql"
    difficulty = 4
    tags = ("sql", "joins", "group-by")
    scenarios = (
        _left_join,
        _left_join_where,
        _left_join_on,
        _anti_join,
        _group_having,
        _aggregate_one_row,
        _distinct_join,
    )
