"""The house rules: no import circle, registry never imports hub_client, no module shadows a package, modules
stay small. Read from the source, so a change that breaks a rule fails here before anyone notices."""

from __future__ import annotations

import ast
import importlib.metadata
import sys

from helpers import ROOT
from helpers.imports import cycles, folder_graph, graph, modules

from registry.about import DISTRIBUTION

PACKAGES = ("registry", "hub_client", "hub_server")
#: Top-level names of this project: its packages, the benchmarks, the tests' helpers and servers.
PROJECT_TOPS = {"registry", "hub_client", "hub_server", "bench", "helpers", "servers"}
SOURCE_DIRS = ("registry", "hub_client", "hub_server", "bench", "scripts", "training", "tests/support")


def test_no_import_circle_anywhere():
    assert cycles(graph(ROOT, PACKAGES)) == []


def test_no_import_circle_between_folders():
    """A folder is a subsystem: ``convert`` may use ``models`` or the other way round, not both."""
    assert cycles(folder_graph(ROOT, PACKAGES)) == []


def test_the_folder_check_finds_a_circle_between_folders(tmp_path):
    pkg = tmp_path / "pkg"
    for sub in ("", "one", "two"):
        (pkg / sub).mkdir(exist_ok=True)
        (pkg / sub / "__init__.py").write_text("")
    (pkg / "one" / "a.py").write_text("from ..two.b import thing\n")
    (pkg / "two" / "b.py").write_text("thing = 1\n")
    (pkg / "two" / "c.py").write_text("from ..one import a\n")
    assert cycles(graph(tmp_path, ["pkg"])) == []  # no circle between modules
    assert cycles(folder_graph(tmp_path, ["pkg"])) == [["pkg.one", "pkg.two"]]


#: Where the environment may be read: the one settings reader, and the CLI (an edge; it sets MindSpore's log
#: level before MindSpore is imported).
ENV_EDGES = ("registry/settings.py", "hub_client/cli/")
#: The public entries that build settings from the environment when the caller passes none.
PUBLIC_ENTRIES = ("hub_client/fetch/pull.py", "hub_client/models/loader.py", "hub_client/convert/source.py",
                  "hub_client/models/export.py", "registry/store/db.py")


def _calls_and_reads(path):
    """(environment reads, ``or_env`` calls, ``from_env`` calls) in one module's code."""
    env, or_env, from_env = [], [], []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Attribute) and node.attr in ("environ", "getenv", "environb", "putenv"):
            env.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" and \
                any(a.name in ("environ", "getenv") for a in node.names):
            env.append(node.lineno)
        elif isinstance(node, ast.Call):
            name = getattr(node.func, "attr", getattr(node.func, "id", ""))
            (or_env if name == "or_env" else from_env if name == "from_env" else []).append(node.lineno)
    return sorted(env), sorted(or_env), sorted(from_env)


def test_no_environment_read_below_the_edges():
    """Settings come from the environment once, at the edges, and are passed down (#29)."""
    env_found, public_found = [], []
    for path in modules(ROOT, PACKAGES).values():
        rel = path.relative_to(ROOT).as_posix()
        env, or_env, from_env = _calls_and_reads(path)
        if not rel.startswith(ENV_EDGES):
            env_found += [f"{rel}:{n}" for n in env + from_env]
            if rel not in PUBLIC_ENTRIES:
                public_found += [f"{rel}:{n}" for n in or_env]
    assert env_found == []
    assert public_found == []


def test_the_environment_check_sees_every_kind_of_read(tmp_path):
    mod = tmp_path / "m.py"
    mod.write_text("import os\nfrom os import environ\na = os.environ['X']\nb = os.getenv('Y')\n"
                   "c = Settings.from_env()\nd = or_env(None)\n")
    assert _calls_and_reads(mod) == ([2, 3, 4], [6], [5])


def test_registry_never_imports_hub_client():
    edges = graph(ROOT, PACKAGES)
    wrong = sorted((m, t) for m, targets in edges.items() if m.startswith("registry") for t in targets
                   if t.startswith(("hub_client", "hub_server")))
    assert wrong == []


def test_only_the_cli_reaches_the_server():
    """The server uses the client's fetching and the registry; of the client, only the CLI (``hub serve``, the
    composition root) imports the server, so the library never drags the server's dependencies in."""
    edges = graph(ROOT, PACKAGES)
    wrong = sorted((m, t) for m, targets in edges.items() if m.startswith("hub_client.")
                   and not m.startswith("hub_client.cli") for t in targets if t.startswith("hub_server"))
    assert wrong == []


def test_the_import_check_finds_a_circle_someone_adds(tmp_path):
    """The check itself: a two-module circle through a lazy import, and a three-module one, are both caught."""
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from .b import thing\n")
    (pkg / "b.py").write_text("def thing():\n    from pkg import a\n    return a\n")
    (pkg / "sub" / "x.py").write_text("from ..c import y\n")
    (pkg / "c.py").write_text("import pkg.sub.z\n")
    (pkg / "sub" / "z.py").write_text("from . import x\n")
    (pkg / "clean.py").write_text("from .a import thing\n")
    assert cycles(graph(tmp_path, ["pkg"])) == [["pkg.a", "pkg.b"], ["pkg.c", "pkg.sub.x", "pkg.sub.z"]]


def _own_distribution_tops() -> set[str]:
    return {top for top, dists in importlib.metadata.packages_distributions().items() if dists == [DISTRIBUTION]}


def test_no_module_shadows_a_package_or_the_standard_library():
    """A module named like a top-level package (``bench/registry.py``) breaks ``python bench/x.py``, where its
    folder comes first on sys.path; so does one named like a stdlib module or an installed package."""
    installed = set(importlib.metadata.packages_distributions()) - _own_distribution_tops()
    taken = PROJECT_TOPS | set(sys.stdlib_module_names) | installed
    clashes = []
    for base in SOURCE_DIRS:
        for path in (ROOT / base).rglob("*.py"):
            rel = path.relative_to(ROOT)
            name = path.parent.name if path.name == "__init__.py" else path.stem
            is_top = path.name == "__init__.py" and path.parent.parent in (ROOT, ROOT / "tests" / "support")
            if name in taken and not (is_top and name in PROJECT_TOPS):
                clashes.append(str(rel))
    assert sorted(set(clashes)) == []


def test_modules_stay_under_500_lines():
    big = {str(p.relative_to(ROOT)): n for base in SOURCE_DIRS for p in (ROOT / base).rglob("*.py")
           if (n := len(p.read_text(encoding="utf-8").splitlines())) > 500}
    assert big == {}


def test_tests_mirror_the_packages():
    """Each test folder under tests/<package> names a subpackage that exists."""
    subpackages = {str(p.parent.relative_to(ROOT)) for pkg in PACKAGES for p in (ROOT / pkg).rglob("__init__.py")}
    folders = {str(p.parent.relative_to(ROOT / "tests")) for pkg in PACKAGES
               for p in (ROOT / "tests" / pkg).rglob("test_*.py")}
    assert folders and folders <= subpackages


def test_every_module_is_in_a_package_that_setuptools_ships():
    import tomllib

    shipped = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]["packages"])
    wanted = {name for name, path in modules(ROOT, PACKAGES).items() if path.name == "__init__.py"}
    assert wanted <= shipped, sorted(wanted - shipped)


def test_no_test_module_imports_another():
    """Shared helpers live in tests/support/helpers (or are fixtures in conftest.py), never in a test module."""
    offenders = []
    for path in sorted((ROOT / "tests").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else (
                [node.module or ""] if isinstance(node, ast.ImportFrom) and node.level == 0 else [])
            offenders += [f"{path.relative_to(ROOT)}: {n}" for n in names
                          if n.split(".")[0].startswith("test_") or n.split(".")[0] == "conftest"]
    assert offenders == []


def test_no_module_imports_a_private_name_of_another():
    """What another module needs is public API of its module: no ``from x import _name`` across modules (a
    private module of the same package, ``_sqlite_utils``, is its package's own business)."""
    found = []
    for name, path in modules(ROOT, PACKAGES).items():
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and node.module != "__future__":
                found += [f"{name}: {alias.name}" for alias in node.names
                          if alias.name.startswith("_") and not alias.name.startswith("__")]
    assert found == []
