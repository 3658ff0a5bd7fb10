"""Search dates read from each dataset's record (issue 23, item 15), never typed."""

from pathlib import Path

from analysis.book.params import ROOT, defaults
from analysis.review.search_dates import DATASETS, NOT_STATED, last_search, search_dates, search_sentence

FILES = {"Metapsy psychotherapy vs control": "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv",
         "GRISELDA": "data/trials/cipriani2018/arms.csv"}


def test_the_dates_come_from_the_records():
    table = search_dates(FILES, ROOT).set_index("dataset")
    assert table.loc["Metapsy psychotherapy vs control", "last search"] == "2022-01-01"
    assert table.loc["Metapsy psychotherapy vs control", "read from"] == "SOURCE.txt"
    assert table.loc["GRISELDA", "last search"] == "not stated"
    assert table.loc["GRISELDA", "record"].startswith("Cipriani et al. 2018 (GRISELDA)")
    assert search_sentence(table.reset_index()) == ("Metapsy psychotherapy vs control searched up to 2022-01-01; "
                                                    "the other dataset's record does not state the date of the last search")


def test_release_metadata_comes_first_and_a_missing_record_is_said(tmp_path):
    release = tmp_path / "rel"
    (release / "metadata").mkdir(parents=True)
    (release / "data.csv").write_text("x\n")
    (release / "metadata" / "last_search.txt").write_text("2024-03-01\n")
    (release / "SOURCE.txt").write_text("A release\nlast search 2020-01-01\n")
    assert last_search(release / "data.csv") == ("2024-03-01", "release metadata (last_search.txt)")
    (tmp_path / "bare").mkdir()
    assert last_search(tmp_path / "bare" / "d.csv") == (None, "no SOURCE.txt beside the data file")
    assert search_sentence(search_dates({"bare": "bare/d.csv"}, tmp_path)) == (
        "no dataset's record states the date of its last search")


def test_every_dataset_of_the_book_has_its_search_date_row():
    """Every dataset folder under data/trials is named by a parameter the protocol's table covers,
    the Furukawa et al. (2019) dose arms among them (their record states no search date)."""
    named = {(ROOT / values[key]).resolve().parent for values in defaults().values()
             for key in DATASETS if isinstance(values.get(key), str)}
    folders = {p.resolve() for p in (ROOT / "data" / "trials").iterdir() if (p / "SOURCE.txt").is_file()}
    assert folders <= named, sorted(str(Path(f).name) for f in folders - named)
    dose = defaults()["dose-response"]["furukawa_arms"]
    row = search_dates({DATASETS["furukawa_arms"]: dose}, ROOT).iloc[0]
    assert row["record"].startswith('MBNMAdose "ssri"') and "Furukawa et al. 2019" in row["record"]
    assert (row["last search"], row["read from"]) == ("not stated", NOT_STATED)
