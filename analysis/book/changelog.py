"""What changed since the last good build: datasets, studies, glued values and flipped conclusions.

The build keeps the last good build's results table (``_build/results.csv``) and dataset manifest
(``_build/manifest.json``); this module compares them with the new ones and writes the book's
"What changed" page. Conclusions are the glued values whose key says they are one: a verdict
(``verdict_*``), a significance or direction (``*_significant``, ``*_direction``) or a GRADE
certainty (``*_certainty``).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

from analysis.escape import markdown, markdown_table

CONCLUSION_MARKERS = ("verdict_", "_significant", "_direction", "_certainty")


def read_results(path: Path) -> dict:
    """(chapter, key) -> value from a results table; empty when there is none yet."""
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as fh:
        return {(r["chapter"], r["key"]): r["value"] for r in csv.DictReader(fh)}


def is_conclusion(key: str) -> bool:
    return key.startswith("verdict_") or any(m in key for m in CONCLUSION_MARKERS[1:])


def compare(old_results: dict, new_results: dict, old_manifest: dict, new_manifest: dict) -> dict:
    """Differences between two builds.

    Returns
    -------
    dict
        ``datasets`` (file, old and new hash and rows), ``studies`` (file, added, removed, and
        ``renamed``: [old, new] pairs, the same trial under a new label, not counted as added or removed),
        ``values`` (chapter, key, old, new) and ``flipped`` (the conclusions among them).
    """
    datasets, studies = [], []
    for name in sorted(set(old_manifest) | set(new_manifest)):
        old, new = old_manifest.get(name), new_manifest.get(name)
        if old and new and old["sha256"] == new["sha256"]:
            continue
        datasets.append(
            {
                "file": f"{name}: " + " → ".join(dict.fromkeys(m["file"] for m in (old, new) if m)),
                "old": "absent" if not old else f"{old['sha256'][:12]} ({old['rows']} rows)",
                "new": "absent" if not new else f"{new['sha256'][:12]} ({new['rows']} rows)",
            }
        )
        before = set(old.get("studies", [])) if old else set()
        after = set(new.get("studies", [])) if new else set()
        if before != after:
            renamed = renames(sorted(before - after), sorted(after - before),
                              (old or {}).get("signatures", {}), (new or {}).get("signatures", {}))
            was, now = {a for a, _ in renamed}, {b for _, b in renamed}
            studies.append({"file": datasets[-1]["file"], "added": sorted(after - before - now),
                            "removed": sorted(before - after - was), "renamed": renamed})
    values = [
        {"chapter": ch, "key": key, "old": old_results.get((ch, key), "(none)"), "new": new_results.get((ch, key), "(none)")}
        for ch, key in sorted(set(old_results) | set(new_results))
        if old_results.get((ch, key)) != new_results.get((ch, key))
    ]
    flipped = [v for v in values if is_conclusion(v["key"])]
    return {"datasets": datasets, "studies": studies, "values": values, "flipped": flipped}




def study_signatures(frame, ids) -> dict:
    """Study id -> what identifies the trial apart from its label (its year and arms: the
    :data:`analysis.review.importers.common.SIGNATURE_COLUMNS` the file has), for recognising renames; empty without a ``year``."""
    from analysis.review.importers.common import SIGNATURE_COLUMNS

    if ids is None or not hasattr(frame, "columns") or "year" not in frame.columns:
        return {}
    columns = [c for c in SIGNATURE_COLUMNS if c in frame.columns]
    cells = frame[columns].astype("string").fillna("").apply(lambda col: col.str.strip())
    cells = cells.replace({"NA": "", "nan": "", "<NA>": ""})
    for col in ("year", "n_arm1", "n_arm2", "n.ig", "n.cg"):  # 2017 and 2017.0 are one year
        if col in cells.columns:
            cells[col] = cells[col].str.replace(r"\.0+$", "", regex=True)
    rows = cells.agg("\x1f".join, axis=1)
    return {str(study): json.dumps(sorted(set(group)), ensure_ascii=False) for study, group in rows.groupby(ids.astype(str))}


def renames(removed: list[str], added: list[str], old_signatures: dict, new_signatures: dict) -> list[list[str]]:
    """Pairs [old label, new label]: a removed and an added study with the same signature (year and
    arms), each the only one of its side with that signature."""
    def by_signature(labels, signatures):
        out = {}
        for label in labels:
            if label in signatures:
                out.setdefault(signatures[label], []).append(label)
        return {sig: group[0] for sig, group in out.items() if len(group) == 1}

    gone, came = by_signature(removed, old_signatures), by_signature(added, new_signatures)
    return sorted([gone[sig], came[sig]] for sig in gone.keys() & came.keys())


#: A list of studies on the "What changed" page names at most this many; changes.json has them all.
MAX_NAMES = 50


def _names(names: list[str]) -> str:
    """Escaped study names, the first :data:`MAX_NAMES` of them and how many more (a new release
    may add thousands); ``none`` when empty."""
    if not names:
        return "none"
    shown = ", ".join(markdown(x) for x in names[:MAX_NAMES])
    more = len(names) - MAX_NAMES
    return shown if more <= 0 else f"{shown} and {more:,} more ({len(names):,} in all, listed in changes.json)"


def _table(headers: list[str], rows: list[list]) -> list[str]:
    return markdown_table(headers, rows).splitlines()


def render(diff: dict, first_build: bool) -> str:
    """The "What changed" page as MyST markdown."""
    lines = ["# What changed", ""]
    if first_build:
        lines += ["This is the first build in this folder: there is no earlier build to compare with.", ""]
        return "\n".join(lines)
    lines += [
        "This page compares this build with the last good build before it: the datasets that changed, the",
        "studies added, removed and renamed, every value in the text that changed, and the conclusions that flipped.",
        "",
        "## Conclusions that flipped",
        "",
    ]
    if diff["flipped"]:
        lines += _table(["chapter", "conclusion", "before", "now"], [[v["chapter"], v["key"], v["old"], v["new"]] for v in diff["flipped"]])
    else:
        lines.append("No conclusion (verdict, significance, direction or GRADE certainty) changed.")
    lines += ["", "## Datasets", ""]
    if diff["datasets"]:
        lines += _table(["file", "before", "now"], [[d["file"], d["old"], d["new"]] for d in diff["datasets"]])
    else:
        lines.append("No dataset changed.")
    lines += ["", "## Studies added and removed", ""]
    if any(s["added"] or s["removed"] for s in diff["studies"]):
        for s in diff["studies"]:
            if s["added"] or s["removed"]:
                lines.append(f"- {markdown(s['file'])}: added {_names(s['added'])}; removed {_names(s['removed'])}.")
    else:
        lines.append("No study was added or removed.")
    lines += ["", "## Studies renamed", ""]
    renamed = [(s["file"], old, new) for s in diff["studies"] for old, new in s.get("renamed", [])]
    if renamed:
        lines.append("The same trial (same year and arms) under a new label:")
        lines.append("")
        lines += _table(["file", "before", "now"], [[f, old, new] for f, old, new in renamed])
    else:
        lines.append("No study was renamed.")
    lines += ["", "## Values in the text", ""]
    if diff["values"]:
        lines += _table(["chapter", "key", "before", "now"], [[v["chapter"], v["key"], v["old"], v["new"]] for v in diff["values"]])
    else:
        lines.append("No value in the text changed.")
    lines.append("")
    return "\n".join(lines)


def read_manifest(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}
