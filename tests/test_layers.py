"""The house: three layers whose imports point down only, a light engine, small modules."""

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "analysis"
# figures and the multiverse sit beside the pipeline: above the domain, below the book
LAYERS = {"meta": 0, "review": 1, "figures": 2, "multiverse": 2, "book": 3}
LEAVES = {"analysis", "analysis.escape"}  # modules that import nothing of the package, usable by every layer
EXEMPT_FUNCTIONS = {("meta/zeroin.py", "zeroin")}  # R's zeroin, ported as it is


def imported_modules(path: Path):
    tree = ast.parse(path.read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            yield node.module


def layer_of(module: str):
    parts = module.split(".")
    return LAYERS.get(parts[1]) if len(parts) > 1 and parts[0] == "analysis" else None


@pytest.mark.parametrize("layer", LAYERS)
def test_imports_point_down_only(layer):
    own = LAYERS[layer]
    offending = []
    for path in sorted((PACKAGE / layer).rglob("*.py")):
        for module in imported_modules(path):
            other = layer_of(module)
            if module in LEAVES:
                continue
            if module.startswith("analysis") and (other is None or other > own) and not module.startswith(f"analysis.{layer}"):
                offending.append(f"{path.relative_to(PACKAGE)} imports {module}")
    assert offending == []


def test_the_engine_loads_nothing_heavy():
    code = ("import sys, analysis.meta as m; m.rma; m.effect_sizes; m.leave_one_out; "
            "print(sorted(x for x in ('matplotlib', 'papermill', 'jupyter_book', 'pandera', 'hypothesis', "
            "'seaborn', 'myst_nb', 'statsmodels') if x in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         cwd=PACKAGE.parent).stdout.strip()
    assert out == "[]"


def test_the_engine_public_api_resolves():
    import analysis.meta as meta

    assert len(meta.__all__) >= 30
    for name in meta.__all__:
        assert getattr(meta, name) is not None, name


def test_no_module_over_300_lines_and_no_function_over_60():
    too_long = []
    for path in sorted(PACKAGE.rglob("*.py")):
        source = path.read_text()
        rel = str(path.relative_to(PACKAGE))
        if len(source.splitlines()) > 300:
            too_long.append(f"{rel}: {len(source.splitlines())} lines")
        for node in ast.walk(ast.parse(source)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and (rel, node.name) not in EXEMPT_FUNCTIONS:
                length = node.end_lineno - node.lineno + 1
                if length > 60:
                    too_long.append(f"{rel}:{node.lineno} {node.name}: {length} lines")
    assert too_long == []


def test_the_package_has_a_version():
    import analysis

    assert analysis.__version__.count(".") == 2
