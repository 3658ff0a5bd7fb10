"""Warm kernels (analysis.book.kernel_server, analysis.book.warm_kernels): a notebook executed in a
forked kernel gives exactly the outputs of one executed in a kernel started cold."""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from analysis.book import params as parameters
from analysis.book.execute import execute, largest_first
from analysis.book.pipeline import chapter_parameters, notebooks
from analysis.book.warm_kernels import KernelServer, kernel_manager_class, notebook_imports

ROOT = parameters.ROOT


def _cells(path: Path) -> list:
    nb = nbformat.read(path, as_version=4)
    return [(c.cell_type, c.source, c.get("outputs"), c.get("execution_count")) for c in nb.cells]


@pytest.mark.parametrize("chapter", ["protocol", "dose-response"])
def test_warm_kernel_gives_the_cold_kernels_outputs(chapter, tmp_path):
    nb = ROOT / "chapters" / f"{chapter}.ipynb"
    chapter_params = chapter_parameters(parameters.resolve(None), nb)
    execute(nb, chapter_params, tmp_path / "cold.ipynb")
    with KernelServer([nb]) as server:
        assert server.ready().startswith("ready")
        execute(nb, chapter_params, tmp_path / "warm.ipynb", kernels=kernel_manager_class(server))
        execute(nb, chapter_params, tmp_path / "warm2.ipynb", kernels=kernel_manager_class(server))
    cold, warm = _cells(tmp_path / "cold.ipynb"), _cells(tmp_path / "warm.ipynb")
    assert len(cold) == len(warm) and sum(len(c[2] or []) for c in cold) > 3  # outputs were compared
    assert warm == cold
    assert _cells(tmp_path / "warm2.ipynb") == cold  # a second kernel from the same server starts as fresh


def test_the_server_preloads_what_the_notebooks_import():
    modules = notebook_imports(notebooks())
    assert {"analysis.meta", "matplotlib.pyplot", "pandas", "analysis.review.network"} <= set(modules)


def test_the_server_forks_only_its_own_ipykernel():
    with KernelServer([]) as server:
        with pytest.raises(RuntimeError, match="refused: not an ipykernel"):
            server.launch(["/bin/sh", "-c", "echo owned"], {}, str(ROOT))
        with pytest.raises(RuntimeError, match="refused"):
            server.launch([sys.executable, "-c", "print(1)"], {}, str(ROOT))


def test_a_failed_kernel_reports_its_exit_status():
    with KernelServer([]) as server:
        kernel = server.launch([sys.executable, "-m", "ipykernel_launcher", "--no-such-option-here"], {"PATH": "/usr/bin"},
                               str(ROOT))
        assert kernel.wait(timeout=60) != 0
        assert kernel.poll() == kernel.returncode


def test_the_book_commands_do_not_load_the_engine():
    """``build`` and ``validate`` are parsed without importing the statistics engine, so a rebuild
    with nothing changed starts in a fraction of a second."""
    code = ("import sys; from analysis.cli import _book_parser; _book_parser().parse_args(['build', '--pdf']); "
            "import json; print(json.dumps(sorted(m for m in sys.modules if m.startswith(('analysis.meta', 'pandas', 'scipy')))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True)
    assert json.loads(out.stdout) == []


def test_kernels_asked_for_at_once_all_start():
    """Two notebooks' threads ask the fresh server for a kernel at the same moment."""
    from concurrent.futures import ThreadPoolExecutor

    with KernelServer([]) as server:
        cmd = [sys.executable, "-m", "ipykernel_launcher", "--no-such-option-here"]
        with ThreadPoolExecutor(4) as pool:
            kernels = list(pool.map(lambda _: server.launch(cmd, {"PATH": "/usr/bin"}, str(ROOT)), range(4)))
        assert len({k.pid for k in kernels}) == 4
        assert all(k.wait(timeout=60) != 0 for k in kernels)


def test_notebooks_start_largest_first_ties_in_book_order(tmp_path):
    sizes = {"a": 10, "b": 300, "c": 10, "d": 2000}
    paths = []
    for name, size in sizes.items():
        (tmp_path / f"{name}.ipynb").write_text("x" * size)
        paths.append(tmp_path / f"{name}.ipynb")
    assert [p.stem for p in largest_first(paths)] == ["d", "b", "a", "c"]
    book = largest_first(notebooks())
    assert {p.stem for p in book[:3]} >= {"cbt-control", "network"}  # the two longest chapters start at once
