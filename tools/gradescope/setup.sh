#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (Ubuntu).
#
# It installs what the grader needs and nothing more:
#   - Python 3.11 (from Ubuntu, or the deadsnakes PPA where Ubuntu has none) with venv;
#   - a virtual environment in $AUTOGRADER_ROOT/venv with the grader's pinned runtime
#     requirements (source/requirements.txt: numpy, pytest, tqdm, matplotlib);
#   - the course's own wheel (source/wheels/*.whl: the autograder and utils packages with this
#     assignment's hidden suite), installed without touching the package index.
#
# AUTOGRADER_ROOT (default /autograder) is the folder Gradescope lays out as
# source/ (the zip's contents), submission/ and results/; tests point it at a temporary copy.
set -euo pipefail
umask 022

ROOT="${AUTOGRADER_ROOT:-/autograder}"
SOURCE="$ROOT/source"
VENV="$ROOT/venv"

say() { echo "[setup.sh] $*"; }

python_ok() {  # a Python 3.11 that can create a venv with pip
    [ -n "$1" ] && "$1" -c 'import sys, ensurepip, venv; sys.exit(sys.version_info[:2] != (3, 11))' \
        >/dev/null 2>&1
}

PYTHON="$(command -v python3.11 || true)"
if ! python_ok "$PYTHON"; then
    say "installing Python 3.11 with apt-get ..."
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -y
    if ! apt-get install -y --no-install-recommends python3.11 python3.11-venv; then
        say "Ubuntu has no python3.11 here: adding the deadsnakes PPA ..."
        apt-get install -y --no-install-recommends software-properties-common gpg-agent
        add-apt-repository -y ppa:deadsnakes/ppa
        apt-get update -y
        apt-get install -y --no-install-recommends python3.11 python3.11-venv
    fi
    PYTHON="$(command -v python3.11)"
    python_ok "$PYTHON" || { say "python3.11 cannot create a venv"; exit 1; }
fi

say "creating $VENV with $PYTHON ($("$PYTHON" --version))"
"$PYTHON" -m venv --clear "$VENV"
PIP=("$VENV/bin/python" -m pip --disable-pip-version-check --no-input)
"${PIP[@]}" install -q -r "$SOURCE/requirements.txt"
"${PIP[@]}" install -q --no-deps --no-index "$SOURCE"/wheels/*.whl

# Where namespaces are refused (Docker) the sandboxed child runs under a uid of its own with
# the host's files in view: the venv stays readable for it, the hidden suite does not.
chmod go+rx "$ROOT" "$VENV"
SUITES="$("$VENV/bin/python" -c 'import autograder, pathlib; print(pathlib.Path(autograder.__file__).parent / "suites")')"
chmod -R go-rwx "$SUITES" "$SOURCE"

"$VENV/bin/python" -c 'import autograder.cli, utils.rules, numpy, pytest, tqdm, matplotlib'
say "done: the grader is installed in $VENV"
