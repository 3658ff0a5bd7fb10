"""Rating scales as the reader reads them: the GRISELDA release's scale codes in words."""

from __future__ import annotations

import re

#: The code of the 17-item HAM-D, the version the minimal important difference is defined on.
HAMD17 = "HAMD17"

#: Codes of the release that are not a HAM-D version, with the reader's name.
NAMES = {"MADRS": "MADRS", "*": "not recorded"}


def scale_name(code: str) -> str:
    """The reader's name of a scale code of the GRISELDA release (upper or lower case):
    ``HAMD17`` -> "HAM-D, 17 items", ``HAMDunspecified`` -> "HAM-D, number of items not stated",
    ``*`` -> "not recorded"; any other code (``MADRS``, ``IDS-IVR-30``) as the release spells it.

    Parameters
    ----------
    code : str
        The release's ``Scale`` value.

    Returns
    -------
    str
        A name without brackets, so that it can stand inside a parenthesis.
    """
    text = str(code).strip()
    upper = text.upper()
    items = re.fullmatch(r"HAMD(\d+)", upper)
    if items:
        return f"HAM-D, {int(items.group(1))} items"
    if upper == "HAMDUNSPECIFIED":
        return "HAM-D, number of items not stated"
    return NAMES.get(upper, text)
