"""The PRISMA 2020 checklist and the AMSTAR 2 self-assessment: every item present, every location a
cross-reference the build checks, the AMSTAR 2 rating by its rule; and the umbrella review's
findings, quoted verbatim, against the register's mechanistic claims."""

import pandas as pd
import pytest

from analysis.review.checklists import (AMSTAR_CRITICAL, PRISMA_ITEMS, amstar_assessment, amstar_rating,
                                        prisma_checklist, references, status_counts)
from analysis.review.claims import read_claims
from analysis.review.errors import DataError
from analysis.review.umbrella import coverage, read_umbrella_findings, weigh_claims
from conftest import ROOT

CHECK = ROOT / "data/checklists"


def test_prisma_has_all_42_items_with_a_location_each():
    table = prisma_checklist(CHECK / "prisma2020_items.csv", CHECK / "prisma2020_book.csv", "A systematic review")
    assert len(PRISMA_ITEMS) == 42 and list(table["item"]) == list(PRISMA_ITEMS)
    assert table.loc[0, "status"] == "yes"
    assert all(w.startswith("{doc}`/chapters/") for w in table["where"])
    counts = status_counts(table)
    assert sum(counts.values()) == 42
    # what software cannot do is stated as not met
    not_met = set(table.loc[table["status"] == "no", "item"])
    assert {"7", "24a"} <= not_met
    assert table.set_index("item").loc["24a", "note"].startswith("Not met")
    untitled = prisma_checklist(CHECK / "prisma2020_items.csv", CHECK / "prisma2020_book.csv", "An open review")
    assert untitled.loc[0, "status"] == "no"


def test_every_chapter_a_checklist_points_to_is_in_the_book():
    import yaml

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    docs = {toc["root"]} | {entry["file"] for entry in toc["chapters"]}
    for name in ("prisma2020_book.csv", "amstar2_book.csv"):
        for where in pd.read_csv(CHECK / name)["where"]:
            for part in where.split(";"):
                assert "chapters/" + part.strip().partition("#")[0] in docs, (name, part)
    assert toc["chapters"].index({"file": "chapters/amstar"}) < toc["chapters"].index({"file": "chapters/reproducibility"})


def test_references_are_built_and_refuse_markup():
    assert references("methods#sec-methods-data; cbt-control#fig-cbt-forest") == (
        "{doc}`/chapters/methods` ({ref}`sec-methods-data`); {doc}`/chapters/cbt-control` ({numref}`fig-cbt-forest`)")
    with pytest.raises(DataError, match="is not a chapter"):
        references("methods`{raw}`", "f.csv", 3)


def test_amstar_items_critical_domains_and_rating():
    table = amstar_assessment(CHECK / "amstar2_items.csv", CHECK / "amstar2_book.csv")
    assert len(table) == 16 and tuple(table.loc[table["critical"], "item"]) == AMSTAR_CRITICAL
    result = amstar_rating(table)
    flaws = table.loc[table["critical"] & (table["answer"] == "no"), "item"].tolist()
    assert result["critical_flaws"] == flaws
    assert result["rating"] == ("critically low" if len(flaws) > 1 else "low" if flaws else result["rating"])


@pytest.mark.parametrize("answers, rating", [
    ({}, "high"),
    ({"5": "no"}, "high"),
    ({"5": "no", "6": "no"}, "moderate"),
    ({"7": "no", "5": "no"}, "low"),
    ({"7": "no", "9": "no"}, "critically low"),
    ({"7": "partly", "9": "no meta-analysis", "5": "partly"}, "high"),
])
def test_amstar_rule(answers, rating):
    items = [str(i) for i in range(1, 17)]
    table = pd.DataFrame({"item": items, "critical": [i in AMSTAR_CRITICAL for i in items],
                          "answer": [answers.get(i, "yes") for i in items]})
    assert amstar_rating(table)["rating"] == rating


def test_a_checklist_with_a_missing_item_is_refused(tmp_path):
    bad = tmp_path / "book.csv"
    lines = (CHECK / "amstar2_book.csv").read_text().splitlines()
    bad.write_text("\n".join(lines[:5] + lines[6:]) + "\n")
    with pytest.raises(DataError, match="missing: 5"):
        amstar_assessment(CHECK / "amstar2_items.csv", bad)


def test_umbrella_findings_are_verbatim_and_weigh_the_register():
    source = ROOT / "data/sources/005_moncrieff2023_abstract.txt"
    findings = read_umbrella_findings(ROOT / "data/sources/umbrella_findings.csv", source)
    assert set(findings["domain"]) >= {"receptors", "transporter", "tryptophan depletion", "genetics"}
    table = weigh_claims(findings, read_claims(ROOT / "data/claims.csv"))
    assert table.set_index("area").loc["receptors", "claims on it"].startswith("C06 (S1)")
    assert coverage(findings, ["C05"]) == (2, 6)


def test_an_umbrella_quote_not_in_the_source_is_refused(tmp_path):
    path = ROOT / "data/sources/umbrella_findings.csv"
    bad = tmp_path / "f.csv"
    bad.write_text(path.read_text().replace("showed no association", "showed a strong association"))
    with pytest.raises(DataError, match="line 2, column 'quote': not found verbatim"):
        read_umbrella_findings(bad, ROOT / "data/sources/005_moncrieff2023_abstract.txt")
