"""Helpers for the grader's own tests and benchmark: craft submissions from an example.

    raw = craft(CORRECT_EXAMPLE, replace={"predict_labels": "def predict_labels(...): ..."})
"""

from __future__ import annotations

import copy
import json
from pathlib import Path

EXAMPLES = Path(__file__).resolve().parents[2] / "autograder" / "examples" / "submitted"
CORRECT_EXAMPLE = EXAMPLES / "correct_student" / "01_knn" / "01_knn.ipynb"
PARTLY_WRONG_EXAMPLE = EXAMPLES / "partly_wrong_student" / "01_knn" / "01_knn.ipynb"
UNTOUCHED_EXAMPLE = EXAMPLES / "untouched_release" / "01_knn" / "01_knn.ipynb"


def craft(base: Path, replace: dict[str, str] | None = None, drop: set[str] = frozenset(),
          strip_metadata: bool = False, rename: dict[str, str] | None = None) -> bytes:
    """Notebook bytes: ``base`` with graded cells replaced (by grade_id), dropped, stripped
    of nbgrader metadata, or with text renamed inside the solution cells."""
    nb = json.loads(Path(base).read_text(encoding="utf-8"))
    cells = []
    for cell in nb["cells"]:
        meta = cell.get("metadata", {}).get("nbgrader", {})
        grade_id = meta.get("grade_id")
        if cell["cell_type"] == "code" and meta.get("solution"):
            if grade_id in drop:
                continue
            cell = copy.deepcopy(cell)
            if replace and grade_id in replace:
                cell["source"] = replace[grade_id]
            for old, new in (rename or {}).items():
                source = "".join(cell["source"]) if isinstance(cell["source"], list) \
                    else cell["source"]
                cell["source"] = source.replace(old, new)
            if strip_metadata:
                cell["metadata"] = {}
        cells.append(cell)
    nb["cells"] = cells
    return json.dumps(nb).encode("utf-8")
