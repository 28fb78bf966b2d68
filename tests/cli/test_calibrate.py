"""`assess calibrate`, run as a real process: a long-format responses file in, items.csv out, and a clear
exit 2 for every kind of malformed file."""

from __future__ import annotations

import csv
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

ASSESS = str(Path(sys.executable).with_name("assess"))
ITEM_COLUMNS = ["item", "a", "b", "c", "se_a", "se_b", "se_c", "n", "rmsd", "anchored"]


def assess(*args: str | Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run([ASSESS, *map(str, args)], env=env, capture_output=True, text=True, timeout=120)


def write_responses(path: Path, persons: int = 1500, items: int = 12, seed: int = 0) -> dict[str, float]:
    """Simulated 2PL responses; returns each item's true b."""
    rng = np.random.default_rng(seed)
    a, b, theta = rng.lognormal(0, 0.2, items), rng.normal(0, 1, items), rng.normal(0, 1, persons)
    right = rng.random((items, persons)) < 1 / (1 + np.exp(-a[:, None] * (theta[None, :] - b[:, None])))
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["person", "item", "correct"])
        for i in range(items):
            for j in range(persons):
                writer.writerow([f"cand-{j}", f"item-{i}", int(right[i, j])])
    return {f"item-{i}": float(b[i]) for i in range(items)}


def read_items(path: Path) -> list[dict[str, str]]:
    with path.open(newline="") as file:
        reader = csv.DictReader(file)
        assert reader.fieldnames == ITEM_COLUMNS
        return list(reader)


def test_calibrate_writes_items_csv(tmp_path: Path) -> None:
    truth = write_responses(tmp_path / "responses.csv")
    result = assess("calibrate", "--responses", tmp_path / "responses.csv", "--model", "2pl", "--out", tmp_path / "out")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "converged" in result.stdout and "items.csv" in result.stdout
    rows = read_items(tmp_path / "out" / "items.csv")
    assert {row["item"] for row in rows} == set(truth)
    for row in rows:
        assert abs(float(row["b"]) - truth[row["item"]]) < 4 * float(row["se_b"]) + 0.05
        assert row["se_c"] == "" and row["c"] == "0.0000" and row["n"] == "1500" and row["anchored"] == "0"


def test_anchors_stay_fixed(tmp_path: Path) -> None:
    write_responses(tmp_path / "responses.csv")
    (tmp_path / "anchors.csv").write_text("item,a,b,c\nitem-0,1.2,0.3,0\nitem-1,0.9,-1.1,0\n")
    result = assess(
        "calibrate", "--responses", tmp_path / "responses.csv", "--anchors", tmp_path / "anchors.csv",
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr + result.stdout
    rows = {row["item"]: row for row in read_items(tmp_path / "out" / "items.csv")}
    assert (rows["item-0"]["a"], rows["item-0"]["b"], rows["item-0"]["anchored"]) == ("1.2000", "0.3000", "1")
    assert rows["item-0"]["se_b"] == "" and rows["item-5"]["se_b"] != ""


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"", "the header must name person, item, correct"),
        (b"person,item\np1,i1\n", "missing correct"),
        (b"person,item,correct\np1,i1,yes\n", "line 2: correct must be 1 or 0, not 'yes'"),
        (b"person,item,correct\np1,i1,1\np1,i1,0\n", "p1 answered i1 twice"),
        (b"person,item,correct\np1,i1,1,extra\n", "line 2: expected 3 fields"),
        (b"person,item,correct\np1,i1\n", "line 2: expected 3 fields"),
        (b"person,item,correct\n,i1,1\n", "line 2: person and item must be 1-200 characters"),
        (b"person,item,correct\n" + b"p" * 300 + b",i1,1\n", "person and item must be 1-200 characters"),
        (b"person,item,correct\n", "no responses"),
        (b"\xff\xfe\x00garbage\x00", "codec can't decode"),
    ],
)
def test_malformed_responses_exit_2_with_the_reason(tmp_path: Path, content: bytes, message: str) -> None:
    (tmp_path / "responses.csv").write_bytes(content)
    result = assess("calibrate", "--responses", tmp_path / "responses.csv", "--out", tmp_path / "out")
    assert result.returncode == 2, result.stderr + result.stdout
    assert message in " ".join(result.stdout.split()), result.stdout
    assert "Traceback" not in result.stderr and not (tmp_path / "out" / "items.csv").exists()


def test_missing_file_bad_model_and_bad_anchors_exit_2(tmp_path: Path) -> None:
    missing = assess("calibrate", "--responses", tmp_path / "none.csv", "--out", tmp_path / "out")
    assert missing.returncode == 2 and "No such file" in missing.stdout
    write_responses(tmp_path / "responses.csv", persons=50, items=3)
    model = assess("calibrate", "--responses", tmp_path / "responses.csv", "--model", "4pl")
    assert model.returncode == 2 and "--model must be one of 1pl, 2pl, 3pl" in model.stdout
    (tmp_path / "anchors.csv").write_text("item,a,b,c\nitem-0,-1,0,0\n")
    anchors = assess(
        "calibrate", "--responses", tmp_path / "responses.csv", "--anchors", tmp_path / "anchors.csv",
        "--out", tmp_path / "out",
    )  # fmt: skip
    assert anchors.returncode == 2 and "line 2: need a > 0 and 0 <= c < 1" in anchors.stdout
