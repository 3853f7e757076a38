"""Similarity of submissions' graded code, for instructors: a signal to look, never a grade.

    prints = {sid: fingerprints(cells, reserved) for sid, cells in graded_cells.items()}
    report = compare(prints, fingerprints(scaffold_cells, reserved, every=True))
    report.pairs    # ranked Pair(student_a, student_b, similarity, shared, shared_functions)

Method (token fingerprints of normalised syntax trees, winnowed as MOSS does):
1. Each graded cell is parsed with ``ast`` (never executed). Docstrings and bare string
   statements go; comments and formatting never reach the tree. Every top-level function
   and method is one *unit*; top-level statements form the unit ``<module>``.
2. A unit becomes a token sequence: the syntax tree in pre-order (node kinds). Names the
   student chooses (arguments, local variables, ``self.`` attributes, helper functions of
   their own, module-level constants) all become one token, so renaming changes nothing; names the exercise fixes
   (the graded functions and classes), library calls (``np.argsort``), builtins, keyword
   names and numbers stay, so different APIs give different tokens. Strings become one token.
   Statements of a block are sorted by their own tokens, so reordering statements changes
   nothing either.
3. Fingerprints: hashes of every ``K``-token window; winnowing keeps the smallest hash of
   each ``W`` consecutive windows (a shared run of at least ``K + W - 1`` tokens is always
   seen). At most ``MAX_FINGERPRINTS`` per submission and ``MAX_NODES`` syntax-tree nodes
   are used.
4. Every k-gram of the generated exercise's graded cells (the scaffold every student
   starts from) is removed, and so are fingerprints held by more than
   ``common_limit(n)`` submissions (idioms nearly everyone writes; MOSS's ``-m``).
5. An inverted index (fingerprint -> submissions) counts shared fingerprints per pair:
   the cost is the sum over fingerprints of (holders^2), bounded by
   total fingerprints x ``common_limit(n)``, never all pairs of full comparisons.
   ``similarity = |A & B| / |A | B|`` (Jaccard) over the remaining fingerprints, 0 when
   either side has fewer than ``MIN_FINGERPRINTS``.

Pairs at or above ``THRESHOLD`` are flagged; the report also lists the top ``top`` pairs
whatever their score. Student text appears only through ``safe_text`` (HTML, CSV).
"""

from __future__ import annotations

import ast
import csv
import io
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field

from autograder.extract import GradedCell, without_magics
from autograder.safe_text import for_csv, for_html

K = 12                      # tokens per fingerprinted window
W = 4                       # winnowing window (in k-grams)
THRESHOLD = 0.4             # flagged at or above this similarity (see the guide)
TOP = 20                    # pairs listed whatever their score
MIN_FINGERPRINTS = 8        # smaller (non-scaffold) code is never scored
MAX_NODES = 200_000         # syntax-tree nodes per submission
MAX_FINGERPRINTS = 20_000   # per submission
COMMON_FLOOR = 10           # a fingerprint held by more than max(10, 10 % of the class)
COMMON_FRACTION = 0.10      # submissions is ignored (MOSS's -m)
OWN = "·id"                 # the token for every name the student chooses
_ERRORS = (SyntaxError, ValueError, RecursionError, MemoryError, OverflowError, TypeError)


@dataclass
class Fingerprints:
    """One submission's fingerprints: hash -> the unit (function) it was first seen in."""

    units: dict[int, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Pair:
    """Two submissions and how alike their graded code is (0..1)."""

    student_a: str
    student_b: str
    similarity: float
    shared: int
    shared_functions: tuple[str, ...]
    flagged: bool


@dataclass
class Report:
    """The ranked pairs, what was not compared, and the settings used."""

    pairs: list[Pair]
    compared: int
    not_compared: dict[str, str]
    threshold: float
    top: int
    common_limit: int
    pair_updates: int = 0

    def csv(self) -> str:
        """similarity.csv: student_a, student_b, similarity, shared_fingerprints,
        shared_functions, flagged (every cell safe for a spreadsheet)."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(["student_a", "student_b", "similarity", "shared_fingerprints",
                         "shared_functions", "flagged"])
        for p in self.pairs:
            writer.writerow([for_csv(c) for c in (p.student_a, p.student_b,
                                                  f"{p.similarity:.3f}", p.shared,
                                                  "; ".join(p.shared_functions),
                                                  "yes" if p.flagged else "no")])
        return buffer.getvalue()

    def html_section(self) -> str:
        """An HTML section for summary.html (every student string escaped)."""
        flagged = sum(p.flagged for p in self.pairs)
        rows = "".join(
            f"<tr><td>{for_html(p.student_a)}</td><td>{for_html(p.student_b)}</td>"
            f"<td>{p.similarity:.2f}{' &#9873;' if p.flagged else ''}</td>"
            f"<td>{for_html(', '.join(p.shared_functions)) or '&ndash;'}</td></tr>"
            for p in self.pairs)
        skipped = ""
        if self.not_compared:
            items = "".join(f"<li>{for_html(s)}: {for_html(why)}</li>"
                            for s, why in sorted(self.not_compared.items())[:50])
            skipped = (f"<p>{len(self.not_compared)} submission(s) not compared:</p>"
                       f"<ul>{items}</ul>")
        return ("<h2>Similar submissions</h2><p>A signal to look, never a grade: pairs whose "
                "graded code is alike after names, comments, formatting and statement order "
                "are normalised away, and the exercise's given code is removed. "
                f"{self.compared} submissions compared; {flagged} pair(s) at or above "
                f"{self.threshold:.2f} (&#9873;), then the top {self.top} whatever their score. "
                f"Code fragments held by more than {self.common_limit} submissions are "
                "ignored.</p>"
                "<table><tr><th>student</th><th>student</th><th>similarity</th>"
                f"<th>functions alike</th></tr>{rows}</table>{skipped}")


# ------------------------------------------------------------------ normalisation


def _is_docstring(node: ast.AST) -> bool:
    return (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant)
            and isinstance(node.value.value, str))


def _own_names(function: ast.AST) -> set[str]:
    """Names bound inside a function: arguments, assigned, loop and import names."""
    names = set()
    for node in ast.walk(function):
        if isinstance(node, ast.arg):
            names.add(node.arg)
        elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
            names.add(node.id)
        elif isinstance(node, ast.alias):
            names.add(node.asname or node.name.split(".")[0])
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef) \
                and node is not function:
            names.add(node.name)
    return names


class _Tokens:
    """Pre-order tokens of a unit with the student's own names replaced by ``OWN``."""

    def __init__(self, own: set[str], budget: list[int]):
        self.own = own
        self.budget = budget

    def of(self, node: ast.AST) -> list[str]:
        self.budget[0] -= 1
        if self.budget[0] < 0:
            raise MemoryError("token budget")
        out = [type(node).__name__]
        if isinstance(node, ast.Name):
            out.append(OWN if node.id in self.own else node.id)
            return out
        if isinstance(node, ast.Attribute):
            base = node.value
            own_attr = isinstance(base, ast.Name) and base.id == "self"
            out.append(OWN if own_attr else node.attr)
        elif isinstance(node, ast.keyword):
            out.append(str(node.arg))
        elif isinstance(node, ast.Constant):
            value = node.value
            if isinstance(value, str | bytes):
                out.append("str")
            elif isinstance(value, bool) or value is None or value is Ellipsis:
                out.append(repr(value))
            elif isinstance(value, int | float):
                out.append(repr(float(value)) if abs(value) < 1e300 else "big")
            else:
                out.append(type(value).__name__)
            return out
        elif isinstance(node, ast.JoinedStr):
            return ["str"]
        for name, value in ast.iter_fields(node):
            if name in ("ctx", "type_comment", "name", "arg", "attr", "id"):
                continue
            if isinstance(value, list):
                items = [v for v in value if isinstance(v, ast.AST) and not _is_docstring(v)]
                parts = [self.of(v) for v in items]
                if items and all(isinstance(v, ast.stmt) for v in items):
                    parts.sort(key=" ".join)  # independent statement order does not count
                for part in parts:
                    out.extend(part)
            elif isinstance(value, ast.AST):
                out.extend(self.of(value))
        return out


def _units(tree: ast.Module, reserved: set[str]) -> list[tuple[str, ast.AST, set[str]]]:
    """(unit name, node, names the student chose) for each function, method and the module."""
    helpers = {n.name for n in tree.body
               if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
               and n.name not in reserved}
    helpers |= {target.id for n in tree.body if isinstance(n, ast.Assign | ast.AnnAssign)
                for node in (n.targets if isinstance(n, ast.Assign) else [n.target])
                for target in ast.walk(node)
                if isinstance(target, ast.Name) and target.id not in reserved}
    units, module_level = [], []
    for node in tree.body:
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            units.append((node.name, node, _own_names(node) | helpers))
        elif isinstance(node, ast.ClassDef):
            for sub in node.body:
                if isinstance(sub, ast.FunctionDef | ast.AsyncFunctionDef):
                    units.append((f"{node.name}.{sub.name}", sub, _own_names(sub) | helpers))
        elif not _is_docstring(node):
            module_level.append(node)
    if module_level:
        module = ast.Module(body=module_level, type_ignores=[])
        names = set().union(*(_own_names(n) for n in module_level))
        units.append(("<module>", module, names | helpers))
    return units


def _token_id(token: str) -> int:
    return zlib.crc32(token.encode("utf-8", "surrogatepass"))


def winnow(ids: list[int], k: int = K, w: int = W) -> list[int]:
    """Winnowed fingerprints of a token-id sequence: per window of ``w`` consecutive k-gram
    hashes, the smallest (rightmost on ties); ``w == 1`` keeps every k-gram. Sequences
    shorter than ``k`` give one hash."""
    if not ids:
        return []
    grams = [hash(tuple(ids[i:i + k])) for i in range(max(1, len(ids) - k + 1))]
    if w == 1:
        return grams
    if len(grams) <= w:
        return [min(grams)]
    picked, last = [], -1
    for start in range(len(grams) - w + 1):
        window = grams[start:start + w]
        low = min(window)
        position = start + max(i for i, h in enumerate(window) if h == low)
        if position != last:
            picked.append(grams[position])
            last = position
    return picked


def fingerprints(cells: list[GradedCell], reserved: set[str], every: bool = False
                 ) -> Fingerprints:
    """The fingerprints of graded cells' source (parsed, never executed; bounded work).

    Inputs: the cells; ``reserved``: names the exercise fixes (graded functions, classes);
    ``every``: keep every k-gram, not only the winnowed ones (for the scaffold, so that a
    k-gram of given code a submission happens to select is removed too).
    Returns Fingerprints (hash -> unit name), at most MAX_FINGERPRINTS; cells that do not
    parse or exceed MAX_NODES are skipped with a note.
    """
    result = Fingerprints()
    budget = [MAX_NODES]
    for cell in cells:
        try:
            tree = ast.parse(without_magics(cell.source))
            units = [(name, _Tokens(own, budget).of(node))
                     for name, node, own in _units(tree, reserved)]
        except _ERRORS as error:
            what = "is too large" if isinstance(error, MemoryError | RecursionError) \
                else "does not parse"
            result.notes.append(f"graded cell '{cell.grade_id or cell.cell_id}' {what}")
            continue
        for name, tokens in units:
            for h in winnow([_token_id(t) for t in tokens], w=1 if every else W):
                if len(result.units) >= MAX_FINGERPRINTS:
                    result.notes.append(f"only the first {MAX_FINGERPRINTS} fingerprints "
                                        "were used")
                    return result
                result.units.setdefault(h, name)
    return result


# ------------------------------------------------------------------ comparison


def common_limit(n: int) -> int:
    """A fingerprint held by more than this many of ``n`` submissions is ignored."""
    return max(COMMON_FLOOR, int(COMMON_FRACTION * n))


def _shared_functions(a: Fingerprints, b: Fingerprints, kept_a: set[int],
                      shared: set[int]) -> tuple[str, ...]:
    """Units of ``a`` at least half of whose counted fingerprints ``b`` shares (with b's
    name if different), most shared first."""
    total = Counter(a.units[h] for h in kept_a)
    hits = Counter(a.units[h] for h in shared)
    named = []
    for unit, count in hits.most_common():
        if count * 2 >= total[unit] and count >= 2:
            other = Counter(b.units[h] for h in shared if a.units[h] == unit).most_common(1)
            partner = other[0][0] if other else unit
            named.append(unit if partner == unit else f"{unit} ~ {partner}")
    return tuple(named)


def compare(prints: dict[str, Fingerprints], scaffold: Fingerprints,
            not_compared: dict[str, str] | None = None, threshold: float = THRESHOLD,
            top: int = TOP, common: int | None = None) -> Report:
    """Rank pairs of submissions by similarity.

    Inputs: fingerprints per student id; the scaffold's fingerprints (removed from every
    submission); students that could not be read (id -> reason); the flag threshold; how
    many pairs to list whatever their score; ``common``: ignore fingerprints held by more
    submissions than this (default ``common_limit(n)``).
    Returns a Report: pairs at or above ``threshold`` and the ``top`` best, ranked by
    similarity (then ids). Cost: one pass over the fingerprints plus one counter update per
    pair of holders of each fingerprint held by at most ``common_limit(n)`` submissions.
    """
    ids = sorted(prints)
    limit = common_limit(len(ids)) if common is None else max(2, common)
    index: dict[int, list[int]] = defaultdict(list)
    for number, student in enumerate(ids):
        for h in prints[student].units:
            if h not in scaffold.units:
                index[h].append(number)
    kept: dict[int, set[int]] = {number: set() for number in range(len(ids))}
    counts: Counter = Counter()
    updates = 0
    for h, holders in index.items():
        if len(holders) > limit:
            continue
        for number in holders:
            kept[number].add(h)
        for i, first in enumerate(holders):
            for second in holders[i + 1:]:
                counts[first, second] += 1
        updates += len(holders) * (len(holders) - 1) // 2
    scored = []
    for (first, second), shared in counts.items():
        size_a, size_b = len(kept[first]), len(kept[second])
        if min(size_a, size_b) < MIN_FINGERPRINTS:
            continue
        scored.append((shared / (size_a + size_b - shared), shared, first, second))
    scored.sort(key=lambda s: (-s[0], ids[s[2]], ids[s[3]]))
    pairs = []
    for rank, (score, shared, first, second) in enumerate(scored):
        if rank >= top and score < threshold:
            break
        a, b = prints[ids[first]], prints[ids[second]]
        common = kept[first] & kept[second]
        pairs.append(Pair(ids[first], ids[second], round(score, 4), shared,
                          _shared_functions(a, b, kept[first], common), score >= threshold))
    return Report(pairs=pairs, compared=len(ids), not_compared=dict(not_compared or {}),
                  threshold=threshold, top=top, common_limit=limit, pair_updates=updates)
