"""One escaping layer: every string from data or parameters is made inert for where it lands.

- MyST markdown (and through it HTML and LaTeX): every ASCII punctuation character is
  backslash-escaped, which CommonMark defines as a literal character, so ``<script>``, ``&amp;``,
  ``$\\input{x}$``, ``{role}`` and backticks reach docutils as plain text; docutils then escapes it
  for HTML and Sphinx for LaTeX. Line breaks become spaces; control characters are dropped;
  bidirectional controls (RTL marks) are shown as ``<U+202E>`` (they would reorder the text
  around them and stop pdflatex).
- a name set as code (a parameter): a MyST inline code span, whose content is literal.
- matplotlib labels: ``$`` starts mathtext, so it is escaped as ``\\$``.
- free text pdflatex cannot set (commit messages): Greek letters spelled out by name.
- CSV downloads: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
  prefixed with ``'`` (OWASP's advice against formula injection), unless it is a number.
"""

from __future__ import annotations

import re
import string

_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Bidirectional formatting characters reorder the text around them ("Trojan Source") and stop
# pdflatex; they are shown as their code point instead, e.g. <U+202E>.
_BIDI = re.compile("[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]")


def visible(text) -> str:
    """``text`` without control characters, bidirectional controls shown as ``<U+XXXX>``."""
    text = _CONTROL.sub("", str(text))
    return _BIDI.sub(lambda m: f"<U+{ord(m.group()):04X}>", text)


def markdown(text) -> str:
    """``text`` as inert MyST markdown inline content that renders as the same characters."""
    text = visible(str(text).replace("\r\n", " ").replace("\n", " "))
    return _MD_SPECIAL.sub(r"\\\1", text)


def inline_code(text) -> str:
    """``text`` as a MyST inline code span (a parameter name set in the code font, which the PDF
    never hyphenates), rendering as the same characters: fenced by one backtick more than the
    longest run inside, padded with spaces where it starts or ends with one. Text that a code span
    cannot hold in a table cell (empty, a pipe or a line break) is :func:`markdown` text instead."""
    text = visible(text)
    if not text.strip() or "|" in text or "\n" in text or "\r" in text:
        return markdown(text)
    fence = "`" * (1 + max((len(run) for run in re.findall("`+", text)), default=0))
    pad = " " if text.startswith("`") or text.endswith("`") else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def markdown_table(headers, rows, raw=None) -> str:
    """A MyST pipe table; every header and cell escaped with :func:`markdown`, except the cells of
    the columns flagged in ``raw`` (markup built by code, not text from data), whose pipes and
    line breaks are still neutralised so that the table keeps its shape."""
    raw = raw or [False] * len(headers)
    head = "| " + " | ".join(markdown(h) for h in headers) + " |"
    rule = "|" + "|".join("---" for _ in headers) + "|"

    def cell(value, keep):
        return str(value).replace("|", "\\|").replace("\n", " ") if keep else markdown(value)

    return "\n".join([head, rule] + ["| " + " | ".join(cell(c, k) for c, k in zip(row, raw)) + " |" for row in rows])


def mathtext(text) -> str:
    """``text`` for a matplotlib label: no mathtext from data."""
    return visible(text).replace("$", r"\$")


def csv_cell(value):
    """A value for a CSV download: text that a spreadsheet would run as a formula is neutralised."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value


def greek_spelled_out(text: str) -> str:
    """Greek letters by name ("τ" -> "tau"), for free text such as a commit message that reaches
    the PDF: pdflatex with the book's preamble sets no Greek in text."""
    import unicodedata

    return "".join(unicodedata.name(c, "").rsplit(" ", 1)[-1].lower() if unicodedata.name(c, "").startswith("GREEK")
                   else c for c in text)
