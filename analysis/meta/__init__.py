"""The statistics engine: meta-analysis as R's metafor does it, usable without the book.

It knows nothing of files, the repository, the book, wording or plotting: arrays in,
frozen results (``to_dict()``, ``to_frame()``) or data frames out.

>>> from analysis.meta import effect_sizes, rma
>>> res = rma([0.1, 0.3, 0.5], [0.01, 0.02, 0.015], method="REML")
>>> round(res.estimate, 4)
0.2917
"""

from importlib import import_module

# Public name -> the module that defines it. Imported on first use (PEP 562), so that
# ``import analysis.meta`` stays light and each verb loads only what it needs.
_WHERE = {
    "from_proportions": "conversions", "log_or_to_smd": "conversions", "nnt_from_smd": "conversions",
    "smd_to_log_or": "conversions",
    "cumulative": "cumul", "cumulative_summary": "cumul", "even_steps": "cumul",
    "MEASURES": "effect_sizes", "RATIO_MEASURES": "effect_sizes", "COLUMNS_FOR_MEASURE": "effect_sizes",
    "effect_sizes": "effect_sizes",
    "METHODS": "fit", "MetaResult": "fit", "fit_row": "fit", "pooled_proportion": "fit", "rma": "fit",
    "influence": "influence",
    "leave_one_out": "leave1out", "leave_one_out_summary": "leave1out", "deletion_screen": "leave1out",
    "deletion_candidates": "leave1out",
    "outliers": "outliers",
    "egger": "regtest", "egger_multilevel": "regtest", "egger_sample_size": "regtest", "sample_size_se": "regtest",
    "equal_arms_se": "regtest", "peters": "regtest",
    "MultilevelRegression": "mlreg", "multilevel_regression": "mlreg",
    "SubgroupResult": "subgroups", "subgroup_analysis": "subgroups", "MultilevelSubgroups": "subgroups",
    "multilevel_subgroups": "subgroups", "separate_multilevel_subgroups": "subgroups",
    "WaldResult": "wald", "wald_test": "wald", "equal_constraints": "wald",
    "trimfill": "trimfill",
    "SelectionResult": "selmodel", "selmodel": "selmodel",
    "WLSIntercept": "small_study", "peese": "small_study", "pet": "small_study", "pet_peese": "small_study",
    "WAAPResult": "waap", "waap_wls": "waap", "wls": "waap",
    "q_profile": "confint",
    "BlockCov": "blocks", "MultilevelResult": "multilevel", "rma_mv": "multilevel", "profile_ci": "profile_likelihood",
    "RobustResult": "robust", "che": "robust", "robust": "robust", "vcalc": "vcalc",
    "predict": "predict", "prop_above": "predict", "se_tau2": "predict", "higgins_pi": "predict",
    "DoseCurve": "dose_response", "DoseResponseResult": "dose_response", "dose_contrasts": "dose_contrasts",
    "dose_knots": "dose_response", "dose_response": "dose_response", "gl_covariance": "dose_contrasts",
    "rcs_basis": "dose_response", "rma_dose": "dose_response",
    "NetworkData": "nma_data", "arm_contrasts": "nma_data", "treatment_order": "nma_data",
    "NetworkFit": "nma", "nma": "nma", "fit_contrasts": "nma_gls",
    "DesignByTreatment": "nma_coherence", "QDecomposition": "nma_coherence",
    "design_by_treatment": "nma_coherence", "node_split": "nma_coherence", "q_decomposition": "nma_coherence",
    "combine_groups": "conversions",
}

__all__ = sorted(_WHERE)

# A verb whose module has its name (metafor's ``influence``, ``trimfill``, ``selmodel``, ...) is bound
# here, once: otherwise the first import of the module would make the package attribute the module.
from analysis.meta.dose_response import dose_response  # noqa: E402, F401
from analysis.meta.effect_sizes import effect_sizes  # noqa: E402, F401
from analysis.meta.influence import influence  # noqa: E402, F401
from analysis.meta.nma import nma  # noqa: E402, F401
from analysis.meta.outliers import outliers  # noqa: E402, F401
from analysis.meta.predict import predict  # noqa: E402, F401
from analysis.meta.robust import robust  # noqa: E402, F401
from analysis.meta.selmodel import selmodel  # noqa: E402, F401
from analysis.meta.trimfill import trimfill  # noqa: E402, F401
from analysis.meta.vcalc import vcalc  # noqa: E402, F401


def __getattr__(name: str):
    if name not in _WHERE:
        raise AttributeError(f"module 'analysis.meta' has no attribute {name!r}")
    value = getattr(import_module(f"analysis.meta.{_WHERE[name]}"), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
