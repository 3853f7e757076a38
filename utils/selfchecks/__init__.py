"""Per-assignment self-checks built on ``utils.checks`` (one module per assignment)."""
