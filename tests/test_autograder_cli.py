"""The one grading command: outputs, layouts, exit codes, resuming, identical regrades, Dask."""

from __future__ import annotations

import csv
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest
from conftest import ROOT
from helpers.crafting import CORRECT_EXAMPLE, EXAMPLES, PARTLY_WRONG_EXAMPLE, craft

N_RESUME = 200
ENV = {**os.environ, "PYTHONWARNINGS": "ignore"}


def grade(*args, timeout=600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "autograder", "grade", *map(str, args),
                           "--no-progress"], cwd=ROOT, capture_output=True, text=True,
                          timeout=timeout, env=ENV)


def rows(out: Path) -> list[dict]:
    with open(out / "grades.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def tree_hash(folder: Path) -> str:
    digest = hashlib.sha256()
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            digest.update(str(path.relative_to(folder)).encode() + path.read_bytes())
    return digest.hexdigest()


def test_examples_one_command(tmp_path):
    before = tree_hash(EXAMPLES)
    out = tmp_path / "out"
    done = grade(EXAMPLES, "--assignment", "01_knn", "--out", out)
    assert done.returncode == 0, done.stderr
    assert tree_hash(EXAMPLES) == before, "the submissions were modified"
    table = {r["student_id"]: r for r in rows(out)}
    assert table["correct_student"]["score"] == "14" and table["untouched_release"]["score"] == "0"
    assert 0 < float(table["partly_wrong_student"]["score"]) < 14
    assert list(table["correct_student"])[:3] == ["student_id", "score", "max_score"]
    assert len(table["correct_student"]) == 3 + 6  # one column per test
    result = json.loads((out / "students" / "partly_wrong_student" / "results.json").read_text())
    assert {"score", "execution_time", "tests", "output", "visibility"} <= set(result)
    for test in result["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility"} <= set(test)
        assert test["status"] in ("passed", "failed")
    failed = [t for t in result["tests"] if t["status"] == "failed"]
    assert failed and all(t["output"] for t in failed)
    assert any("expected" in t["output"] for t in failed)
    feedback = (out / "students" / "partly_wrong_student" / "feedback.html").read_text()
    assert "failed" in feedback and "expected" in feedback
    summary = (out / "summary.html").read_text()
    assert summary.count("data:image/png;base64,") == 2 and "pass rate" in summary


def test_same_seed_same_grades_other_seed_other_inputs(tmp_path):
    outs = [tmp_path / name for name in ("a", "b", "c")]
    for out, seed in zip(outs, (7, 7, 8), strict=True):
        assert grade(EXAMPLES, "--assignment", "01_knn", "--out", out, "--seed", seed,
                     "--jobs", 1).returncode == 0

    def graded(out):
        data = json.loads((out / "students" / "partly_wrong_student" / "results.json").read_text())
        return data["extra_data"]["seed"], [(t["name"], t["score"], t["output"])
                                            for t in data["tests"]]
    assert graded(outs[0]) == graded(outs[1])
    assert graded(outs[0])[0] != graded(outs[2])[0]


def test_zip_and_flat_layouts_and_exit_codes(tmp_path):
    flat = tmp_path / "flat"
    flat.mkdir()
    shutil.copy(CORRECT_EXAMPLE, flat / "ann.ipynb")
    with zipfile.ZipFile(flat / "ben.zip", "w") as archive:
        archive.writestr("ben/01_knn.ipynb", PARTLY_WRONG_EXAMPLE.read_bytes())
    (flat / "cy.zip").write_bytes(b"broken zip")
    (flat / "dee.ipynb").write_bytes(b"{not json")
    done = grade(flat, "--assignment", "01_knn", "--out", tmp_path / "out")
    assert done.returncode == 0, done.stderr
    table = {r["student_id"]: float(r["score"]) for r in rows(tmp_path / "out")}
    assert table["ann"] == 14 and 0 < table["ben"] < 14 and table["cy"] == table["dee"] == 0
    cy = json.loads((tmp_path / "out" / "students" / "cy" / "results.json").read_text())
    assert "zip" in cy["tests"][0]["output"]
    assert grade(flat, "--assignment", "no_such", "--out", tmp_path / "x").returncode == 2
    assert grade(tmp_path / "missing", "--assignment", "01_knn",
                 "--out", tmp_path / "x").returncode == 2


@pytest.mark.slow
def test_interrupted_run_resumes_without_losing_or_duplicating_rows(tmp_path):
    subs = tmp_path / "subs"
    subs.mkdir()
    wrong = craft(CORRECT_EXAMPLE, drop={"predict_labels"})
    for index in range(N_RESUME):
        (subs / f"s{index:03d}.ipynb").write_bytes(CORRECT_EXAMPLE.read_bytes() if index % 2
                                                   else wrong)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "autograder", "grade", str(subs), "--assignment",
               "01_knn", "--out", str(out), "--jobs", "1", "--no-progress"]
    proc = subprocess.Popen(command, cwd=ROOT, env=ENV, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    # Wait for the first five results however long a loaded machine takes (the run itself
    # needs minutes for all N_RESUME; the deadline is only a safety net against a hang).
    deadline = time.monotonic() + 900
    while proc.poll() is None and time.monotonic() < deadline and \
            len(list(out.glob("students/*/results.json"))) < 5:
        time.sleep(0.01)
    os.killpg(proc.pid, signal.SIGKILL)  # a hard crash, not a polite stop
    proc.wait()
    partial = len(list(out.glob("students/*/results.json")))
    assert 5 <= partial < N_RESUME
    done = subprocess.run(command, cwd=ROOT, env=ENV, capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr
    assert f"grading the remaining {N_RESUME - partial}" in done.stderr
    table = rows(out)
    assert sorted(r["student_id"] for r in table) == [f"s{i:03d}" for i in range(N_RESUME)]
    scores = {r["student_id"]: float(r["score"]) for r in table}
    assert all(scores[f"s{i:03d}"] == 14 for i in range(1, N_RESUME, 2))
    assert len({scores[f"s{i:03d}"] for i in range(0, N_RESUME, 2)}) == 1
    assert scores["s000"] < 14
    assert not list(out.rglob("*.tmp"))


@pytest.mark.slow
def test_grading_through_a_dask_local_cluster(tmp_path):
    from distributed import LocalCluster
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster:
        out = tmp_path / "out"
        done = grade(EXAMPLES, "--assignment", "01_knn", "--out", out,
                     "--scheduler", cluster.scheduler_address)
        assert done.returncode == 0, done.stderr
        table = {r["student_id"]: r["score"] for r in rows(out)}
        assert table == {"correct_student": "14", "partly_wrong_student": table[
            "partly_wrong_student"], "untouched_release": "0"}
        result = json.loads((out / "students" / "correct_student" / "results.json").read_text())
        assert result["extra_data"]["sandbox_lost"] == []
