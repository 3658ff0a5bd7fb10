"""One escaping layer: every string from data or parameters is made inert for where it lands.

- MyST markdown (and through it HTML and LaTeX): every ASCII punctuation character is
  backslash-escaped, which CommonMark defines as a literal character, so ``<script>``, ``&amp;``,
  ``$\\input{x}$``, ``{role}`` and backticks reach docutils as plain text; docutils then escapes it
  for HTML and Sphinx for LaTeX. Line breaks become spaces; control characters are dropped.
- matplotlib labels: ``$`` starts mathtext, so it is escaped as ``\\$``.
- CSV downloads: a cell starting with ``=``, ``+``, ``-``, ``@``, tab or carriage return is
  prefixed with ``'`` (OWASP's advice against formula injection), unless it is a number.
"""

from __future__ import annotations

import re
import string

_MD_SPECIAL = re.compile("([" + re.escape(string.punctuation) + "])")
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def markdown(text) -> str:
    """``text`` as inert MyST markdown inline content that renders as the same characters."""
    text = _CONTROL.sub("", str(text)).replace("\r\n", " ").replace("\n", " ")
    return _MD_SPECIAL.sub(r"\\\1", text)


def markdown_table(headers, rows) -> str:
    """A MyST pipe table; every header and cell escaped with :func:`markdown`."""
    head = "| " + " | ".join(markdown(h) for h in headers) + " |"
    rule = "|" + "|".join("---" for _ in headers) + "|"
    return "\n".join([head, rule] + ["| " + " | ".join(markdown(c) for c in row) + " |" for row in rows])


def mathtext(text) -> str:
    """``text`` for a matplotlib label: no mathtext from data."""
    return _CONTROL.sub("", str(text)).replace("$", r"\$")


def csv_cell(value):
    """A value for a CSV download: text that a spreadsheet would run as a formula is neutralised."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        try:
            float(value)
            return value
        except ValueError:
            return "'" + value
    return value
