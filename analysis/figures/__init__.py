"""The book's figures: each function draws one figure in the book's style and returns it.

Labels that come from data are escaped for matplotlib (no mathtext from data).
"""

from analysis.figures.bias import bias_corrected_plot, methods_against_truth_plot
from analysis.figures.flow import claims_plot, flow_diagram
from analysis.figures.forest import arm_columns, cumulative_plot, forest_plot, funnel_plot, leave_one_out_plot
from analysis.figures.rob import ROB_COLOURS, rob_summary_plot, rob_traffic_light

__all__ = [
    "ROB_COLOURS", "arm_columns", "bias_corrected_plot", "methods_against_truth_plot", "claims_plot", "cumulative_plot", "flow_diagram", "forest_plot", "funnel_plot",
    "leave_one_out_plot", "rob_summary_plot", "rob_traffic_light",
]
