"""The command line prints the fields the issue names, with metafor's numbers (in process through
``analysis.cli.main``, and once as ``python -m analysis`` in a subprocess)."""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
BCG = Path(__file__).parent / "reference" / "datasets" / "bcg.csv"


@pytest.fixture
def run(capsys):
    """``python -m analysis ARGS`` in process (``analysis.cli.main``): its stdout, after exit code 0."""
    from analysis.cli import main

    def run(*args):
        capsys.readouterr()
        code = main(list(args))
        out, err = capsys.readouterr()
        assert code == 0, err
        return out

    return run


def reference_fit(dataset, measure, method, hksj):
    case = next(c for c in REF["cases"] if c["dataset"] == dataset and c["measure"] == measure)
    return next(f for f in case["fits"] if f["method"] == method and f["hksj"] == hksj)


def test_pool_json_has_every_field_and_metafor_values(run):
    result = json.loads(run("pool", str(BCG), "--measure", "RR", "--method", "PM", "--hksj", "--json"))
    assert {"k", "estimate", "se", "ci_low", "ci_high", "p", "pi_low", "pi_high", "tau2", "i2", "h2", "q",
            "p_q"} <= set(result)
    expected = reference_fit("bcg", "RR", "PM", True)["pool"]
    for key in set(result) & set(expected):
        assert np.isclose(result[key], expected[key], rtol=0, atol=1e-6), key


def test_sensitivity_json_matches_metafor(run):
    result = json.loads(run("sensitivity", str(BCG), "--measure", "OR", "--method", "DL", "--json"))
    expected = reference_fit("bcg", "OR", "DL", False)
    loo = result["leave_one_out"]
    assert [set(r) for r in loo][0] == {"omitted", "estimate", "ci_low", "ci_high", "tau2"}
    assert np.allclose([r["estimate"] for r in loo], expected["leave_one_out"]["estimate"], atol=1e-6)
    assert np.allclose([r["tau2"] for r in loo], expected["leave_one_out"]["tau2"], atol=1e-6)
    case = next(c for c in REF["cases"] if c["dataset"] == "bcg" and c["measure"] == "OR")
    assert set(result["egger"]) == {"bias", "se", "t", "df", "p"}
    for key in ("bias", "se", "t", "df", "p"):
        assert np.isclose(result["egger"][key], case["egger"][key], atol=1e-6), key
    assert result["trimfill"]["k0"] == expected["trimfill"]["k0"]
    assert result["trimfill"]["side"] == expected["trimfill"]["side"]
    assert np.isclose(result["trimfill"]["estimate"], expected["trimfill"]["estimate"], atol=1e-6)
    assert result["limits"]["leave-one-out"] == {"done": 13, "of": 13, "how": "all"}


def test_sensitivity_with_max_refits_refits_a_screened_part_and_says_so(run, capsys):
    from analysis.cli import main

    whole = json.loads(run("sensitivity", str(BCG), "--measure", "OR", "--method", "REML", "--json"))
    part = json.loads(run("sensitivity", str(BCG), "--measure", "OR", "--method", "REML", "--max-refits", "4", "--json"))
    assert part["limits"]["leave-one-out"]["how"] == "screen" and part["limits"]["leave-one-out"]["of"] == 13
    assert 2 <= part["limits"]["leave-one-out"]["done"] == len(part["leave_one_out"]) <= 4
    full = {r["omitted"]: r for r in whole["leave_one_out"]}
    for row in part["leave_one_out"]:  # each refit is the same as in the whole analysis
        assert row == full[row["omitted"]]
    verdicts = [r["influential"] for r in part["influence"]]
    assert verdicts.count(None) == 13 - part["limits"]["influence"]["done"]  # not refitted: no verdict
    assert all(isinstance(v, bool) for v in verdicts if v is not None)
    with pytest.raises(SystemExit) as err:
        main(["sensitivity", str(BCG), "--measure", "OR", "--max-refits", "1"])
    assert err.value.code == 2 and "must be at least 2" in capsys.readouterr().err


def test_table_output_is_readable(run):
    text = run("pool", str(BCG), "--measure", "RR")
    assert "estimate" in text and "ratio" in text


def test_cli_choices_match_the_package():
    from analysis import cli
    from analysis.meta.effect_sizes import MEASURES
    from analysis.meta.fit import METHODS

    pool = next(a for a in cli.build_parser()._subparsers._group_actions[0].choices["pool"]._actions
                if a.dest == "measure")
    method = next(a for a in cli.build_parser()._subparsers._group_actions[0].choices["pool"]._actions
                  if a.dest == "method")
    assert tuple(pool.choices) == MEASURES and tuple(method.choices) == METHODS



def test_python_m_analysis_pool_json_in_a_subprocess(run):
    """Smoke test of the real entry point: same JSON as in process, with metafor's values."""
    out = subprocess.run([sys.executable, "-m", "analysis", "pool", str(BCG), "--measure", "RR", "--method", "PM",
                          "--hksj", "--json"], capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    assert result == json.loads(run("pool", str(BCG), "--measure", "RR", "--method", "PM", "--hksj", "--json"))
    expected = reference_fit("bcg", "RR", "PM", True)["pool"]
    assert result["k"] == expected["k"]
    for key in ("estimate", "se", "ci_low", "ci_high", "tau2"):
        assert np.isclose(result[key], expected[key], rtol=0, atol=1e-6), key
