"""Realistic 01_knn mistakes and the exact score each must get (see tests/variants/__init__.py).

Points per test: two loops 2 (6 parts), one loop 2 (6 parts), no loops 3 (7 parts),
predict_labels 2 (8 parts), classifier 2 (5 parts), cross_validate 3 (5 parts).
"""

from __future__ import annotations

from variants import Variant

ASSIGNMENT = "01_knn"

# The classifier cell is graded by test_knn_classifier (its test cell is test_KNearestNeighbor).
TESTS_OF = {"KNearestNeighbor": ("test_knn_classifier",)}

# One failed part of a test with n parts costs points / n.
TWO_LOOPS_ONE_PART_LOST = 2 * 5 / 6
ONE_LOOP_ONE_PART_LOST = 2 * 5 / 6
NO_LOOPS_ONE_PART_LOST = 3 * 6 / 7
VOTE_ONE_PART_LOST = 2 * 7 / 8
CLASSIFIER_ONE_PART_LOST = 2 * 4 / 5
CROSS_VALIDATE_ONE_PART_LOST = 3 * 4 / 5

_CLAMPLESS_NO_LOOPS = '''
def compute_distances_no_loops(X_train, X):
    """|x|^2 + |y|^2 - 2 x.y, but no clamp: round-off below 0 gives NaN."""
    squared = (np.sum(X ** 2, axis=1)[:, np.newaxis] + np.sum(X_train ** 2, axis=1)
               - 2 * X @ X_train.T)
    return np.sqrt(squared)
'''

_COUNTER_VOTE = '''
def predict_labels(dists, y_train, k=1):
    """Majority vote with Counter: a tie goes to the label seen first (the nearest one)."""
    from collections import Counter
    num_test = dists.shape[0]
    y_pred = np.zeros(num_test, dtype=np.int64)
    for i in range(num_test):
        closest_y = y_train[np.argsort(dists[i], kind="stable")[:k]]
        y_pred[i] = Counter(closest_y.tolist()).most_common(1)[0][0]
    return y_pred
'''

_CLASS_BASED_CROSS_VALIDATE = '''
def cross_validate(X, y, k_choices, num_folds=5):
    """Cross-validation through the student's own classifier (as most students write it)."""
    X_folds = np.array_split(X, num_folds)
    y_folds = np.array_split(y, num_folds)
    k_to_accuracies = {}
    for k in k_choices:
        k_to_accuracies[k] = []
        for fold in range(num_folds):
            model = KNearestNeighbor()
            model.train(np.vstack(X_folds[:fold] + X_folds[fold + 1:]),
                        np.hstack(y_folds[:fold] + y_folds[fold + 1:]))
            predicted = model.predict(X_folds[fold], k=k)
            k_to_accuracies[k].append(float(np.mean(predicted == y_folds[fold])))
    return k_to_accuracies
'''


def _cross_validate(fold_lines: str, vote_and_distances: str = "", header: str = "") -> str:
    """A function-based cross_validate whose folds (and optionally distances and vote) are
    written by the caller; the rest is right."""
    return f'''
def cross_validate(X, y, k_choices, num_folds=5):
    """k-fold cross-validation written with the functions above."""
{header}{fold_lines}
    accuracies = {{k: [] for k in k_choices}}
    for i in range(num_folds):
        X_tr = np.concatenate(X_folds[:i] + X_folds[i + 1:])
        y_tr = np.concatenate(y_folds[:i] + y_folds[i + 1:])
{vote_and_distances or """        dists = compute_distances_no_loops(X_tr, X_folds[i])
        for k in k_choices:
            y_pred = predict_labels(dists, y_tr, k=k)
            accuracies[k].append(float(np.mean(y_pred == y_folds[i])))"""}
    return accuracies
'''


_SPLIT_FOLDS = """    X_folds = np.array_split(X, num_folds)
    y_folds = np.array_split(y, num_folds)"""


def _classifier(predict_body: str) -> str:
    return f'''
class KNearestNeighbor:
    """kNN classifier (a student's version)."""

    def train(self, X, y):
        self.X_train = X
        self.y_train = y

    def predict(self, X, k=1, num_loops=0):
{predict_body}
'''


VARIANTS = [
    # ----------------------------------------------------------------- distances
    Variant(
        "no_loops_without_clamp",
        "no-loop distances from |x|^2 + |y|^2 - 2 x.y without clamping at 0 before np.sqrt: "
        "duplicate points give NaN (nine of ten real authors)",
        {"compute_distances_no_loops": _CLAMPLESS_NO_LOOPS},
        {"test_compute_distances_no_loops": NO_LOOPS_ONE_PART_LOST},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "no_loops_without_sqrt",
        "no-loop version returns squared distances (forgot the square root): every value is "
        "wrong, but the neighbours are the same, so the classifier and cross-validation keep "
        "full marks",
        {"compute_distances_no_loops": '''
def compute_distances_no_loops(X_train, X):
    squared = (np.sum(X ** 2, axis=1)[:, None] + np.sum(X_train ** 2, axis=1)
               - 2 * X @ X_train.T)
    return np.maximum(squared, 0)
'''},
        {"test_compute_distances_no_loops": 0.0},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "no_loops_transposed",
        "norms summed along the wrong axis, so the result is (num_train, num_test): only the "
        "1x1 case is right. The classifier is graded given this helper and keeps full marks; "
        "the solution's cross_validate then raises (labels and fold of different lengths) on "
        "the two random cases: a helper that makes its caller raise cannot be credited there",
        {"compute_distances_no_loops": '''
def compute_distances_no_loops(X_train, X):
    train_sq = np.sum(X_train ** 2, axis=1, keepdims=True)
    test_sq = np.sum(X ** 2, axis=1)
    squared = train_sq + test_sq - 2 * X_train @ X.T
    return np.sqrt(np.maximum(squared, 0))
'''},
        {"test_compute_distances_no_loops": 3 * 1 / 7, "test_cross_validate": 3 * 2 / 5},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "no_loops_with_map",
        "right values, but the rows come from map(lambda ...): a Python loop",
        {"compute_distances_no_loops": '''
def compute_distances_no_loops(X_train, X):
    return np.array(list(map(lambda x: np.sqrt(np.sum((X_train - x) ** 2, axis=1)), X)))
'''},
        {"test_compute_distances_no_loops": NO_LOOPS_ONE_PART_LOST},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "no_loops_with_vectorize",
        "right values, but np.vectorize over row indices: a Python loop in disguise",
        {"compute_distances_no_loops": '''
def compute_distances_no_loops(X_train, X):
    row = np.vectorize(lambda i, j: np.sqrt(np.sum((X[i] - X_train[j]) ** 2)))
    return row(np.arange(len(X))[:, None], np.arange(len(X_train))[None, :]).astype(float)
'''},
        {"test_compute_distances_no_loops": NO_LOOPS_ONE_PART_LOST},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "no_loops_with_comprehension",
        "right values from a list comprehension over test rows (a Python loop)",
        {"compute_distances_no_loops": '''
def compute_distances_no_loops(X_train, X):
    return np.sqrt(np.array([np.sum((X_train - x) ** 2, axis=1) for x in X]))
'''},
        {"test_compute_distances_no_loops": NO_LOOPS_ONE_PART_LOST},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "no_loops_loop_in_helper",
        "the no-loop function itself has no loop, but its helper computes the norms with one",
        {"compute_distances_no_loops": '''
def squared_norms(A):
    out = np.zeros(len(A))
    for i in range(len(A)):
        out[i] = A[i] @ A[i]
    return out


def compute_distances_no_loops(X_train, X):
    squared = squared_norms(X)[:, None] + squared_norms(X_train) - 2 * X @ X_train.T
    return np.sqrt(np.maximum(squared, 0))
'''},
        {"test_compute_distances_no_loops": NO_LOOPS_ONE_PART_LOST},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "no_loops_final_binding_loops",
        "a vectorised definition first, then the name rebound to the one-loop version: the "
        "final binding is what runs, and it loops",
        {"compute_distances_no_loops": '''
def compute_distances_no_loops(X_train, X):
    squared = (np.sum(X ** 2, axis=1)[:, None] + np.sum(X_train ** 2, axis=1)
               - 2 * X @ X_train.T)
    return np.sqrt(np.maximum(squared, 0))


compute_distances_no_loops = compute_distances_one_loop
'''},
        {"test_compute_distances_no_loops": NO_LOOPS_ONE_PART_LOST},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "one_loop_shifts_inputs_in_place",
        "moves the origin to the first training point with -= on the caller's arrays: the "
        "distances are right, the inputs are modified",
        {"compute_distances_one_loop": '''
def compute_distances_one_loop(X_train, X):
    origin = X_train[0].copy()
    X_train -= origin   # smaller numbers, less round-off (but it writes into the input)
    X -= origin
    dists = np.zeros((X.shape[0], X_train.shape[0]))
    for i in range(X.shape[0]):
        dists[i, :] = np.sqrt(np.sum((X_train - X[i]) ** 2, axis=1))
    return dists
'''},
        {"test_compute_distances_one_loop": ONE_LOOP_ONE_PART_LOST},
        ("test_compute_distances_one_loop",),
    ),
    Variant(
        "one_loop_norm_without_axis",
        "np.linalg.norm(X_train - X[i]) without axis=1: one number for the whole row, right "
        "only in the 1x1 case; the classifier calling it (num_loops=1) keeps full marks",
        {"compute_distances_one_loop": '''
def compute_distances_one_loop(X_train, X):
    dists = np.zeros((X.shape[0], X_train.shape[0]))
    for i in range(X.shape[0]):
        dists[i, :] = np.linalg.norm(X_train - X[i])
    return dists
'''},
        {"test_compute_distances_one_loop": 2 * 1 / 6},
        ("test_compute_distances_one_loop",),
    ),
    Variant(
        "two_loops_integer_output",
        "the result array takes the input's dtype, so integer pixels give truncated integer "
        "distances",
        {"compute_distances_two_loops": '''
def compute_distances_two_loops(X_train, X):
    num_test, num_train = X.shape[0], X_train.shape[0]
    dists = np.zeros((num_test, num_train), dtype=X.dtype)
    for i in range(num_test):
        for j in range(num_train):
            dists[i, j] = np.sqrt(np.sum((X[i] - X_train[j]) ** 2))
    return dists
'''},
        {"test_compute_distances_two_loops": TWO_LOOPS_ONE_PART_LOST},
        ("test_compute_distances_two_loops",),
    ),
    # ----------------------------------------------------------------- the vote
    Variant(
        "vote_tie_first_seen",
        "Counter.most_common breaks a vote tie towards the label seen first, not the smallest; "
        "the solution's classifier and cross_validate, which call it, keep full marks",
        {"predict_labels": _COUNTER_VOTE},
        {"test_predict_labels": VOTE_ONE_PART_LOST},
        ("test_predict_labels",),
    ),
    Variant(
        "vote_tie_largest_label",
        "a vote tie goes to the largest label",
        {"predict_labels": '''
def predict_labels(dists, y_train, k=1):
    y_pred = np.zeros(dists.shape[0], dtype=np.int64)
    for i in range(dists.shape[0]):
        counts = np.bincount(y_train[np.argsort(dists[i], kind="stable")[:k]])
        y_pred[i] = len(counts) - 1 - np.argmax(counts[::-1])
    return y_pred
'''},
        {"test_predict_labels": VOTE_ONE_PART_LOST},
        ("test_predict_labels",),
    ),
    Variant(
        "argsort_default_kind",
        "np.argsort without kind='stable': among equal distances the earlier training point "
        "does not always win",
        {"predict_labels": '''
def predict_labels(dists, y_train, k=1):
    y_pred = np.zeros(dists.shape[0], dtype=np.int64)
    for i in range(dists.shape[0]):
        y_pred[i] = np.argmax(np.bincount(y_train[np.argsort(dists[i])[:k]]))
    return y_pred
'''},
        {"test_predict_labels": VOTE_ONE_PART_LOST},
        ("test_predict_labels",),
    ),
    Variant(
        "argpartition_nearest",
        "vectorised vote with np.argpartition: the k nearest, but ties at equal distance are "
        "resolved arbitrarily",
        {"predict_labels": '''
def predict_labels(dists, y_train, k=1):
    nearest = np.argpartition(dists, k - 1, axis=1)[:, :k] if k < dists.shape[1] else \\
        np.argsort(dists, axis=1)
    votes = y_train[nearest]
    y_pred = np.zeros(dists.shape[0], dtype=np.int64)
    for i in range(dists.shape[0]):
        y_pred[i] = np.bincount(votes[i]).argmax()
    return y_pred
'''},
        {"test_predict_labels": VOTE_ONE_PART_LOST},
        ("test_predict_labels",),
    ),
    Variant(
        "labels_float_dtype",
        "right labels in a float array (np.zeros without dtype)",
        {"predict_labels": '''
def predict_labels(dists, y_train, k=1):
    y_pred = np.zeros(dists.shape[0])
    for i in range(dists.shape[0]):
        y_pred[i] = np.argmax(np.bincount(y_train[np.argsort(dists[i], kind="stable")[:k]]))
    return y_pred
'''},
        {"test_predict_labels": VOTE_ONE_PART_LOST},
        ("test_predict_labels",),
    ),
    # ----------------------------------------------------------------- the classifier
    Variant(
        "classifier_ignores_k",
        "predict always votes with k=1; a class-based cross_validate next to it is graded "
        "given this classifier and keeps full marks",
        {"KNearestNeighbor": _classifier('''
        if num_loops == 0:
            dists = compute_distances_no_loops(self.X_train, X)
        elif num_loops == 1:
            dists = compute_distances_one_loop(self.X_train, X)
        elif num_loops == 2:
            dists = compute_distances_two_loops(self.X_train, X)
        else:
            raise ValueError(f"Invalid value {num_loops} for num_loops (use 0, 1 or 2)")
        return predict_labels(dists, self.y_train)
'''), "cross_validate": _CLASS_BASED_CROSS_VALIDATE},
        {"test_knn_classifier": 2 * 1 / 5},
        ("test_KNearestNeighbor",),
    ),
    Variant(
        "classifier_accepts_any_num_loops",
        "an unknown num_loops silently falls back to the no-loop version instead of raising "
        "ValueError",
        {"KNearestNeighbor": _classifier('''
        if num_loops == 2:
            dists = compute_distances_two_loops(self.X_train, X)
        elif num_loops == 1:
            dists = compute_distances_one_loop(self.X_train, X)
        else:
            dists = compute_distances_no_loops(self.X_train, X)
        return predict_labels(dists, self.y_train, k=k)
''')},
        {"test_knn_classifier": CLASSIFIER_ONE_PART_LOST},
        ("test_KNearestNeighbor",),
    ),
    # ----------------------------------------------------------------- cross-validation
    Variant(
        "class_based_cross_validate_next_to_wrong_vote",
        "a correct class-based cross_validate next to a predict_labels that breaks ties "
        "wrongly: only predict_labels loses points",
        {"predict_labels": _COUNTER_VOTE, "cross_validate": _CLASS_BASED_CROSS_VALIDATE},
        {"test_predict_labels": VOTE_ONE_PART_LOST},
        ("test_predict_labels",),
    ),
    Variant(
        "cross_validate_next_to_clampless_distances",
        "a correct function-based cross_validate next to a no-loop distance without the clamp "
        "(NaN for the duplicated points): only the distance function loses points",
        {"compute_distances_no_loops": _CLAMPLESS_NO_LOOPS, "cross_validate": _cross_validate(
            _SPLIT_FOLDS)},
        {"test_compute_distances_no_loops": NO_LOOPS_ONE_PART_LOST},
        ("test_compute_distances_no_loops",),
    ),
    Variant(
        "folds_strided",
        "folds taken as X[i::num_folds] instead of np.array_split order: the accuracies on "
        "random data are for other folds (the two small fixed cases happen to agree)",
        {"cross_validate": _cross_validate("""    X_folds = [X[i::num_folds] for i in range(num_folds)]
    y_folds = [y[i::num_folds] for i in range(num_folds)]""")},
        {"test_cross_validate": 3 * 2 / 5},
        ("test_cross_validate",),
    ),
    Variant(
        "folds_drop_the_remainder",
        "np.split on the first N - N % num_folds points: right when N divides evenly, wrong "
        "for uneven folds",
        {"cross_validate": _cross_validate("""    usable = len(X) - len(X) % num_folds
    X_folds = np.split(X[:usable], num_folds)
    y_folds = np.split(y[:usable], num_folds)""")},
        {"test_cross_validate": CROSS_VALIDATE_ONE_PART_LOST},
        ("test_cross_validate",),
    ),
    Variant(
        "cross_validate_own_vote_first_seen",
        "cross_validate votes by itself with Counter (ties to the first seen label) instead "
        "of calling predict_labels",
        {"cross_validate": _cross_validate(_SPLIT_FOLDS, """        from collections import Counter
        dists = compute_distances_no_loops(X_tr, X_folds[i])
        order = np.argsort(dists, axis=1, kind="stable")
        for k in k_choices:
            y_pred = np.array([Counter(y_tr[row[:k]].tolist()).most_common(1)[0][0]
                               for row in order])
            accuracies[k].append(float(np.mean(y_pred == y_folds[i])))""")},
        {"test_cross_validate": CROSS_VALIDATE_ONE_PART_LOST},
    ),
    Variant(
        "cross_validate_own_distances_without_clamp",
        "cross_validate computes its own distances without the clamp: NaN for duplicated "
        "points changes the neighbours",
        {"cross_validate": _cross_validate(_SPLIT_FOLDS, """        squared = (np.sum(X_folds[i] ** 2, axis=1)[:, None] + np.sum(X_tr ** 2, axis=1)
                   - 2 * X_folds[i] @ X_tr.T)
        dists = np.sqrt(squared)
        for k in k_choices:
            y_pred = predict_labels(dists, y_tr, k=k)
            accuracies[k].append(float(np.mean(y_pred == y_folds[i])))""")},
        {"test_cross_validate": CROSS_VALIDATE_ONE_PART_LOST},
    ),
    Variant(
        "cross_validate_centres_inputs_in_place",
        "centres X in place (X -= X.mean(axis=0)) before splitting: same accuracies, but the "
        "caller's array is modified",
        {"cross_validate": _cross_validate(_SPLIT_FOLDS, header="""    X -= X.mean(axis=0)
""")},
        {"test_cross_validate": CROSS_VALIDATE_ONE_PART_LOST},
        ("test_cross_validate",),
    ),
]
