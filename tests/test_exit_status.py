"""The exit statuses the README states: the program exits with status 1 when it refuses its input,
and make, running it, reports ``Error 1`` and exits with status 2 (make's own convention)."""

import re
import subprocess
import sys

from conftest import ROOT

REFUSED = "cbt-control:\n  low_rob_items: 5\n"  # out of range: refused before anything is read or built


def test_a_refused_input_exits_1_and_make_reports_it_as_error_1_and_exits_2(tmp_path):
    params = tmp_path / "bad.yml"
    params.write_text(REFUSED)
    direct = subprocess.run([sys.executable, "-m", "analysis", "validate", "--params", str(params)], cwd=ROOT,
                            capture_output=True, text=True, timeout=120)
    assert direct.returncode == 1 and "out of range" in direct.stderr
    # make test installs .venv first, so make validate runs the program, not the installer
    made = subprocess.run(["make", "validate", f"PARAMS={params}"], cwd=ROOT, capture_output=True, text=True,
                          timeout=120)
    assert made.returncode == 2 and re.search(r"\] Error 1$", made.stderr, re.M), made.stderr


def test_the_readme_states_both_statuses():
    text = " ".join((ROOT / "README.md").read_text(encoding="utf-8").split())
    assert "`python -m analysis build` exits with status 1" in text
    assert "`make book` or `make html` reports that as `Error 1` and itself exits with status 2" in text
    assert "non-zero exit" not in text
