"""Realistic 03_linear_classifiers mistakes and the exact score each must get (see
tests/variants/__init__.py).

Points per test (parts): numerical_gradient 2 (6 parts: 2 random functions, centred with
h = 0.1, a 3-D x, a single entry, inputs unchanged); each loss 3 (naive 6 parts: 2 random
problems, a class absent from y, N = 1, ties or scores of size 1e4, inputs unchanged;
vectorized 7: the same plus no Python loops); LinearClassifier 4 (7 parts: LinearSVM and
Softmax recipes, batch_size > N, labels 0/1/3 with batches of one, a second call, predict,
inputs unchanged). Rule parts pay only once a random problem is right.

Each variant is the solution's cell with one mistake written in (``_edit`` checks that the
text it replaces is there, so a change to the solution breaks loudly here).
"""

from __future__ import annotations

from variants import Variant, edited_cell, part_score

ASSIGNMENT = "03_linear_classifiers"


def _edit(grade_id: str, *pairs: tuple[str, str]) -> dict[str, str]:
    """{grade_id: the solution cell with each (old, new) replaced once}."""
    return {grade_id: edited_cell(ASSIGNMENT, grade_id, *pairs)}

NUMGRAD, NAIVE, VECTORIZED, CLASSIFIER = 6, 6, 7, 7




_COPY = "    x = np.array(x, dtype=np.float64)  # a copy: the caller's x is never touched\n"
_SVM_REG = "    dW = dW / num_train + 2 * reg * W\n"
_SVM_VEC_REG = "    dW = X.T @ coefficients / num_train + 2 * reg * W"
_HELPER_LOOP = '''

def _correct_log_probabilities(log_probabilities, y):
    """Each row's log-probability of its correct class, one row at a time."""
    return np.array([row[label] for row, label in zip(log_probabilities, y)])
'''

VARIANTS: list[Variant] = [
    Variant(
        name="numgrad_changes_x_in_place",
        description="numerical_gradient perturbs the caller's x in place and restores it (the "
                    "CS231n way), which the text forbids: right values, the read-only call "
                    "fails",
        replace=_edit("numerical_gradient", (_COPY, "")),
        scores={"test_numerical_gradient": part_score(2, NUMGRAD, 1)},
        selfcheck_fails=("test_numerical_gradient",),
    ),
    Variant(
        name="numgrad_forward_difference",
        description="the one-sided difference (f(x + h) - f(x)) / h of the slides: an error of "
                    "order h on every input",
        replace=_edit("numerical_gradient",
                      ("grad[ix] = (f_plus - f_minus) / (2 * h)",
                       "grad[ix] = (f_plus - f(x)) / h")),
        scores={"test_numerical_gradient": 0.0},
        selfcheck_fails=("test_numerical_gradient",),
    ),
    Variant(
        name="numgrad_ignores_h",
        description="a hard-coded step 1e-5 instead of the argument h: right for the default, "
                    "wrong for h = 0.1",
        replace=_edit("numerical_gradient",
                      ("x[ix] = old + h", "x[ix] = old + 1e-5"),
                      ("x[ix] = old - h", "x[ix] = old - 1e-5"),
                      ("(f_plus - f_minus) / (2 * h)", "(f_plus - f_minus) / 2e-5")),
        scores={"test_numerical_gradient": part_score(2, NUMGRAD, 1)},
        selfcheck_fails=("test_numerical_gradient",),
    ),
    Variant(
        name="svm_naive_reg_gradient_without_2",
        description="the regularization gradient reg * W instead of 2 reg W: right only where "
                    "reg = 0 (the ties part)",
        replace=_edit("svm_loss_naive", (_SVM_REG, "    dW = dW / num_train + reg * W\n")),
        scores={"test_svm_loss_naive": part_score(3, NAIVE, 5)},
        selfcheck_fails=("test_svm_loss_naive",),
    ),
    Variant(
        name="svm_naive_counts_ties",
        description="margin >= 0 counts a margin of exactly 0: right except on ties",
        replace=_edit("svm_loss_naive", ("if margin > 0:", "if margin >= 0:")),
        scores={"test_svm_loss_naive": part_score(3, NAIVE, 1)},
        selfcheck_fails=("test_svm_loss_naive",),
    ),
    Variant(
        name="svm_vectorized_counts_ties",
        description="margins >= 0 in the vectorized loss also counts the correct class, whose "
                    "margin was set to 0: wrong on every input",
        replace=_edit("svm_loss_vectorized",
                      ("positive = margins > 0", "positive = margins >= 0")),
        scores={"test_svm_loss_vectorized": 0.0},
        selfcheck_fails=("test_svm_loss_vectorized",),
    ),
    Variant(
        name="svm_vectorized_counts_the_correct_class",
        description="the correct class's margin (always 1) is not zeroed: every example adds 1 "
                    "to the loss, wrong on every input",
        replace=_edit("svm_loss_vectorized", ("    margins[rows, y] = 0.0\n", "")),
        scores={"test_svm_loss_vectorized": 0.0},
        selfcheck_fails=("test_svm_loss_vectorized",),
    ),
    Variant(
        name="svm_vectorized_calls_the_naive_loss",
        description="svm_loss_vectorized returns svm_loss_naive(...): right values, but the "
                    "loops of the helper count",
        replace=_edit("svm_loss_vectorized",
                      ("    num_train = X.shape[0]\n",
                       "    return svm_loss_naive(W, X, y, reg)\n    num_train = X.shape[0]\n")),
        scores={"test_svm_loss_vectorized": part_score(3, VECTORIZED, 1)},
        selfcheck_fails=("test_svm_loss_vectorized",),
    ),
    Variant(
        name="softmax_naive_unstable",
        description="no subtraction of the maximum score: exp overflows for scores of size 1e4",
        replace=_edit("softmax_loss_naive",
                      ("shifted = scores - np.max(scores)", "shifted = scores")),
        scores={"test_softmax_loss_naive": part_score(3, NAIVE, 1)},
        selfcheck_fails=("test_softmax_loss_naive",),
    ),
    Variant(
        name="softmax_naive_probability_as_loss",
        description="the slide's erratum: the probability of the correct class as the loss, "
                    "without -log",
        replace=_edit("softmax_loss_naive",
                      ("loss += log_norm - shifted[y[i]]",
                       "loss += np.exp(shifted[y[i]] - log_norm)")),
        scores={"test_softmax_loss_naive": 0.0},
        selfcheck_fails=("test_softmax_loss_naive",),
    ),
    Variant(
        name="softmax_vectorized_loop_in_a_helper",
        description="softmax_loss_vectorized picks the correct log-probabilities with a helper "
                    "that loops over the rows: right values, the no-loop rule fails",
        replace={"softmax_loss_vectorized": _edit(
            "softmax_loss_vectorized",
            ("-np.mean(log_probabilities[rows, y])",
             "-np.mean(_correct_log_probabilities(log_probabilities, y))"),
        )["softmax_loss_vectorized"] + _HELPER_LOOP},
        scores={"test_softmax_loss_vectorized": part_score(3, VECTORIZED, 1)},
        selfcheck_fails=("test_softmax_loss_vectorized",),
    ),
    Variant(
        name="train_without_replacement",
        description="minibatches drawn without replacement, which the recipe forbids: the "
                    "loss histories differ and batch_size > N raises; predict keeps its part, "
                    "and so do batches of one example (the same draw either way)",
        replace=_edit("LinearClassifier", ("rng.choice(num_train, batch_size, replace=True)",
                                           "rng.choice(num_train, batch_size, replace=False)")),
        scores={"test_linear_classifier": part_score(4, CLASSIFIER, 5)},
        selfcheck_fails=("test_LinearClassifier",),
    ),
    Variant(
        name="train_classes_from_unique_labels",
        description="C = len(np.unique(y)) instead of max(y) + 1: labels that skip a class "
                    "index past the last column",
        replace=_edit("LinearClassifier",
                      ("num_classes = int(np.max(y)) + 1", "num_classes = len(np.unique(y))")),
        scores={"test_linear_classifier": part_score(4, CLASSIFIER, 1)},
        selfcheck_fails=("test_LinearClassifier",),
    ),
    Variant(
        name="train_resets_the_weights",
        description="train draws new weights on every call, so a second call starts over",
        replace=_edit("LinearClassifier", ("if self.W is None:", "if True:")),
        scores={"test_linear_classifier": part_score(4, CLASSIFIER, 1)},
        selfcheck_fails=("test_LinearClassifier",),
    ),
    Variant(
        name="predict_returns_floats",
        description="predict returns the labels as floats: right values, wrong dtype",
        replace=_edit("LinearClassifier",
                      ("return np.argmax(X @ self.W, axis=1)",
                       "return np.argmax(X @ self.W, axis=1).astype(float)")),
        scores={"test_linear_classifier": part_score(4, CLASSIFIER, 1)},
        selfcheck_fails=("test_LinearClassifier",),
    ),
    Variant(
        name="correct_train_next_to_a_wrong_svm_loss",
        description="svm_loss_vectorized forgets the factor 2 of the regularization gradient; "
                    "LinearSVM.train calls it and is otherwise right: train keeps full marks, "
                    "the loss loses (it is right only where reg = 0)",
        replace=_edit("svm_loss_vectorized",
                      (_SVM_VEC_REG, "    dW = X.T @ coefficients / num_train + reg * W")),
        scores={"test_svm_loss_vectorized": part_score(3, VECTORIZED, 6)},
        selfcheck_fails=("test_svm_loss_vectorized",),
    ),
]
