"""Where the words of a PDF lie (pdftotext -bbox), for the checks that nothing runs off a page:
not past the text block's bottom, not under the footer, not past the page."""

from __future__ import annotations

import re
import subprocess
from collections import Counter

WORD = re.compile(r'<word xMin="([\d.-]+)" yMin="([\d.-]+)" xMax="([\d.-]+)" yMax="([\d.-]+)">([^<]*)</word>')


def pages_words(pdf) -> list[dict]:
    """Per page: its height and its words as (x0, y0, x1, y1, text)."""
    bbox = subprocess.run(["pdftotext", "-bbox", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    out = []
    for head, body in re.findall(r'<page width="[\d.]+" height="([\d.]+)">(.*?)</page>', bbox, re.S):
        words = [(float(a), float(b), float(c), float(d), t) for a, b, c, d, t in WORD.findall(body)]
        out.append({"height": float(head), "words": words})
    return out


def footer_line(pages) -> float:
    """The y (top) of the running footer: the most common top of a page's page-number word (a lone
    number, the right-most word of its line) among the lowest lines of the pages."""
    tops = Counter()
    for page in pages:
        numbers = [w for w in page["words"] if re.fullmatch(r"\d+|[ivxlc]+", w[4])]
        if numbers:
            tops[round(max(numbers, key=lambda w: w[1])[1], 1)] += 1
    return tops.most_common(1)[0][0]


def off_the_block(pages, gap: float = 1.0) -> list[tuple[int, str, float]]:
    """Words that reach the running footer's line or lie below it, other than the footer's own
    words, or that lie past the page's bottom: (page, word, its top). A table that does not break
    across pages runs on under the footer and off the page."""
    footer = footer_line(pages)
    bad = []
    for number, page in enumerate(pages, 1):
        for x0, y0, x1, y1, text in page["words"]:
            on_footer = abs(y0 - footer) <= gap
            if (not on_footer and y1 > footer + gap) or y1 > page["height"]:
                bad.append((number, text, y0))
    return bad
