"""The statistics engine: meta-analysis as R's metafor does it, usable without the book.

It knows nothing of files, the repository, the book, wording or plotting: arrays in,
frozen results (``to_dict()``, ``to_frame()``) or data frames out.

>>> from analysis.meta import effect_sizes, rma
>>> res = rma([0.1, 0.3, 0.5], [0.01, 0.02, 0.015], method="REML")
>>> round(res.estimate, 4)
0.2917
"""

from analysis.meta.blocks import BlockCov
from analysis.meta.conversions import from_proportions, log_or_to_smd, nnt_from_smd, smd_to_log_or
from analysis.meta.cumul import cumulative, cumulative_summary
from analysis.meta.effect_sizes import MEASURES, RATIO_MEASURES, COLUMNS_FOR_MEASURE, effect_sizes
from analysis.meta.fit import METHODS, MetaResult, fit_row, pooled_proportion, rma
from analysis.meta.influence import influence
from analysis.meta.leave1out import leave_one_out, leave_one_out_summary
from analysis.meta.multilevel import MultilevelResult, rma_mv
from analysis.meta.outliers import outliers
from analysis.meta.regtest import egger
from analysis.meta.robust import RobustResult, che, robust
from analysis.meta.subgroups import SubgroupResult, subgroup_analysis
from analysis.meta.trimfill import trimfill
from analysis.meta.vcalc import vcalc

__all__ = [
    "BlockCov", "COLUMNS_FOR_MEASURE", "MEASURES", "METHODS", "MetaResult", "MultilevelResult",
    "RATIO_MEASURES", "RobustResult", "SubgroupResult", "che", "cumulative", "cumulative_summary",
    "effect_sizes", "egger", "fit_row", "from_proportions", "influence", "leave_one_out",
    "leave_one_out_summary", "log_or_to_smd", "nnt_from_smd", "outliers", "pooled_proportion", "rma",
    "rma_mv", "robust", "smd_to_log_or", "subgroup_analysis", "trimfill", "vcalc",
]
