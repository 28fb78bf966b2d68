"""Descriptive statistics: a small data set, "what is its median / mean / sample SD / mode?".

The key is computed with the `statistics` module and formatted with two decimals (the mode, always an
integer here, is shown as an integer). Distractors are the results of common mistakes: taking the middle
of the unsorted list, mixing up mean and median, dividing by n instead of n - 1, forgetting the
square root.
"""

from __future__ import annotations

import random
import statistics
from collections import Counter

from questions.families._common import fence, pick_distractors
from questions.families.base import ItemFamily

Question = tuple[list[int], str, str, list[str], str]


def two(value: float) -> str:
    return f"{value:.2f}"


def _data(rng: random.Random) -> list[int]:
    return [rng.randint(1, 40) for _ in range(rng.randint(5, 9))]


def _median(rng: random.Random) -> Question:
    while True:
        data = _data(rng)
        n = len(data)
        ordered = sorted(data)
        if n % 2:
            unsorted_middle: float = data[n // 2]
        else:
            unsorted_middle = (data[n // 2 - 1] + data[n // 2]) / 2
        median = statistics.median(data)
        if unsorted_middle != median and two(statistics.mean(data)) != two(median):
            break
    key = two(median)
    wrong = [unsorted_middle, statistics.mean(data)]
    if n % 2:
        wrong += [ordered[n // 2 - 1], ordered[n // 2 + 1], ordered[(n - 1) // 2 + 1]]
        how = f"n = {n} is odd, so the median is the middle (position {n // 2 + 1}) value"
    else:
        wrong += [ordered[n // 2 - 1], ordered[n // 2], ordered[n // 2 + 1]]
        how = (
            f"n = {n} is even, so the median is the mean of the "
            f"values at positions {n // 2} and {n // 2 + 1} "
            f"({ordered[n // 2 - 1]} and {ordered[n // 2]})"
        )
    distractors = pick_distractors(
        key, (two(v) for v in wrong), (two(median + d) for d in (0.5, -0.5, 1, -1, 1.5, -1.5, 2, -2))
    )
    explanation = (
        f"Sort the data first: {ordered}. {how}: {key}. Taking the middle of the unsorted list is a common slip."
    )
    return data, "What is the median of this data set?", key, distractors, explanation


def _mean(rng: random.Random) -> Question:
    while True:
        data = _data(rng)
        if sum(data) % len(data) and two(statistics.median(data)) != two(statistics.mean(data)):
            break
    n = len(data)
    mean = statistics.mean(data)
    key = two(mean)
    wrong = [statistics.median(data), sum(data) / (n - 1), sum(data) / (n + 1), statistics.mean(set(data))]
    distractors = pick_distractors(
        key, (two(v) for v in wrong), (two(mean + d) for d in (0.25, -0.25, 0.5, -0.5, 1, -1, 2, -2))
    )
    explanation = (
        f"The mean is the sum divided by the count: {' + '.join(map(str, data))} = {sum(data)}, and "
        f"{sum(data)} / {n} = {key} (rounded to two decimals)."
    )
    question = "What is the arithmetic mean of this data set, rounded to two decimal places?"
    return data, question, key, distractors, explanation


def _sample_sd(rng: random.Random) -> Question:
    while True:
        data = _data(rng)
        if len(set(data)) >= 3:
            break
    n = len(data)
    mean = statistics.mean(data)
    sd = statistics.stdev(data)
    key = two(sd)
    squares = sum((x - mean) ** 2 for x in data)
    mad = sum(abs(x - mean) for x in data) / n
    wrong = [statistics.pstdev(data), mad, statistics.variance(data), statistics.pvariance(data)]
    distractors = pick_distractors(
        key, (two(v) for v in wrong), (two(sd + d) for d in (0.1, -0.1, 0.25, -0.25, 0.5, -0.5, 1, -1))
    )
    explanation = (
        f"The mean is {mean:.4g}. The squared deviations from "
        f"it sum to {squares:.4g}; dividing by n - 1 = {n - 1} "
        f"gives the sample variance {statistics.variance(data):.4g}, "
        f"and its square root is {key}. Dividing by n "
        f"instead would give the population standard deviation {two(statistics.pstdev(data))}."
    )
    return (
        data,
        "What is the sample standard deviation (dividing by n - 1) of this data set, rounded to two decimal places?",
        key,
        distractors,
        explanation,
    )


def _mode(rng: random.Random) -> Question:
    while True:
        n = rng.randint(6, 9)
        mode = rng.randint(1, 30)
        times = rng.choice([2, 3, 3])
        others = [v for v in rng.sample(range(1, 40), n) if v != mode][: n - times]
        if times == 3 and rng.random() < 0.5:
            others[-1] = others[0]  # a runner-up that appears twice
        data = [mode] * times + others
        rng.shuffle(data)
        counts = Counter(data).most_common()
        if counts[0][1] > counts[1][1] and data[0] != mode:
            break
    key = str(statistics.mode(data))
    median = statistics.median(data)
    wrong = [
        counts[1][0],
        round(median),
        round(statistics.mean(data)),
        max(data),
        data[0],
        min(data),
    ]
    distractors = pick_distractors(key, (str(v) for v in wrong), (str(mode + d) for d in (1, -1, 2, -2, 3)))
    explanation = (
        f"The mode is the most frequent value: {key} occurs "
        f"{counts[0][1]} times, more often than any other value "
        f"(the runner-up, {counts[1][0]}, occurs {counts[1][1]} time{'s' if counts[1][1] > 1 else ''})."
    )
    return data, "What is the mode of this data set?", key, distractors, explanation


class DescriptiveStatsFamily(ItemFamily):
    name = "descriptive_stats"
    skill = "statistics"
    difficulty = 2
    tags = ("descriptive-statistics", "mean", "median", "standard-deviation")

    def compose(self, rng: random.Random) -> tuple[str, str, list[str], str]:
        asker = rng.choice([_median, _mean, _sample_sd, _mode])
        data, question, key, distractors, explanation = asker(rng)
        listing = ", ".join(str(v) for v in data)
        stem = f"A sample of {len(data)} measurements:\n\n{fence(listing, 'text')}\n\n{question}"
        return stem, key, distractors, explanation
