"""When each dataset's search was run (PRISMA 2020 item 6), read from the data, never typed.

Every dataset folder under ``data/trials/`` carries its ``SOURCE.txt`` (provenance and attribution);
a Metapsy release may also carry ``metadata/last_search.txt``. The date of the last search is taken
from the release's metadata where it has one, else from a ``last search YYYY-MM-DD`` statement in
``SOURCE.txt``; where neither states it, the table says so rather than guess.
"""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from analysis.review.importers.metapsy import release_last_search
from analysis.review.safeio import read_text

#: The review's datasets, by the chapter parameter that names each file.
DATASETS = {"cipriani_arms": "GRISELDA (Cipriani et al., 2018), SSRIs vs placebo",
            "linde": "Linde et al. (2015), primary care, antidepressants vs placebo",
            "psyctr": "Metapsy psychotherapy vs control (CBT)",
            "response": "Metapsy total response (psychotherapy response rates)",
            "linde2016": "Linde et al. (2016), primary care, psychotherapy vs antidepressants",
            "turner": "Turner et al. (2008), FDA-registered antidepressant trials",
            "furukawa_arms": "Furukawa et al. (2019), fixed-dose SSRI trials (dose-response)"}
LAST_SEARCH = re.compile(r"last search[^0-9]{0,20}(\d{4}-\d{2}-\d{2})", re.IGNORECASE)
NOT_STATED = "not stated in the dataset's source record"


def source_title(text: str) -> str:
    """The first line of a ``SOURCE.txt``: the dataset's name as its record gives it."""
    return next((line.strip() for line in text.splitlines() if line.strip()), "")


def last_search(data_file: str | Path) -> tuple[str | None, str]:
    """The date of the last search behind ``data_file`` and where it was read: the release's
    ``metadata/last_search.txt``, else its folder's ``SOURCE.txt``; ``(None, reason)`` if neither says."""
    found = release_last_search(data_file)
    if found:
        return found, "release metadata (last_search.txt)"
    source = Path(data_file).parent / "SOURCE.txt"
    if not source.is_file():
        return None, "no SOURCE.txt beside the data file"
    match = LAST_SEARCH.search(read_text(source, "dataset source record"))
    return (match.group(1), "SOURCE.txt") if match else (None, NOT_STATED)


def search_dates(data_files: dict, root: str | Path = ".") -> pd.DataFrame:
    """One row per dataset (``{label: path relative to root}``): the dataset, its source record's
    title, the date of the last search (or that it is not stated) and where that was read."""
    rows = []
    for label, rel in data_files.items():
        path = Path(root) / rel
        source = path.parent / "SOURCE.txt"
        title = source_title(read_text(source, "dataset source record")) if source.is_file() else ""
        date, where = last_search(path)
        rows.append({"dataset": label, "record": title, "last search": date or "not stated", "read from": where})
    return pd.DataFrame(rows, columns=["dataset", "record", "last search", "read from"])


def search_sentence(table: pd.DataFrame) -> str:
    """The search dates in one sentence: those stated, and the datasets whose record gives none."""
    stated = table[table["last search"] != "not stated"]
    missing = table.loc[table["last search"] == "not stated", "dataset"].tolist()
    parts = [f"{d} searched up to {t}" for d, t in zip(stated["dataset"], stated["last search"])]
    text = "; ".join(parts) if parts else "no dataset's record states the date of its last search"
    if missing and parts:
        others = "the other dataset's record does" if len(missing) == 1 else f"the other {len(missing)} datasets' records do"
        text += f"; {others} not state the date of the last search"
    return text
