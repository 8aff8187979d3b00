"""Packaging promises: light core dependencies, consistent lazy re-exports, typed."""

import ast
import importlib
import tomllib

import pytest
from helpers import ROOT
from helpers.tools import need_module

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
HEAVY = ("mindspore", "torch", "transformers", "numpy")


def test_core_dependencies_pull_no_framework():
    deps = " ".join(PYPROJECT["project"]["dependencies"]).lower()
    for name in HEAVY:
        assert name not in deps


def test_torch_extra_pins_the_local_cpu_wheel_and_numpy_below_2():
    extras = PYPROJECT["project"]["optional-dependencies"]
    assert "torch==2.13.0" in extras["torch"]
    assert "numpy<2" in extras["mindspore"]


@pytest.mark.parametrize("pkg", ["registry", "hub_client"])
def test_re_exports_resolve(pkg):
    """Every name in ``__all__`` resolves to the very object its home module defines, and nothing else is
    exported; the TYPE_CHECKING imports (what type checkers see) name the same set."""
    mod = importlib.import_module(pkg)
    assert sorted(mod.__all__) == sorted(mod._EXPORTS)
    for name in mod.__all__:
        home = importlib.import_module(mod._EXPORTS[name] if pkg == "hub_client" else f"{pkg}.{mod._EXPORTS[name]}")
        assert getattr(mod, name) is getattr(home, name), name
    assert (ROOT / pkg / "py.typed").exists()
    tree = ast.parse((ROOT / pkg / "__init__.py").read_text())
    checked = {a.asname or a.name for node in ast.walk(tree) if isinstance(node, ast.If)
               for imp in node.body if isinstance(imp, ast.ImportFrom) for a in imp.names}
    assert checked == set(mod.__all__)


@pytest.mark.parametrize("module", ["mindspore", "torch", "transformers", "safetensors", "sklearn", "PIL"])
def test_every_extra_imports_where_it_is_installed(module):
    """In CI a missing extra fails here (no loader test may skip quietly); elsewhere it runs wherever it is
    installed, and says what to install where it is not."""
    need_module(module)
    importlib.import_module(module)
