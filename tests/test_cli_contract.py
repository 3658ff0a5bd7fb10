"""The command line's JSON contract, in-process through ``cli.main``: values against metafor's
fixtures, metafor's column names, ``--map``, missing outcomes, and the verbs of the engine."""

import json
from pathlib import Path

import numpy as np
import pytest

from analysis.cli import main

REF = json.loads((Path(__file__).parent / "reference" / "metafor_reference.json").read_text())
BCG = Path(__file__).parent / "reference" / "datasets" / "bcg.csv"
CASE = next(c for c in REF["cases"] if c["dataset"] == "bcg" and c["measure"] == "RR")


def run(capsys, *args):
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return code, (json.loads(out.out) if code == 0 and "--json" in args else out.out), out.err


def close(a, b, tol=1e-6):
    return abs(a - b) <= tol * max(1.0, abs(b))


@pytest.mark.parametrize("method", ["DL", "REML"])
def test_pool_reports_the_q_profile_intervals_of_metafor(capsys, method):
    code, out, _ = run(capsys, "pool", BCG, "--measure", "RR", "--method", method, "--json")
    fit = next(f for f in CASE["fits"] if f["method"] == method and not f["hksj"] and "tau2_ci" in f)
    assert code == 0
    for key, ref in (("tau2_ci_low", "tau2_low"), ("tau2_ci_high", "tau2_high"), ("i2_ci_low", "i2_low"),
                     ("i2_ci_high", "i2_high")):
        assert close(out[key], fit["tau2_ci"][ref]), key
    assert close(out["h2"], fit["pool"]["h2"])


def test_pool_fixed_effect_has_no_tau2_interval(capsys):
    code, out, _ = run(capsys, "pool", BCG, "--measure", "RR", "--method", "FE", "--json")
    assert code == 0 and out["tau2_ci_low"] is None and out["pi_low"] is None


def test_pool_subgroups_match_metafor(capsys):
    code, out, _ = run(capsys, "pool", BCG, "--measure", "RR", "--method", "REML", "--subgroup", "subgroup", "--json")
    ref = next(s for s in CASE["subgroups"] if s["method"] == "REML")
    assert code == 0
    assert [g["subgroup"] for g in out["subgroups"]] == ref["groups"]
    assert np.allclose([g["estimate"] for g in out["subgroups"]], ref["estimate"], atol=1e-6)
    assert np.allclose([g["tau2"] for g in out["subgroups"]], ref["tau2"], atol=1e-6)
    assert close(out["q_between"], ref["q_between"]) and close(out["p_between"], ref["p_between"])
    assert set(out["subgroups"][0]) == {"subgroup", "k", "estimate", "ci_low", "ci_high", "tau2"}


def test_pool_meta_regression_matches_metafor(capsys):
    code, out, _ = run(capsys, "pool", BCG, "--measure", "RR", "--method", "REML", "--mods", "ablat", "--json")
    ref = next(f for f in CASE["metareg"]["fits"] if f["method"] == "REML" and not f["hksj"])
    assert code == 0
    assert [c["name"] for c in out["coefficients"]] == ["intercept", "ablat"]
    assert np.allclose([c["estimate"] for c in out["coefficients"]], ref["beta"], atol=1e-6)
    assert np.allclose([c["se"] for c in out["coefficients"]], ref["se"], atol=1e-6)
    assert close(out["qm"], ref["qm"]) and close(out["p_qm"], ref["p_qm"])


def write(tmp_path, text, name="t.csv"):
    path = tmp_path / name
    path.write_text(text)
    return path


def test_metafor_column_names_give_the_same_fit(capsys, tmp_path):
    import csv

    rows = list(csv.DictReader(open(BCG)))
    ab = "slab,ai,bi,ci,di\n" + "".join(
        f"{r['study']},{r['treat_events']},{int(r['treat_n']) - int(r['treat_events'])},{r['ctrl_events']},"
        f"{int(r['ctrl_n']) - int(r['ctrl_events'])}\n" for r in rows)
    an = "slab,ai,n1i,ci,n2i\n" + "".join(
        f"{r['study']},{r['treat_events']},{r['treat_n']},{r['ctrl_events']},{r['ctrl_n']}\n" for r in rows)
    yi, vi = np.array(CASE["yi"]), np.array(CASE["vi"])
    yv = "yi,vi\n" + "".join(f"{float(y)!r},{float(v)!r}\n" for y, v in zip(yi, vi))
    ys = "yi,sei\n" + "".join(f"{float(y)!r},{float(np.sqrt(v))!r}\n" for y, v in zip(yi, vi))
    ref = next(f for f in CASE["fits"] if f["method"] == "REML" and not f["hksj"])["pool"]
    for text, measure in ((ab, "RR"), (an, "RR"), (yv, "GEN"), (ys, "GEN")):
        code, out, _ = run(capsys, "pool", write(tmp_path, text), "--measure", measure, "--json")
        assert code == 0 and close(out["estimate"], ref["estimate"]) and close(out["tau2"], ref["tau2"]), text[:20]


def test_map_renames_columns(capsys, tmp_path):
    path = write(tmp_path, "trial,logrr,var\nA,0.1,0.01\nB,0.3,0.02\nC,0.2,0.04\n")
    code, out, _ = run(capsys, "pool", path, "--measure", "GEN", "--map", "study=trial", "--map", "yi=logrr",
                       "--map", "vi=var", "--json")
    assert code == 0 and out["k"] == 3
    code, _, err = run(capsys, "pool", path, "--measure", "GEN", "--map", "yi=nothere", "--json")
    assert code == 1 and "column 'nothere'" in err


def test_rows_with_a_missing_outcome_are_dropped_with_a_warning_or_refused(capsys, tmp_path):
    path = write(tmp_path, "study,effect,se\nA,0.1,0.1\nB,,0.2\nC,0.3,0.15\nD,0.2,\nE,0.5,0.2\n")
    code, out, err = run(capsys, "pool", path, "--measure", "GEN", "--json")
    assert code == 0 and out["k"] == 3
    assert "2 row(s) with a missing outcome dropped (lines 3, 5)" in err
    code, _, err = run(capsys, "pool", path, "--measure", "GEN", "--strict", "--json")
    assert code == 1 and "line 3, column 'effect': is empty" in err and "line 5, column 'se': is empty" in err


@pytest.mark.parametrize("text,words", [
    ("study,effect,se\nA,inf,0.1\nB,0.2,0.1\n", "line 2, column 'effect': inf must be a finite number"),
    ("study,effect,se\nA,1e400,0.1\nB,0.2,0.1\n", "line 2, column 'effect': inf must be a finite number"),
    ("study,effect,se\nA,0.1,1e-320\nB,0.2,0.1\n", "line 2, column 'se'"),
    ("study,effect,effect,se\nA,1,1,0.1\n", "column 'effect': duplicate column name"),
    ("study,yi,vi\nA,0.1,0\nB,0.2,0.1\n", "line 2, column 'vi': 0 must be > 0"),
    ("study,treat_mean,treat_sd,treat_n,ctrl_mean,ctrl_sd,ctrl_n\nA,1,1,1,0,1,5\nB,1,1,5,0,1,5\n",
     "line 2, column 'treat_n': 1 must be >= 2"),
    ("study,effect,se\nA,0.1,0.1\n", "1 study; this analysis needs at least 2"),
])
def test_bad_tables_are_refused_with_line_and_column(capsys, tmp_path, text, words):
    measure = "SMD" if "treat_mean" in text else "GEN"
    code, _, err = run(capsys, "pool", write(tmp_path, text), "--measure", measure, "--json")
    assert code == 1 and words in err and "Traceback" not in err


def test_a_directory_is_not_a_regular_file(capsys, tmp_path):
    code, _, err = run(capsys, "pool", tmp_path, "--measure", "GEN")
    assert code == 1 and "not a regular file" in err


def test_bias_verb_gives_every_method(capsys):
    code, out, _ = run(capsys, "bias", BCG, "--measure", "RR", "--json")
    assert code == 0
    assert {"selection_3psm", "selection_4psm", "pet", "peese", "pet_peese", "waap_wls", "trimfill_l0",
            "trimfill_r0"} <= set(out)
    assert {"estimate", "se", "ci_low", "ci_high", "tau2", "delta", "lrt_p"} <= set(out["selection_3psm"])
    assert out["pet_peese"]["chosen"] in ("PET", "PEESE")
    assert {"estimate", "se", "k_adequate"} <= set(out["waap_wls"])
    assert "error" in out["selection_4psm"]  # metafor's optimiser does not converge here either


def test_exact_flag_changes_only_the_convergence(capsys):
    _, default, _ = run(capsys, "pool", BCG, "--measure", "RR", "--json")
    _, exact, _ = run(capsys, "pool", BCG, "--measure", "RR", "--exact", "--json")
    assert close(default["tau2"], exact["tau2"], 1e-3) and default["k"] == exact["k"]


ML = json.loads((Path(__file__).parent / "reference" / "multilevel_reference.json").read_text())


def multilevel_csv(tmp_path, case):
    data = case["data"]
    lines = ["slab,yi,vi,trial"] + [f"e{i},{y!r},{v!r},{c}" for i, (y, v, c) in
                                    enumerate(zip(data["yi"], data["vi"], data["cluster"]))]
    return write(tmp_path, "\n".join(lines) + "\n", "ml.csv")


def test_pool_three_level_matches_metafor(capsys, tmp_path):
    case = next(c for c in ML["cases"] if c["name"] == "konstantopoulos2011")
    fit = next(f for f in case["fits"] if f["method"] == "REML" and f["test"] == "z")
    code, out, _ = run(capsys, "pool", multilevel_csv(tmp_path, case), "--measure", "GEN", "--cluster", "trial",
                       "--model", "threelevel", "--json")
    assert code == 0
    for key in ("k", "k_clusters", "estimate", "se", "ci_low", "ci_high", "p", "q", "p_q", "sigma2_between",
                "sigma2_within", "i2_between", "i2_within"):
        assert close(out[key], fit["result"][key], 1e-6), key


def test_pool_che_with_robust_inference_matches_clubsandwich(capsys, tmp_path):
    case = next(c for c in ML["cases"] if c["name"] == "assink2016")
    che = next(f for f in case["che"] if f["method"] == "REML")
    assert len(set(zip(case["data"]["cluster"], case["data"]["obs"]))) == len(case["data"]["obs"])  # one row per effect
    code, out, _ = run(capsys, "pool", multilevel_csv(tmp_path, case), "--measure", "GEN", "--cluster", "trial",
                       "--model", "che", "--rho", str(che["rho"]), "--test", "t", "--json")
    assert code == 0
    for key in ("estimate", "se", "sigma2_between", "sigma2_within"):
        assert close(out[key], che["result"][key], 1e-6), key
    for key in ("se", "df", "ci_low", "ci_high", "p"):
        assert close(out["robust"][key], che["robust"][key], 1e-6), key
    code, _, err = run(capsys, "pool", multilevel_csv(tmp_path, case), "--measure", "GEN", "--model", "che")
    assert code == 1 and "--cluster" in err


def test_large_files_are_streamed_with_the_same_results_and_refusals(capsys, tmp_path, monkeypatch):
    from analysis.review import csvfile

    good = write(tmp_path, "study,effect,se\nA,0.1,0.1\nB,0.3,0.2\nC,0.2,0.15\n")
    _, whole, _ = run(capsys, "pool", good, "--measure", "GEN", "--json")
    monkeypatch.setattr(csvfile, "STREAM_ABOVE", 10)  # every file above 10 bytes is read line by line
    _, streamed, _ = run(capsys, "pool", good, "--measure", "GEN", "--json")
    assert streamed == whole
    nul = write(tmp_path, "study,effect,se\nA,0.1,0.1\nB\x00,0.3,0.2\n", "nul.csv")
    code, _, err = run(capsys, "pool", nul, "--measure", "GEN")
    assert code == 1 and "line 3, column 'character 2': a NUL byte" in err
    latin = tmp_path / "latin.csv"
    latin.write_bytes("study,effect,se\nA,0.1,0.1\nB\xe9,0.3,0.2\n".encode("latin-1"))
    code, _, err = run(capsys, "pool", latin, "--measure", "GEN")
    assert code == 1 and "line 3" in err and "not UTF-8" in err and "Traceback" not in err
