"""Make variants of a Metapsy psychotherapy-vs-control release from the bundled one (v22.0.2), laid
out as Metapsy publishes a release (``data.csv`` beside ``metadata/``), to try the book on releases
that differ as real ones do: optional columns dropped, columns reordered, rows added and removed,
studies renamed, the other delimiter and decimal mark, many more rows.

    .venv/bin/python scripts/release_variants.py OUT_FOLDER [--drop COL ...] [--standard-csv]
        [--reorder] [--next] [--copies N]

The tests (tests/test_release_variants.py) and the benchmark of a living-review update
(scripts/bench.py) use :func:`make_release`; the bundled data are only read.
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import random
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RAW = ROOT / "data/trials/metapsy-psyctr/data_v22.0.2_raw.csv"
FLOW = ROOT / "data/trials/metapsy-psyctr/search_flow_v22.json"

#: What the next release changes (as the 2023 releases did): the columns it no longer carries,
#: studies renamed, one removed and two added (rows copied from another study, effects changed).
NEXT_DROPPED = ("primary", "outcome_rank", "is_multiarm")
RENAMED = {"Aagaard, 2017": "Aagaard et al., 2017", "Allart van Dam, 2003": "Allart-van Dam, 2003"}
REMOVED = ("Alhusen, 2021",)
ADDED = {"Newman, 2023": "Aagaard, 2017", "Novak, 2023": "Abas, 2018"}  # new study -> rows copied from

#: Columns every chapter that reads the release needs: refused, with file and column, if dropped.
REQUIRED = ("study", "condition_arm1", "condition_arm2", ".g", ".g_se", "sg", "ac", "ba", "itt")


def read_release(path: Path = RAW) -> list[list[str]]:
    """The release's rows as text (its own ';' format), header first."""
    with open(path, newline="", encoding="utf-8") as fh:
        return [list(r) for r in csv.reader(fh, delimiter=";")]


def optional_columns(header=None) -> list[str]:
    """The release's columns that a chapter may do without (all but :data:`REQUIRED` and the
    unnamed index column)."""
    header = read_release()[0] if header is None else header
    return [c for c in header if c and c not in REQUIRED]


def _next(rows: list[list[str]]) -> list[list[str]]:
    header, body = rows[0], rows[1:]
    study, year, g = header.index("study"), header.index("year"), header.index(".g")
    out = [list(r) for r in body if r[study] not in REMOVED]
    for r in out:
        r[study] = RENAMED.get(r[study], r[study])
    for new, source in ADDED.items():
        for r in [r for r in body if r[study] == source]:
            r = list(r)
            r[study], r[year] = new, "2023"
            r[g] = r[g].replace("1", "2") if r[g] else r[g]
            out.append(r)
    return [header] + out


def _copies(rows: list[list[str]], n: int) -> list[list[str]]:
    """``n`` copies of every study, copies 2.. under new names (``<study> [copy 2]``) with their
    effects jittered, so that a release has n times the rows and studies."""
    header, body = rows[0], rows[1:]
    study, g = header.index("study"), header.index(".g")
    rng = random.Random(2026)
    out = list(body)
    for i in range(2, n + 1):
        for r in body:
            r = list(r)
            r[study] = f"{r[study]} [copy {i}]"
            value = r[g].replace(",", ".")
            if re.fullmatch(r"-?\d+(\.\d+)?(e-?\d+)?", value):
                r[g] = f"{float(value) + rng.gauss(0, 0.1):.4f}".replace(".", ",")
            out.append(r)
    return [header] + out


def make_release(folder: Path, *, drop=(), next_release: bool = False, reorder: bool = False,
                 standard_csv: bool = False, copies: int = 1, last_search: str = "2023-03-01") -> Path:
    """Write a release variant to ``folder`` (``data.csv``, ``metadata/search_flow.json``,
    ``metadata/last_search.txt``) and return the path of its ``data.csv``.

    ``drop``: columns left out; ``next_release``: :data:`NEXT_DROPPED` left out, studies renamed,
    removed and added; ``reorder``: the columns in reverse order (the index column first);
    ``standard_csv``: ',' separated with '.' decimals and no index column; ``copies``: every study
    this many times.
    """
    rows = read_release()
    if next_release:
        rows = _next(rows)
        drop = tuple(drop) + NEXT_DROPPED
    if copies > 1:
        rows = _copies(rows, copies)
    for i, r in enumerate(rows[1:], start=1):
        r[0] = str(i)  # the unnamed index column
    header = rows[0]
    keep = [i for i, c in enumerate(header) if c not in set(drop)]
    if reorder:
        keep = keep[:1] + keep[1:][::-1]
    if standard_csv:
        keep = [i for i in keep if header[i]]
    folder = Path(folder)
    (folder / "metadata").mkdir(parents=True, exist_ok=True)
    out = io.StringIO()
    if standard_csv:
        number = re.compile(r"^-?\d+,\d+(e-?\d+)?$")
        writer = csv.writer(out, lineterminator="\n")
        for r in rows:
            writer.writerow([r[i].replace(",", ".") if number.match(r[i]) else r[i] for i in keep])
    else:
        writer = csv.writer(out, delimiter=";", quoting=csv.QUOTE_ALL, lineterminator="\n")
        for r in rows:
            writer.writerow([r[i] for i in keep])
    (folder / "data.csv").write_text(out.getvalue(), encoding="utf-8")
    flow = json.loads(FLOW.read_text(encoding="utf-8"))
    (folder / "metadata" / "search_flow.json").write_text(json.dumps(flow, indent=4), encoding="utf-8")
    (folder / "metadata" / "last_search.txt").write_text(last_search + "\n", encoding="utf-8")
    return folder / "data.csv"


def params_for(data: Path, **extra) -> str:
    """An override file pointing every chapter that reads the release at it (the ``all`` section)."""
    lines = ["all:", f"  psyctr: {data}", f"  search_flow: {data.parent / 'metadata' / 'search_flow.json'}"]
    lines += [f"  {k}: {v}" for k, v in extra.items()]
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", type=Path)
    parser.add_argument("--drop", nargs="*", default=())
    parser.add_argument("--next", action="store_true", help="the next release: columns dropped, studies renamed")
    parser.add_argument("--reorder", action="store_true")
    parser.add_argument("--standard-csv", action="store_true")
    parser.add_argument("--copies", type=int, default=1)
    args = parser.parse_args(argv)
    data = make_release(args.folder, drop=args.drop, next_release=args.next, reorder=args.reorder,
                        standard_csv=args.standard_csv, copies=args.copies)
    print(data)
    return 0


if __name__ == "__main__":
    sys.exit(main())
