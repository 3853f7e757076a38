"""The similarity report: renamed copies are found, independent solutions and the untouched
exercise are not; read as the grader reads; outputs safe; `grade --similarity` wiring.

The sample corpus below: four genuinely different correct implementations of the 01_knn
functions (alice, bob, carol, dave; checked correct against the reference here), a copy of
alice's with names renamed, comments changed, code reformatted and independent statements
reordered (mallory), and two untouched exercises. The same for two 02 functions.
"""

from __future__ import annotations

import csv
import io
import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT

from autograder import similarity
from autograder.commands.similarity import build_report, scaffold_cells
from autograder.extract import GradedCell, extract, read_notebook
from autograder.grading import Assignment
from autograder.submissions import discover

PLACEHOLDER = re.compile(r"^([ \t]*)# YOUR CODE HERE\n[ \t]*raise NotImplementedError\(\)$",
                         re.MULTILINE)


def exercise_cells(assignment: str) -> dict[str, str]:
    nb = read_notebook(ROOT / "exercises" / assignment / f"{assignment}.ipynb")
    return {c.grade_id: c.source for c in extract(nb).cells}


def fill(source: str, *bodies: str) -> str:
    """The scaffold cell with its placeholders replaced by ``bodies`` (in order)."""
    parts = iter(bodies)

    def put(match):
        return textwrap.indent(textwrap.dedent(next(parts)).strip("\n"), match.group(1))

    return PLACEHOLDER.sub(put, source)


def student(assignment: str, filled: dict[str, tuple[str, ...] | str]) -> dict[str, str]:
    """Graded cell sources: a tuple fills the scaffold's placeholders, a str replaces the
    whole cell (a student who rewrote the function)."""
    cells = exercise_cells(assignment)
    for grade_id, body in filled.items():
        cells[grade_id] = body if isinstance(body, str) else fill(cells[grade_id], *body)
    return cells


KNN = {
    "alice": {
        "compute_distances_two_loops": ("dists[i, j] = np.sqrt(np.sum((X[i] - X_train[j]) ** 2))",),
        "compute_distances_one_loop": ("dists[i, :] = np.sqrt(np.sum((X_train - X[i]) ** 2, axis=1))",),
        "compute_distances_no_loops": ("""
            test_sq = np.sum(X ** 2, axis=1, keepdims=True)
            train_sq = np.sum(X_train ** 2, axis=1)
            cross = X @ X_train.T
            squared = test_sq + train_sq - 2 * cross
            return np.sqrt(np.maximum(squared, 0))
            """,),
        "predict_labels": ("""
            order = np.argsort(dists[i], kind="stable")
            closest_y = y_train[order[:k]]
            y_pred[i] = np.argmax(np.bincount(closest_y))
            """,),
        "KNearestNeighbor": ("""
            self.X_train = X
            self.y_train = y
            """, """
            if num_loops == 0:
                dists = compute_distances_no_loops(self.X_train, X)
            elif num_loops == 1:
                dists = compute_distances_one_loop(self.X_train, X)
            elif num_loops == 2:
                dists = compute_distances_two_loops(self.X_train, X)
            else:
                raise ValueError("Invalid value %d for num_loops" % num_loops)
            return predict_labels(dists, self.y_train, k=k)
            """),
        "cross_validate": ("""
            X_folds = np.array_split(X, num_folds)
            y_folds = np.array_split(y, num_folds)
            accuracies = {}
            for k in k_choices:
                accuracies[k] = []
                for i in range(num_folds):
                    X_tr = np.concatenate(X_folds[:i] + X_folds[i + 1:])
                    y_tr = np.concatenate(y_folds[:i] + y_folds[i + 1:])
                    clf = KNearestNeighbor()
                    clf.train(X_tr, y_tr)
                    pred = clf.predict(X_folds[i], k=k)
                    accuracies[k].append(float(np.mean(pred == y_folds[i])))
            return accuracies
            """,),
    },
    # alice's code, renamed, re-commented, reformatted, independent statements reordered
    "mallory": {
        "compute_distances_two_loops": ("""
            # distance between point i and point j
            dists[i, j] = np.sqrt( np.sum( ( X[i]-X_train[j] )**2 ) )
            """,),
        "compute_distances_one_loop": ("dists[i, :] = np.sqrt(np.sum((X_train - X[i])**2, axis = 1))  # row i",),
        "compute_distances_no_loops": ("""
            # expand (a-b)^2 = a^2 + b^2 - 2ab
            product = X @ X_train.T
            norms_train = np.sum(X_train**2, axis=1)
            norms_test = np.sum(X**2, axis=1, keepdims=True)
            d2 = (norms_test
                  + norms_train
                  - 2 * product)
            return np.sqrt(np.maximum(d2, 0))
            """,),
        "predict_labels": ("""
            idx = np.argsort(dists[i], kind='stable')  # nearest first
            labels = y_train[idx[:k]]
            y_pred[i] = np.argmax(np.bincount(labels))
            """,),
        "KNearestNeighbor": ("""
            self.y_train = y
            self.X_train = X
            """, """
            if num_loops == 0:
                D = compute_distances_no_loops(self.X_train, X)
            elif num_loops == 1:
                D = compute_distances_one_loop(self.X_train, X)
            elif num_loops == 2:
                D = compute_distances_two_loops(self.X_train, X)
            else:
                raise ValueError(f"num_loops={num_loops} is not allowed")
            return predict_labels(D, self.y_train, k=k)
            """),
        "cross_validate": ("""
            ys = np.array_split(y, num_folds)
            xs = np.array_split(X, num_folds)
            result = {}
            for kk in k_choices:
                result[kk] = []
                for f in range(num_folds):
                    # train on every fold but f
                    ytrain = np.concatenate(ys[:f] + ys[f + 1:])
                    xtrain = np.concatenate(xs[:f] + xs[f + 1:])
                    model = KNearestNeighbor()
                    model.train(xtrain, ytrain)
                    guess = model.predict(xs[f], k=kk)
                    result[kk].append(float(np.mean(guess == ys[f])))
            return result
            """,),
    },
    "bob": {
        "compute_distances_two_loops": ("""
            diff = X[i] - X_train[j]
            dists[i, j] = np.sqrt(diff @ diff)
            """,),
        "compute_distances_one_loop": ("dists[i] = np.linalg.norm(X_train - X[i], axis=1)",),
        "compute_distances_no_loops": ("""
            diff = X[:, None, :] - X_train[None, :, :]
            return np.sqrt((diff ** 2).sum(axis=2))
            """,),
        "predict_labels": ("""
            nearest = y_train[np.argsort(dists[i], kind="stable")[:k]]
            labels, counts = np.unique(nearest, return_counts=True)
            y_pred[i] = labels[np.argmax(counts)]
            """,),
        "KNearestNeighbor": ("""
            self.Xtr = X.copy()
            self.ytr = y.copy()
            """, """
            funcs = [compute_distances_no_loops, compute_distances_one_loop,
                     compute_distances_two_loops]
            if num_loops not in (0, 1, 2):
                raise ValueError("num_loops must be 0, 1 or 2")
            return predict_labels(funcs[num_loops](self.Xtr, X), self.ytr, k)
            """),
        "cross_validate": ("""
            idx = np.array_split(np.arange(len(X)), num_folds)
            result = {k: [] for k in k_choices}
            for f, test_idx in enumerate(idx):
                train_idx = np.concatenate([idx[g] for g in range(num_folds) if g != f])
                model = KNearestNeighbor()
                model.train(X[train_idx], y[train_idx])
                for k in k_choices:
                    result[k].append(float((model.predict(X[test_idx], k=k) == y[test_idx]).mean()))
            return result
            """,),
    },
    "carol": {
        "compute_distances_two_loops": ("dists[i, j] = np.sqrt(((X[i] - X_train[j]) ** 2).sum())",),
        "compute_distances_one_loop": ("""
            d = X_train - X[i]
            dists[i, :] = np.sqrt(np.einsum("ij,ij->i", d, d))
            """,),
        "compute_distances_no_loops": ("""
            a2 = (X * X).sum(axis=1).reshape(-1, 1)
            b2 = (X_train * X_train).sum(axis=1).reshape(1, -1)
            d2 = np.clip(a2 + b2 - 2.0 * np.dot(X, X_train.T), 0.0, None)
            return np.sqrt(d2)
            """,),
        "predict_labels": ("""
            votes = np.zeros(y_train.max() + 1, dtype=int)
            for j in np.argsort(dists[i], kind="stable")[:k]:
                votes[y_train[j]] += 1
            y_pred[i] = votes.argmax()
            """,),
        "KNearestNeighbor": ("self.data = (X, y)", """
            X_train, y_train = self.data
            table = {2: compute_distances_two_loops, 1: compute_distances_one_loop,
                     0: compute_distances_no_loops}
            try:
                distance = table[num_loops]
            except KeyError:
                raise ValueError(f"unknown num_loops {num_loops}") from None
            return predict_labels(distance(X_train, X), y_train, k=k)
            """),
        "cross_validate": ("""
            folds = list(zip(np.array_split(X, num_folds), np.array_split(y, num_folds)))
            scores = {}
            for k in k_choices:
                fold_scores = []
                for held_out in range(num_folds):
                    train = [f for n, f in enumerate(folds) if n != held_out]
                    clf = KNearestNeighbor()
                    clf.train(np.vstack([f[0] for f in train]), np.hstack([f[1] for f in train]))
                    Xv, yv = folds[held_out]
                    fold_scores.append(np.count_nonzero(clf.predict(Xv, k=k) == yv) / len(yv))
                scores[k] = fold_scores
            return scores
            """,),
    },
    "dave": {
        "compute_distances_two_loops": ("dists[i, j] = np.linalg.norm(X[i] - X_train[j])",),
        "compute_distances_one_loop": ("dists[i] = np.sqrt(np.square(X_train - X[i]).sum(-1))",),
        "compute_distances_no_loops": ("""
            return np.linalg.norm(X[:, np.newaxis, :] - X_train[np.newaxis, :, :], axis=-1)
            """,),
        "predict_labels": '''
def predict_labels(dists, y_train, k=1):
    """Vote of the k nearest, for all test points at once."""
    num_test = dists.shape[0]
    labels = y_train[np.argsort(dists, axis=1, kind="stable")[:, :k]]
    counts = np.zeros((num_test, y_train.max() + 1), dtype=np.int64)
    np.add.at(counts, (np.arange(num_test)[:, None], labels), 1)
    return counts.argmax(axis=1)
''',
        "KNearestNeighbor": ("self._X, self._y = X, y", """
            if num_loops == 0:
                dist_fn = compute_distances_no_loops
            elif num_loops == 1:
                dist_fn = compute_distances_one_loop
            elif num_loops == 2:
                dist_fn = compute_distances_two_loops
            else:
                raise ValueError("num_loops should be one of 0, 1, 2")
            return predict_labels(dist_fn(self._X, X), self._y, k=k)
            """),
        "cross_validate": ("""
            parts = np.array_split(np.arange(len(X)), num_folds)
            fold_of = np.concatenate([np.full(len(p), n) for n, p in enumerate(parts)])
            acc = {k: [0.0] * num_folds for k in k_choices}
            for n in range(num_folds):
                mask = fold_of == n
                knn = KNearestNeighbor()
                knn.train(X[~mask], y[~mask])
                for k in k_choices:
                    acc[k][n] = float(np.mean(knn.predict(X[mask], k=k) == y[mask]))
            return acc
            """,),
    },
}

REGRESSION = {
    "alice": {
        "fit_linear_regression": ("""
            X = np.asarray(X, dtype=float)
            if np.linalg.matrix_rank(X) < X.shape[1]:
                raise ValueError("X does not have full column rank")
            return np.linalg.solve(X.T @ X, X.T @ np.asarray(y, dtype=float))
            """,),
        "fit_ridge_regression": ("""
            if lam < 0:
                raise ValueError("lam must be non-negative")
            X = np.asarray(X, dtype=float)
            gram = X.T @ X + lam * np.eye(X.shape[1])
            return np.linalg.solve(gram, X.T @ np.asarray(y, dtype=float))
            """,),
    },
    "mallory": {
        "fit_linear_regression": ("""
            A = np.asarray(X, dtype=float)   # work on a float copy
            if np.linalg.matrix_rank(A) < A.shape[1]:
                raise ValueError("rank deficient design matrix")
            return np.linalg.solve(A.T @ A,
                                   A.T @ np.asarray(y, dtype=float))
            """,),
        "fit_ridge_regression": ("""
            if lam < 0: raise ValueError("negative lambda")
            A = np.asarray(X, dtype=float)
            M = A.T @ A + lam * np.eye(A.shape[1])  # regularised normal equations
            return np.linalg.solve(M, A.T @ np.asarray(y, dtype=float))
            """,),
    },
    "bob": {
        "fit_linear_regression": ("""
            Xf = np.array(X, dtype=np.float64)
            yf = np.array(y, dtype=np.float64)
            n, d = Xf.shape
            if d > n or np.linalg.svd(Xf, compute_uv=False).min() <= 1e-10 * np.abs(Xf).max():
                raise ValueError("theta is not unique: X is rank deficient")
            return np.linalg.solve(np.dot(Xf.T, Xf), np.dot(Xf.T, yf))
            """,),
        "fit_ridge_regression": ("""
            if not lam >= 0:
                raise ValueError("lam < 0")
            Xf = np.array(X, dtype=np.float64)
            lhs = np.dot(Xf.T, Xf)
            lhs[np.diag_indices_from(lhs)] += lam
            return np.linalg.solve(lhs, np.dot(Xf.T, np.array(y, dtype=np.float64)))
            """,),
    },
    "carol": {
        "fit_linear_regression": ("""
            design = X.astype(float)
            q, r = np.linalg.qr(design, mode="reduced")
            if design.shape[1] > design.shape[0] or \\
                    np.linalg.matrix_rank(design) != design.shape[1]:
                raise ValueError("X has dependent columns")
            normal = design.T.dot(design)
            target = design.T.dot(y.astype(float))
            return np.linalg.solve(normal, target)
            """,),
        "fit_ridge_regression": ("""
            if lam < 0:
                raise ValueError(f"lam={lam} is negative")
            features = X.astype(float)
            size = features.shape[1]
            system = features.T.dot(features) + np.diag(np.full(size, float(lam)))
            rhs = features.T.dot(y.astype(float))
            return np.linalg.solve(system, rhs)
            """,),
    },
}

COPY = ("alice", "mallory")
UNTOUCHED = ("untouched_1", "untouched_2")


def write_corpus(folder: Path, assignment: str, students: dict) -> Path:
    """A folder of <student>.ipynb files: the exercise with each student's cells swapped in."""
    folder.mkdir(parents=True, exist_ok=True)
    path = ROOT / "exercises" / assignment / f"{assignment}.ipynb"
    for name, filled in [*students.items(), *((u, {}) for u in UNTOUCHED)]:
        cells = student(assignment, filled)
        nb = json.loads(path.read_text(encoding="utf-8"))
        for cell in nb["cells"]:
            grade_id = cell.get("metadata", {}).get("nbgrader", {}).get("grade_id")
            if cell["cell_type"] == "code" and grade_id in cells and \
                    cell["metadata"]["nbgrader"].get("solution"):
                cell["source"] = cells[grade_id]
        (folder / f"{name}.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    return folder


def report_for(tmp_path: Path, assignment: str, students: dict) -> similarity.Report:
    folder = write_corpus(tmp_path / assignment, assignment, students)
    return build_report(discover(folder, assignment), Assignment.find(assignment, ROOT), ROOT,
                        top=100)


def scores(report: similarity.Report) -> dict[frozenset, float]:
    return {frozenset((p.student_a, p.student_b)): p.similarity for p in report.pairs}


# ------------------------------------------------------------------ the corpus is honest

def namespace(cells: dict[str, str]) -> dict:
    scope = {"np": np}
    for source in cells.values():
        exec(compile(source, "<cell>", "exec"), scope)  # noqa: S102 - our own sample code
    return scope


def test_sample_knn_implementations_are_correct():
    reference = namespace({c.grade_id: c.source for c in
                           extract(read_notebook(ROOT / "solutions/01_knn/01_knn.ipynb")).cells})
    rng = np.random.default_rng(0)
    X_train, X = rng.integers(0, 5, (30, 3)), rng.integers(0, 5, (7, 3))  # ties, integers
    y_train = rng.integers(0, 4, 30)
    for name, filled in KNN.items():
        mine = namespace(student("01_knn", filled))
        for fn in ("compute_distances_two_loops", "compute_distances_one_loop",
                   "compute_distances_no_loops"):
            np.testing.assert_allclose(mine[fn](X_train, X), reference[fn](X_train, X),
                                       atol=1e-9, err_msg=f"{name} {fn}")
        dists = reference["compute_distances_no_loops"](X_train, X)
        for k in (1, 3, 6):
            np.testing.assert_array_equal(mine["predict_labels"](dists, y_train, k),
                                          reference["predict_labels"](dists, y_train, k))
            model = mine["KNearestNeighbor"]()
            model.train(X_train, y_train)
            for loops in (0, 1, 2):
                np.testing.assert_array_equal(model.predict(X, k=k, num_loops=loops),
                                              reference["predict_labels"](dists, y_train, k))
        with pytest.raises(ValueError):
            model.predict(X, num_loops=3)
        assert mine["cross_validate"](X_train, y_train, [1, 3], 4) == \
            reference["cross_validate"](X_train, y_train, [1, 3], 4), name


def test_sample_regression_implementations_are_correct():
    path = ROOT / "solutions/02_linear_regression/02_linear_regression.ipynb"
    reference = namespace({c.grade_id: c.source for c in extract(read_notebook(path)).cells})
    rng = np.random.default_rng(1)
    X, y = rng.normal(size=(20, 4)), rng.normal(size=20)
    singular = np.column_stack([X[:, :2], X[:, 0] + X[:, 1]])
    for name, filled in REGRESSION.items():
        mine = namespace(student("02_linear_regression", filled))
        np.testing.assert_allclose(mine["fit_linear_regression"](X, y),
                                   reference["fit_linear_regression"](X, y), err_msg=name)
        for lam in (0.0, 0.5, 3.0):
            np.testing.assert_allclose(mine["fit_ridge_regression"](X, y, lam),
                                       reference["fit_ridge_regression"](X, y, lam))
        with pytest.raises(ValueError):
            mine["fit_linear_regression"](singular, y)
        with pytest.raises(ValueError):
            mine["fit_ridge_regression"](X, y, -1.0)


# ------------------------------------------------------------------ what the report finds

@pytest.mark.parametrize("assignment, students", [("01_knn", KNN),
                                                   ("02_linear_regression", REGRESSION)])
def test_renamed_copy_is_flagged_and_independent_work_is_not(tmp_path, assignment, students):
    report = report_for(tmp_path, assignment, students)
    got = scores(report)
    copy = got.get(frozenset(COPY), 0.0)
    assert copy >= similarity.THRESHOLD, (copy, got)
    independent = {pair: s for pair, s in got.items()
                   if pair != frozenset(COPY) and pair <= set(students)}
    assert max(independent.values(), default=0.0) < similarity.THRESHOLD, independent
    assert max(independent.values(), default=0.0) < copy - 0.25, (copy, independent)
    flagged = [frozenset((p.student_a, p.student_b)) for p in report.pairs if p.flagged]
    assert flagged == [frozenset(COPY)]
    assert report.pairs[0].flagged and {report.pairs[0].student_a,
                                        report.pairs[0].student_b} == set(COPY)


def test_half_copied_submission_is_flagged(tmp_path):
    students = dict(KNN)
    copied = ("compute_distances_no_loops", "predict_labels", "cross_validate")
    students["trudy"] = {**KNN["bob"], **{k: KNN["mallory"][k] for k in copied}}
    report = report_for(tmp_path, "01_knn", students)
    pair = next(p for p in report.pairs if {p.student_a, p.student_b} == {"alice", "trudy"})
    assert pair.flagged and set(pair.shared_functions) == set(copied), pair
    assert pair.similarity < scores(report)[frozenset(COPY)]


def test_copy_names_its_functions(tmp_path):
    report = report_for(tmp_path, "01_knn", KNN)
    top = report.pairs[0]
    assert {"compute_distances_no_loops", "cross_validate"} <= set(top.shared_functions), top


@pytest.mark.parametrize("assignment", ["01_knn", "02_linear_regression"])
def test_untouched_exercises_score_zero(tmp_path, assignment):
    students = KNN if assignment == "01_knn" else REGRESSION
    got = scores(report_for(tmp_path, assignment, students))
    for pair, score in got.items():
        if pair & set(UNTOUCHED):
            assert score == 0.0, (pair, score)


def test_scaffold_alone_has_no_fingerprints_left():
    assignment = Assignment.find("01_knn", ROOT)
    reserved = {n for c in extract(read_notebook(assignment.reference_notebook)).cells
                for n in c.defined_names}
    scaffold = similarity.fingerprints(scaffold_cells(assignment, ROOT), reserved)
    untouched = similarity.fingerprints(
        [GradedCell(g, "", s) for g, s in exercise_cells("01_knn").items()], reserved)
    assert untouched.units and not set(untouched.units) - set(scaffold.units)


def test_scaffold_without_generated_exercise_matches_the_exercise(tmp_path):
    course = tmp_path / "course"
    (course / "solutions" / "01_knn").mkdir(parents=True)
    (course / "solutions/01_knn/01_knn.ipynb").write_bytes(
        (ROOT / "solutions/01_knn/01_knn.ipynb").read_bytes())
    derived = scaffold_cells(Assignment.find("01_knn", course), course)
    generated = scaffold_cells(Assignment.find("01_knn", ROOT), ROOT)
    reserved = {"compute_distances_no_loops"}
    assert similarity.fingerprints(derived, reserved).units.keys() == \
        similarity.fingerprints(generated, reserved).units.keys()


def test_renaming_and_reordering_leave_fingerprints_unchanged():
    a = "def f(x, y):\n    s = np.sum(x)\n    t = np.max(y)\n    return s * t + 2\n"
    b = ("def f(first, second):\n    # comment\n    top = np.max(second)\n"
         "    total = np.sum(first)  # another\n    return (total * top\n            + 2.0)\n")
    different = "def f(x, y):\n    s = np.mean(x)\n    t = np.min(y)\n    return s * t + 2\n"
    fa, fb, fc = (similarity.fingerprints([GradedCell("g", "", s)], {"f"}).units
                  for s in (a, b, different))
    assert fa.keys() == fb.keys() and fa.keys() != fc.keys()
    helper = ("EPS = 1e-9\ndef _sq(v):\n    return np.sum(v ** 2) + EPS\n"
              "def f(x):\n    return np.sqrt(_sq(x))\n")
    renamed = helper.replace("EPS", "TINY").replace("_sq", "square_norm")
    fh, fr = (set(similarity.fingerprints([GradedCell("g", "", s)], {"f"}).units)
              for s in (helper, renamed))
    assert fh and fh == fr


def test_winnow_sees_every_long_shared_run():
    rng = np.random.default_rng(3)
    shared = list(rng.integers(0, 1000, similarity.K + similarity.W - 1))
    for _ in range(20):
        left = list(rng.integers(0, 1000, rng.integers(0, 30)))
        right = list(rng.integers(0, 1000, rng.integers(0, 30)))
        a = set(similarity.winnow(left + shared + right))
        b = set(similarity.winnow(list(rng.integers(0, 1000, 10)) + shared))
        assert a & b


# ------------------------------------------------------------------ bounded, safe, wired

def test_hostile_cells_cost_a_note_not_the_run():
    deep = "def f():\n    return " + "-" * 50_000 + "1\n"
    many = "\n".join(f"def g{i}(a):\n    return a + {i} * a - a / {i + 1}" for i in range(5000))
    prints = similarity.fingerprints([GradedCell("a", "", "def f(:\n"),
                                      GradedCell("b", "", deep),
                                      GradedCell("c", "", many)], set())
    assert any("does not parse" in n for n in prints.notes)
    assert any("too large" in n for n in prints.notes)
    assert len(prints.units) <= similarity.MAX_FINGERPRINTS


def test_command_writes_csv_and_unreadable_submissions_are_listed(tmp_path):
    folder = write_corpus(tmp_path / "subs", "01_knn", {k: KNN[k] for k in COPY})
    (folder / "=HYPERLINK(1).ipynb").write_text("not json", encoding="utf-8")
    (folder / "broken.zip").write_bytes(b"PK\x03\x04 nonsense")
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "similarity", str(folder),
                           "--assignment", "01_knn", "--out", str(out)], cwd=ROOT,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO((out / "similarity.csv").read_text())))
    assert list(rows[0]) == ["student_a", "student_b", "similarity", "shared_fingerprints",
                             "shared_functions", "flagged"]
    assert {rows[0]["student_a"], rows[0]["student_b"]} == set(COPY) and rows[0]["flagged"] == "yes"
    page = (out / "similarity.html").read_text()
    assert "not compared" in page and "broken" in page and "_HYPERLINK_1_" in page
    assert not (out / "summary.html").exists()  # no grading run in OUT: left alone


def test_command_after_a_grading_run_adds_the_section_to_its_summary(tmp_path):
    folder = write_corpus(tmp_path / "subs", "01_knn", {k: KNN[k] for k in COPY})
    out = tmp_path / "out"
    for command in (["grade", "--jobs", "1", "--no-progress"], ["similarity"]):
        done = subprocess.run([sys.executable, "-m", "autograder", command[0], str(folder),
                               "--assignment", "01_knn", "--out", str(out), *command[1:]],
                              cwd=ROOT, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, done.stderr
        summary = (out / "summary.html").read_text()
        assert ("Similar submissions" in summary) == (command[0] == "similarity")
    assert "grading summary" in summary and "untouched_1" in summary


def test_grade_with_similarity_adds_the_section(tmp_path):
    folder = write_corpus(tmp_path / "subs", "01_knn", {k: KNN[k] for k in COPY})
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "autograder", "grade", str(folder),
                           "--assignment", "01_knn", "--out", str(out), "--jobs", "1",
                           "--no-progress", "--similarity"], cwd=ROOT, capture_output=True,
                          text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    summary = (out / "summary.html").read_text()
    assert "Similar submissions" in summary and "mallory" in summary
    assert (out / "similarity.csv").is_file()
    grades = list(csv.DictReader(io.StringIO((out / "grades.csv").read_text())))
    assert {r["student_id"]: r["score"] for r in grades}["mallory"] == "14"  # never a penalty


def test_fragments_held_by_many_submissions_are_ignored_unless_asked():
    shared = similarity.Fingerprints({h: "f" for h in range(50)})
    prints = {f"s{i:02d}": similarity.Fingerprints(dict(shared.units)) for i in range(12)}
    prints["odd"] = similarity.Fingerprints({h: "g" for h in range(1000, 1050)})
    empty = similarity.Fingerprints()
    assert similarity.common_limit(13) == 10
    assert similarity.compare(dict(prints), empty).pairs == []  # 12 holders > 10: an idiom
    ring = similarity.compare(dict(prints), empty, common=12)
    assert len([p for p in ring.pairs if p.flagged]) == 12 * 11 // 2
    assert all(p.similarity == 1.0 and p.shared_functions == ("f",) for p in ring.pairs)
    assert ring.pair_updates == 50 * 12 * 11 // 2
