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


#: The Metapsy releases' instrument codes (lower case, as the release spells them) in the names
#: the literature uses; a code not listed is shown upper-cased as the release spells it.
INSTRUMENTS = {
    "hdrs": "HAM-D of unstated version", "hamd": "HAM-D of unstated version", "bdi": "BDI of unstated version",
    "bdi-1": "BDI-I", "bdi-2": "BDI-II", "phq-9": "PHQ-9", "ces-d": "CES-D", "epds": "EPDS", "hads-d": "HADS-D",
    "madrs": "MADRS", "madrs-s": "self-rated MADRS-S", "gds": "GDS", "adis": "ADIS interview",
    "bsi-d": "BSI depression scale", "cidi -adapt.": "adapted CIDI", "cidi": "CIDI interview",
    "hscl-d": "HSCL depression scale", "mini": "MINI interview", "poms-d": "POMS depression scale",
    "scl": "SCL", "qids": "QIDS", "ids": "IDS", "not stated": "not stated",
}


def instrument_name(code: str) -> str:
    """The reader's name of a Metapsy instrument code, without commas or brackets so that it can
    stand in a list: ``hdrs`` -> "HAM-D of unstated version", ``hdrs-17`` -> "17-item HAM-D",
    ``bdi-2`` -> "BDI-II", ``cidi -adapt.`` -> "adapted CIDI";
    a code not in :data:`INSTRUMENTS` upper-cased (``k10`` -> "K10"), so that a new release's code
    is still shown, as it spells it."""
    text = " ".join(str(code).split())
    low = text.lower()
    items = re.fullmatch(r"(?:hdrs|hamd|ham-d)-?(\d+)", low)
    if items:
        return f"{int(items.group(1))}-item HAM-D"
    return INSTRUMENTS.get(low, text.upper())
