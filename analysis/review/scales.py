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


def one_version_per_trial(study, scale) -> tuple:
    """Within each trial, the arms rated on one version of a scale: a difference between arms rated
    on different versions (the HAM-D-21 against the HAM-D-24, say) is not a mean difference.

    A trial whose arms use more than one version keeps the arms of the version that rates most of
    them; where no version does (a tie), the trial is left out.

    Parameters
    ----------
    study, scale : Series
        The trial and the scale code of each arm (same index).

    Returns
    -------
    (Series, DataFrame)
        A boolean mask of the arms kept, and one row per trial of more than one version:
        ``study``, ``versions`` (the codes, sorted), ``kept`` (the version kept, or missing: the
        trial is left out).
    """
    import pandas as pd

    study, scale = pd.Series(study).astype(str).str.strip(), pd.Series(scale).astype(str)
    keep = pd.Series(True, index=study.index)
    rows = []
    for trial, codes in scale.groupby(study, sort=True):
        counts = codes.value_counts()
        if len(counts) < 2:
            continue
        top = counts[counts == counts.max()]
        kept = str(top.index[0]) if len(top) == 1 else None
        keep[codes.index] = codes == kept
        rows.append({"study": trial, "versions": tuple(sorted(counts.index)), "kept": kept})
    return keep, pd.DataFrame(rows, columns=["study", "versions", "kept"])


def study_label(study_id: str) -> str:
    """A GRISELDA study id as a reader writes it: ``Kramer1998`` -> "Kramer 1998", ``Smith2004a`` ->
    "Smith 2004a"; an id without a trailing year stays as it is."""
    text = str(study_id).strip()
    return re.sub(r"^(.*?[A-Za-z.])\s*(\d{4}[a-z]?)$", r"\1 \2", text)
