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

from analysis.book.escape import markdown, markdown_table

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
        ``datasets`` (file, old and new hash and rows), ``studies`` (file, added, removed),
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
            studies.append({"file": datasets[-1]["file"], "added": sorted(after - before), "removed": sorted(before - after)})
    values = [
        {"chapter": ch, "key": key, "old": old_results.get((ch, key), "(none)"), "new": new_results.get((ch, key), "(none)")}
        for ch, key in sorted(set(old_results) | set(new_results))
        if old_results.get((ch, key)) != new_results.get((ch, key))
    ]
    flipped = [v for v in values if is_conclusion(v["key"])]
    return {"datasets": datasets, "studies": studies, "values": values, "flipped": flipped}


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
        "studies added and removed, every value in the text that changed, and the conclusions that flipped.",
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
    if diff["studies"]:
        for s in diff["studies"]:
            added = ", ".join(markdown(x) for x in s["added"]) or "none"
            removed = ", ".join(markdown(x) for x in s["removed"]) or "none"
            lines.append(f"- {markdown(s['file'])}: added {added}; removed {removed}.")
    else:
        lines.append("No study was added or removed.")
    lines += ["", "## Values in the text", ""]
    if diff["values"]:
        lines += _table(["chapter", "key", "before", "now"], [[v["chapter"], v["key"], v["old"], v["new"]] for v in diff["values"]])
    else:
        lines.append("No value in the text changed.")
    lines.append("")
    return "\n".join(lines)


def read_manifest(path: Path) -> dict:
    return json.loads(path.read_text()) if path.is_file() else {}
