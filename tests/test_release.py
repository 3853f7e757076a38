"""The student release (tools/build_release.py): only student files, no leaked solution, and it
installs and runs.

The leak test collects, from every solution notebook, the code between BEGIN/END SOLUTION, every
solution cell without those markers (whole cell, e.g. written answers) and the code between
BEGIN/END HIDDEN TESTS, removes all whitespace, and looks for each piece in every file of a
freshly built release (notebooks are searched in their decoded cell text and in their raw JSON).

The install test creates a fresh venv whose only extra path is the course venv's site-packages
(one plain path line in a .pth file: no editable finder of the course repository comes along),
installs the release with ``pip install --no-deps --no-index --no-build-isolation`` (a real,
non-editable install of ``utils`` from the release's pyproject; offline), and runs the release's
notebooks with that interpreter: lectures and the course map clean, exercises failing only with
NotImplementedError.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

import nbformat
import pytest
from conftest import ROOT, solution_notebooks
from helpers.loading import module_from_file

build_release = module_from_file(ROOT / "tools" / "build_release.py")

WHITESPACE = re.compile(r"\s+")
REGIONS = {"solution": ("BEGIN SOLUTION", "END SOLUTION"),
           "hidden test": ("BEGIN HIDDEN TESTS", "END HIDDEN TESTS")}
INSTRUCTOR_ONLY = ["solutions", "autograder", "tools", "tests", "benchmarks", "nbgrader_config.py",
                   "gradebook.db", "course.py", "requirements-dev.txt", ".ci", "submitted",
                   "autograded", "feedback", "grading_output"]
ALLOWED_TOP_LEVEL = {"README.md", "course_map.ipynb", "lectures", "exercises", "utils",
                     "pyproject.toml", "requirements.txt", "runtime.txt", "postBuild",
                     build_release.MARKER}
EXERCISE_ERRORS = {"NotImplementedError", "NotImplementedYet"}


@dataclass(frozen=True)
class Secret:
    """A piece of instructor-only text: where it comes from and its whitespace-free form."""

    origin: str
    text: str


def _normalise(text: str) -> str:
    return WHITESPACE.sub("", text)


def _marked_regions(source: str, begin: str, end: str) -> list[str]:
    """The text between each line holding ``begin`` and the next line holding ``end``."""
    regions, inside, lines = [], False, []
    for line in source.splitlines():
        if begin in line:
            inside, lines = True, []
        elif end in line and inside:
            inside = False
            regions.append("\n".join(lines))
        elif inside:
            lines.append(line)
    return regions


def secrets_of(path: Path) -> list[Secret]:
    """Every solution region, marker-less solution cell and hidden test of a solution notebook."""
    nb = nbformat.read(path, as_version=4)
    found = []
    for index, cell in enumerate(nb.cells):
        meta = cell.metadata.get("nbgrader", {})
        origin = f"{path.relative_to(ROOT)} cell {index} ({meta.get('grade_id', 'no grade id')})"
        for kind, (begin, end) in REGIONS.items():
            for region in _marked_regions(cell.source, begin, end):
                found.append(Secret(f"{origin}: {kind}", _normalise(region)))
        if meta.get("solution") and "BEGIN SOLUTION" not in cell.source:
            found.append(Secret(f"{origin}: whole solution cell", _normalise(cell.source)))
    return [s for s in found if s.text]


def searchable_text(path: Path) -> str:
    """A file's text without whitespace; for notebooks the decoded cell sources are added."""
    raw = path.read_bytes().decode("utf-8", errors="replace")
    parts = [raw]
    if path.suffix == ".ipynb":
        nb = json.loads(raw)
        parts += ["".join(c["source"]) if isinstance(c["source"], list) else c["source"]
                  for c in nb.get("cells", [])]
    return _normalise("\n".join(parts))


def find_leaks(release: Path, secrets: list[Secret]) -> list[str]:
    """``file: origin`` for every secret found in any file below ``release``."""
    hits = []
    for path in sorted(p for p in release.rglob("*") if p.is_file()):
        text = searchable_text(path)
        hits += [f"{path.relative_to(release)}: {s.origin}" for s in secrets if s.text in text]
    return hits


def all_secrets() -> list[Secret]:
    return [s for path in solution_notebooks() for s in secrets_of(path)]


@pytest.fixture(scope="module")
def release(tmp_path_factory) -> Path:
    return build_release.build(tmp_path_factory.mktemp("release") / "student")


def test_release_holds_only_student_files(release):
    top = {p.name for p in release.iterdir()}
    assert top <= ALLOWED_TOP_LEVEL, f"unexpected files in the release: {top - ALLOWED_TOP_LEVEL}"
    for name in INSTRUCTOR_ONLY:
        assert not list(release.rglob(name)), f"{name} must not be in the student release"
    assert not list(release.rglob("*.db")) and not list(release.rglob("__pycache__"))
    assert {"README.md", "exercises", "utils", "pyproject.toml", "requirements.txt",
            "runtime.txt", "postBuild"} <= top
    for folder in sorted((ROOT / "exercises").iterdir()):
        if folder.is_dir():
            for file in folder.iterdir():
                assert (release / "exercises" / folder.name / file.name).read_bytes() == \
                    file.read_bytes(), f"exercises/{folder.name}/{file.name} not copied as is"
    for lecture in sorted(ROOT.glob("lectures/*.ipynb")):
        assert (release / "lectures" / lecture.name).exists(), f"{lecture.name} missing"
    if (ROOT / "course_map.ipynb").exists():
        assert (release / "course_map.ipynb").exists()
    assert (release / "utils" / "__init__.py").exists()
    assert os.access(release / "postBuild", os.X_OK), "postBuild must be executable for Binder"


def test_release_notebooks_do_not_link_to_instructor_files(release):
    link = re.compile(r"\]\((?:\.\./)*(solutions|autograder|tools|tests)/")
    for path in release.rglob("*.ipynb"):
        for cell in nbformat.read(path, as_version=4).cells:
            assert not link.search(cell.source), \
                f"{path.relative_to(release)} links to an instructor-only folder"


def test_there_are_secrets_to_look_for():
    secrets = all_secrets()
    assert solution_notebooks(), "no solution notebooks: nothing to protect"
    for path in solution_notebooks():
        kinds = {s.origin.rsplit(": ", 1)[1] for s in secrets_of(path)}
        assert {"solution", "hidden test"} <= kinds, f"{path}: found only {kinds}"
    assert all(len(s.text) >= 8 for s in secrets), \
        [s.origin for s in secrets if len(s.text) < 8]


def test_release_leaks_no_solution_and_no_hidden_test(release):
    leaks = find_leaks(release, all_secrets())
    assert not leaks, "instructor-only code found in the student release:\n" + "\n".join(leaks)


def test_leak_scanner_finds_a_planted_solution(release, tmp_path):
    """The scanner must see a solution that was re-indented and hidden in a notebook or module."""
    copy = tmp_path / "student"
    shutil.copytree(release, copy)
    secrets = all_secrets()
    planted = next(s for s in secrets if s.origin.endswith(": solution"))
    hidden = next(s for s in secrets if s.origin.endswith(": hidden test"))
    source = _source_of(planted)
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "def helper():\n" + "\n".join("        " + line for line in source.splitlines()))])
    nbformat.write(nb, copy / "lectures_extra.ipynb")
    (copy / "utils" / "extra.py").write_text("# copied\n" + _source_of(hidden) + "\n")
    leaks = find_leaks(copy, secrets)
    assert any(hit.startswith("lectures_extra.ipynb") and planted.origin in hit for hit in leaks)
    assert any(hit.startswith("utils/extra.py") and hidden.origin in hit for hit in leaks)


def _source_of(secret: Secret) -> str:
    """The original (non-normalised) text of a secret, found again in its solution notebook."""
    for path in solution_notebooks():
        for cell in nbformat.read(path, as_version=4).cells:
            for begin, end in REGIONS.values():
                for region in _marked_regions(cell.source, begin, end):
                    if _normalise(region) == secret.text:
                        return region
    raise AssertionError(f"cannot find {secret.origin} again")


def test_release_requirements_are_the_course_runtime_requirements(release):
    from importlib.metadata import version

    from packaging.requirements import Requirement

    course = {line.strip() for line in (ROOT / "requirements.txt").read_text().splitlines()}
    for line in (release / "requirements.txt").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#") or line == "-e .":
            continue
        assert line in course, f"{line!r} is not in the course's requirements.txt"
        requirement = Requirement(line)
        installed = version(requirement.name)
        assert requirement.specifier.contains(installed, prereleases=True), \
            f"the tested {requirement.name} {installed} does not satisfy {line!r}"
    assert (release / "runtime.txt").read_text().strip() == "python-3.11"


def test_post_build_turns_off_instructor_extensions_only(release, tmp_path):
    """Runs the release's postBuild into a scratch config folder and reads what it wrote."""
    env = dict(os.environ, COURSE_JUPYTER_CONFIG_DIR=str(tmp_path),
               PATH=f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}")
    subprocess.run(["bash", str(release / "postBuild")], env=env, check=True,
                   capture_output=True, text=True)
    page = json.loads((tmp_path / "labconfig" / "page_config.json").read_text())
    server = json.loads((tmp_path / "jupyter_server_config.d" / "nbgrader_student.json")
                        .read_text())["ServerApp"]["jpserver_extensions"]
    assert set(page["disabledExtensions"]) == set(build_release.INSTRUCTOR_LAB_PLUGINS)
    assert server == dict.fromkeys(build_release.INSTRUCTOR_SERVER_EXTENSIONS, False)
    # The names must be the ones the installed nbgrader really registers.
    share = Path(sysconfig.get_path("data")) / "share" / "jupyter" / "labextensions"
    bundle = "\n".join(p.read_text(errors="replace")
                       for p in (share / "@jupyter" / "nbgrader" / "static").glob("*.js"))
    for plugin in build_release.INSTRUCTOR_LAB_PLUGINS + build_release.STUDENT_LAB_PLUGINS:
        assert f"'{plugin}'" in bundle or f'"{plugin}"' in bundle, f"{plugin} not in nbgrader"
    enabled = json.loads((Path(sysconfig.get_path("data")) / "etc" / "jupyter" /
                          "jupyter_server_config.d" / "nbgrader.json").read_text())
    registered = set(enabled["ServerApp"]["jpserver_extensions"])
    assert set(build_release.INSTRUCTOR_SERVER_EXTENSIONS) <= registered
    assert set(build_release.STUDENT_SERVER_EXTENSIONS) <= registered


def test_build_refuses_to_delete_a_folder_it_did_not_build(tmp_path):
    (tmp_path / "precious.txt").write_text("keep me")
    with pytest.raises(SystemExit, match="refusing"):
        build_release.build(tmp_path)
    assert (tmp_path / "precious.txt").read_text() == "keep me"


# ---------------------------------------------------------------- install and run (slow)

RUNNER = """
import json, sys, tempfile
from pathlib import Path
import nbformat
from jupyter_client.manager import KernelManager
from nbclient import NotebookClient
results = {}
for path in map(Path, sys.argv[1:]):
    nb = nbformat.read(path, as_version=4)
    with tempfile.TemporaryDirectory() as sockets:  # IPC: no TCP port races with other runs
        km = KernelManager(kernel_name="python3", transport="ipc",
                           connection_file=str(Path(sockets) / "kernel.json"))
        NotebookClient(nb, km=km, timeout=900, allow_errors=True,
                       resources={"metadata": {"path": str(path.parent)}}).execute()
    results[str(path)] = [[i, o["ename"], o["evalue"][:300]] for i, c in enumerate(nb.cells)
                          for o in c.get("outputs", []) if o.get("output_type") == "error"]
print(json.dumps(results))
"""


def make_offline_venv(where: Path) -> Path:
    """A fresh venv that sees the course venv's packages through one plain .pth path line.

    Returns its python. Nothing is downloaded; the course repository itself is not visible
    (the editable-install finder of ``.venv`` is not loaded, since .pth files of an added
    plain path are not processed).
    """
    import venv

    venv.EnvBuilder(with_pip=False, clear=True).create(where)
    python = where / "bin" / "python"
    site = subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                          capture_output=True, text=True, check=True).stdout.strip()
    (Path(site) / "course_venv_packages.pth").write_text(sysconfig.get_path("purelib") + "\n")
    return python


@pytest.mark.slow
def test_release_installs_in_a_fresh_venv_and_its_notebooks_run(release, tmp_path):
    python = make_offline_venv(tmp_path / "venv")
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    probe = subprocess.run([str(python), "-c", "import utils; print(utils.__file__)"],
                           cwd=outside, capture_output=True, text=True)
    assert probe.returncode != 0, f"utils importable before installing: {probe.stdout}"

    install = subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps",
         "--no-index", "--no-build-isolation", "--disable-pip-version-check", str(release)],
        capture_output=True, text=True)
    assert install.returncode == 0, install.stdout + install.stderr
    probe = subprocess.run([str(python), "-c", "import utils.selfchecks, utils.widgets; "
                            "print(utils.__file__)"], cwd=outside, capture_output=True, text=True)
    assert probe.returncode == 0, probe.stderr
    assert Path(probe.stdout.strip()).is_relative_to(tmp_path / "venv"), probe.stdout
    assert not Path(probe.stdout.strip()).is_relative_to(ROOT)
    autograder = subprocess.run([str(python), "-c", "import autograder"], cwd=outside,
                                capture_output=True, text=True)
    assert autograder.returncode != 0, "the autograder must not be importable from the release"

    lectures = sorted(release.glob("lectures/*.ipynb")) + sorted(release.glob("course_map.ipynb"))
    exercises = sorted(release.glob("exercises/*/*.ipynb"))
    env = {k: v for k, v in os.environ.items()
           if k not in {"PYTHONPATH", "VIRTUAL_ENV", "MPLBACKEND"}}
    env["PATH"] = f"{python.parent}{os.pathsep}{env['PATH']}"
    run = subprocess.run([str(python), "-c", RUNNER, *map(str, lectures + exercises)],
                         cwd=outside, env=env, capture_output=True, text=True, timeout=3600)
    assert run.returncode == 0, run.stderr[-3000:]
    results = json.loads(run.stdout.strip().splitlines()[-1])
    assert len(results) == len(lectures) + len(exercises) and \
        len(lectures) >= len(list(ROOT.glob("lectures/*.ipynb"))), sorted(results)
    problems = []
    for path in lectures:
        problems += [f"{path.relative_to(release)} {e}" for e in results[str(path)]]
    for path in exercises:
        errors = results[str(path)]
        if not errors:
            problems.append(f"{path.relative_to(release)}: no NotImplementedError at all")
        problems += [f"{path.relative_to(release)} {e}" for e in errors
                     if e[1] not in EXERCISE_ERRORS]
    assert not problems, "\n".join(problems)


def test_release_command_line_builds_into_the_given_folder(tmp_path):
    out = tmp_path / "student"
    result = subprocess.run([sys.executable, "-m", "tools.build_release", "--out", str(out)],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "student release written to" in result.stdout
    assert (out / build_release.MARKER).exists() and (out / "README.md").exists()
