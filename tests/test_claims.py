"""The claims register: every quote verbatim in its archived source; every listed claim present."""

import pandas as pd
import pytest

from analysis.review.claims import normalise_whitespace, read_claims
from analysis.book.params import ROOT
from analysis.review.trials import DataError

CLAIMS = ROOT / "data" / "claims.csv"


def test_every_quote_is_verbatim_in_its_source():
    register = read_claims(CLAIMS)  # raises if any quote is not found
    for _, row in register.iterrows():
        text = normalise_whitespace((ROOT / "data" / "sources" / row["source_file"]).read_text(encoding="utf-8"))
        assert normalise_whitespace(row["quote"]) in text


def test_register_holds_the_headline_claims():
    register = read_claims(CLAIMS)
    figures = {(r.source_id, r.treat_value, r.ctrl_value) for r in register.itertuples()}
    assert ("S4", 48, 30) in figures and ("S2", 25, 10) in figures and ("S4", 32, 17) in figures
    cbt = register.loc["C03"]
    assert (cbt["effect"], cbt["ci_low"], cbt["ci_high"], cbt["k"], cbt["n"]) == (0.79, 0.70, 0.89, 409, 52702)
    assert register.loc["C05", "k"] == 17
    # every claim the source index lists: CBT vs drugs at 6-12 months, 80% public belief, 90% gut serotonin,
    # chemical imbalance ranked last of thirteen factors
    assert (register.loc["C10", "effect"], register.loc["C10", "comparator"]) == (0.34, "pharmacotherapy")
    assert register.loc["C11", "treat_value"] == 80 and register.loc["C12", "treat_value"] == 90
    assert register.loc["C13", "k"] == 13
    assert {"S0", "S1", "S2", "S3", "S4"} <= set(register["source_id"])


def test_an_altered_quote_is_refused(tmp_path):
    (tmp_path / "sources").mkdir()
    for p in (ROOT / "data" / "sources").iterdir():
        (tmp_path / "sources" / p.name).write_bytes(p.read_bytes())
    frame = pd.read_csv(CLAIMS, dtype=str, keep_default_na=False)
    frame.loc[0, "quote"] = frame.loc[0, "quote"].replace("48%", "58%")
    frame.to_csv(tmp_path / "claims.csv", index=False)
    with pytest.raises(DataError) as err:
        read_claims(tmp_path / "claims.csv")
    assert "line 2" in str(err.value) and "'quote'" in str(err.value) and "not found verbatim" in str(err.value)


def test_mechanistic_positions_are_read_from_the_register():
    from analysis.review.claims import conflict_sentence, mechanism_positions, receptor_agreement, who_says

    register = pd.DataFrame({"source_id": ["A", "B", "C", "D"],
                             "direction": ["5-HT1A down, 5-HT2 up in depression", "up-regulation (compensatory)",
                                           "antidepressants down-regulate 5-HT1A and 5-HT2", "5-HT2 down in depression"]},
                            index=["C1", "C2", "C3", "C4"])
    pos = mechanism_positions(register)
    assert set(map(tuple, pos[["source_id", "receptor", "direction", "context"]].values)) == {
        ("A", "5-HT1A", "down", "depression"), ("A", "5-HT2", "up", "depression"),
        ("B", "serotonin receptors (subtype unspecified)", "up", "depression"),
        ("C", "5-HT1A", "down", "antidepressants"), ("C", "5-HT2", "down", "antidepressants"),
        ("D", "5-HT2", "down", "depression")}
    agreement = receptor_agreement(pos)
    assert agreement.set_index(["receptor", "context"]).loc[("5-HT2", "depression"), "status"] == "conflict"
    assert conflict_sentence(agreement) == "the sources contradict each other for 5-HT2 (depression)"
    assert conflict_sentence(agreement[agreement["status"] != "conflict"]).startswith("no receptor subtype")
    assert who_says(pos, "up") == "A (5-HT2); B (serotonin receptors (subtype unspecified))"


def test_every_claim_has_a_kind_and_the_flow_adds_up():
    from analysis.review.claims import read_appraisal, screening_flow

    register = read_claims(CLAIMS)
    assert register.loc["C05", "kind"] == "citation" and register.loc["C03", "kind"] == "effect"
    assert set(register.loc[register["measure"] == "narrative", "kind"]) == {"mechanism"}
    flow = screening_flow(register, read_appraisal(ROOT / "data" / "sources" / "appraisal.csv"))
    assert (flow["quantitative"], flow["narrative"], flow["testable"]) == (9, 4, 3)
    assert (flow["checked_against_source"], flow["outside_scope"], flow["untestable"]) == (1, 3, 2)
    assert flow["quantitative"] == (flow["testable"] + flow["checked_against_source"] + flow["outside_scope"]
                                    + flow["untestable"])


def test_a_claim_of_no_known_kind_is_refused(tmp_path):
    (tmp_path / "sources").mkdir()
    for p in (ROOT / "data" / "sources").iterdir():
        (tmp_path / "sources" / p.name).write_bytes(p.read_bytes())
    frame = pd.read_csv(CLAIMS, dtype=str, keep_default_na=False)
    frame.loc[2, "kind"] = "opinion"
    frame.to_csv(tmp_path / "claims.csv", index=False)
    with pytest.raises(DataError) as err:
        read_claims(tmp_path / "claims.csv")
    assert "line 4, column 'kind'" in str(err.value) and "is not one of effect, citation, mechanism, context" in str(err.value)


def test_the_register_verdicts_are_computed_by_the_agreement_rule():
    from analysis.review import comparisons as evidence
    from analysis.review.claim_verdicts import claim_verdicts
    from analysis.review.psychotherapy import psychotherapy_control

    register = read_claims(CLAIMS)
    cbt = psychotherapy_control(str(ROOT / "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"))
    table = claim_verdicts(register, cbt=cbt).set_index("claim_id")
    assert len(table) == len(register)
    c03 = table.loc["C03"]
    assert c03["verdict"] == "reproduced" and c03["claimed"] == "0.79"
    assert c03["re-derived (95% CI)"] == "0.83 (0.73 to 0.93)"   # the primary CHE analysis, every comparison
    assert c03["difference (95% CI)"] == "-0.04 (-0.18 to 0.10)"
    assert table.loc["C05", "verdict"] == "checked against the cited publication (not a re-derivation)"
    assert table.loc["C06", "verdict"] == "not quantitative: weighed narratively"
    assert table.loc["C11", "verdict"] == "outside the scope of trial data"
    assert table.loc["C02", "verdict"] == "not testable: no open trial-level data"
    assert table.loc["C01", "verdict"] == "not judged here: its evidence was not given"  # no SSRI evidence given


def test_judged_claims_are_named_by_what_they_say_not_by_their_code():
    from analysis.review.claim_verdicts import claim_label, verdict_summary

    register = read_claims(CLAIMS)
    assert claim_label(register.loc["C01"]) == "SSRIs, response 48% vs 30% on placebo"
    assert claim_label(register.loc["C03"]) == "CBT, g = 0.79 against control conditions"
    assert claim_label(register.loc["C04"]) == "problem-solving therapy, response 32% vs 17% on antidepressants"
    assert claim_label(register.loc["C06"]) == "5-HT receptor density"
    table = pd.DataFrame({"claim_id": ["C01", "C03", "C06"], "difference (95% CI)": ["x", "y", ""],
                          "verdict": ["inconclusive", "reproduced", "not quantitative"]})
    assert verdict_summary(table, register) == ("SSRIs, response 48% vs 30% on placebo: inconclusive; "
                                                "CBT, g = 0.79 against control conditions: reproduced")
    assert verdict_summary(table.iloc[2:], register) == "no claim was judged"
