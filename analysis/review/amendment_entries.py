"""The amendments made after the first results were seen, one entry each: what changed, why, how
the book reports it, and the ``path``/``marker`` that date it (:mod:`analysis.review.amendment_register`)."""

from __future__ import annotations

from dataclasses import dataclass

from analysis.review.bias_suite import MIN_PER_INTERVAL


@dataclass(frozen=True)
class Amendment:
    """One post-hoc choice: ``title``, what it ``changed``, ``why``, how it is ``reported``, the
    ``path``/``marker`` that date it against the first results of ``results`` (a chapter), and the
    ``(path, marker)`` pairs that date each later revision of the same rule (``revised``)."""

    title: str
    changed: str
    why: str
    reported: str
    path: str
    marker: str
    results: str
    revised: tuple = ()


AMENDMENTS = (
    Amendment("Outcome selection by the primary flag or the instrument priority",
              "Each CBT comparison gives one outcome: the release's primary-outcome flag where it has one, "
              "else the Metapsy hierarchy of instruments (metapsyTools' priority rule), as the outcome-"
              "selection and instrument-priority parameters set; first, the primary flag alone.",
              "Later Metapsy releases drop the primary flag; the priority rule follows the hierarchy the "
              "database states for that flag.",
              "Primary; the CBT chapter states which rule chose the outcomes.",
              "params/defaults.yml", "outcome_selection:", "chapters/cbt-control.ipynb"),
    Amendment("Implausible-effect rule",
              "Comparisons whose |g| exceeds the implausible-effect threshold (a parameter) are set aside: "
              "first in the primary analysis; since the revision, in a sensitivity analysis only.",
              "A few comparisons had effects that large and moved the pooled estimate; the revision restored "
              "the protocol's rule that no trial is excluded for its result.",
              "Sensitivity analysis only; the primary analysis pools every comparison.",
              "params/defaults.yml", "implausible_g", "chapters/cbt-control.ipynb",
              (("analysis/review/psychotherapy.py", "added after the first results) is a sensitivity analysis only"),)),
    Amendment("Dependency-aware primary model (CHE)",
              "The CBT primary analysis became the CHE working model with CR2 inference (the primary-model "
              "parameter); the first results pooled every comparison as independent.",
              "Comparisons of one trial share participants; treating them as independent can understate "
              "the uncertainty (Pustejovsky & Tipton 2022).",
              "Primary; the independent model and the other dependency models stand beside it in the "
              "dependency table.",
              "params/defaults.yml", "primary_model", "chapters/cbt-control.ipynb"),
    Amendment("Low risk of bias by protocol domain",
              "A comparison is at low risk only when it is low on every risk-of-bias domain the parameters "
              "name, a self-reported outcome counting for blinding as the self-report parameter sets it; "
              "first, the database's own score was used.",
              "The database's score counts a self-reported outcome as low risk in the blinding of outcome "
              "assessors, which RoB 2 does not.",
              "Primary rule for the low-risk subset and GRADE; the risk-of-bias figures show self-report apart.",
              "params/defaults.yml", "rob_domains", "chapters/cbt-control.ipynb"),
    Amendment("Shared control arms split in multi-arm trials",
              "A control arm shared by several comparisons of one trial is divided equally among them (its "
              "events and participants); first, the shared arm entered each comparison whole.",
              "A whole shared arm counts its participants more than once and gives those comparisons too "
              "much weight (Cochrane Handbook, section 23.3.4).",
              "Primary for the response rates of the total-response database (PST and CBT against control).",
              "analysis/review/selections.py", "split_shared_controls(metapsy_response",
              "chapters/cbt-control.ipynb"),
    Amendment("GRADE imprecision by the thresholds of importance",
              "An interval is downgraded one level for each threshold of importance (the MID for benefit, "
              "its mirror for harm) it straddles, and a precise null is not; first, any interval including "
              "no effect was. One rule, revised once: the precise null came first, the thresholds straddled next.",
              "A precise null is as certain as a precise effect, and an interval that excludes no effect but "
              "straddles the MID is imprecise too (GRADE's minimally contextualised approach, Zeng et al. 2021).",
              "Primary for every certainty rating (the GRADE rules table above).",
              "analysis/review/grade_rules.py", "A precise null result", "chapters/summary-of-findings.ipynb",
              (("analysis/review/grade_rules.py", "whether or not it also includes no effect"),)),
    Amendment("GRADE publication bias by the median bias-corrected estimate",
              "Besides Egger's test, the domain is downgraded when the median bias-corrected estimate is back "
              "inside a threshold of importance that the main estimate is beyond; first, when any one "
              "estimate fell below the MID. One rule, revised once: the revision judges an important harm as it "
              "judges an important benefit.",
              "No single method should decide alone (PET, for one, is biased downwards under heterogeneity; "
              "Stanley 2017), and an important harm is as open to small-study effects as a benefit.",
              "Primary for every certainty rating (the GRADE rules table above).",
              "analysis/review/grade_rules.py", "median of the bias-corrected estimates",
              "chapters/summary-of-findings.ipynb", (("analysis/review/grade_rules.py", "the MID for harm"),)),
    Amendment("GRADE overrides revised",
              "SSRI response is downgraded for risk of bias (first, not) and its publication bias is left to "
              "the rule (first, downgraded by an override); PST against antidepressants is downgraded for "
              "indirectness; a publication-bias override for adverse-event dropouts was added and later withdrawn "
              "(its risk-of-bias override stands).",
              "A methodologist's review found overrides at odds with what they cite: Cipriani et al. rated "
              "most trials at moderate or high risk of bias, and one PST trial enrolled another population.",
              "Primary; each override's reason is a footnote of the Summary of findings.",
              "data/grade.csv", "pst_antidepressants,indirectness", "chapters/summary-of-findings.ipynb"),
    Amendment("Verdict rule",
              "A claim's agreement with its re-derivation is judged by the difference and its 95% interval "
              "against the equivalence margin; first, by whether the claim fell inside the re-derived CI.",
              "The first rule ignored the claim's own uncertainty and the data the two estimates share "
              "(a peer reviewer's finding).",
              "Primary for every verdict.",
              "analysis/review/verdicts.py", "AGREEMENT_VERDICTS", "chapters/claims.ipynb"),
    Amendment("Small-study tests for g and for dependent comparisons",
              "Egger's test on g uses the sample-size based SE and, where a trial gives several comparisons, "
              "a multilevel (CHE + CR2) Egger test is run; first, the classic test on every effect as "
              "independent. Made for the journal effects of the FDA trials; the revision extended it to CBT.",
              "g's usual SE depends on g, so the classic test is biased (Pustejovsky & Rodgers 2019), "
              "and comparisons of one trial are not independent.",
              "Primary for the FDA trials' journal effects and the CBT funnel, and this review's GRADE "
              "publication-bias rule on CBT reads it; the classic test is shown beside it.",
              "analysis/review/bias_suite.py", "def small_study_tests", "chapters/publication-bias.ipynb",
              (("analysis/review/bias_suite.py", "metapsy_small_study"),)),
    Amendment("Subgroups by control condition under the CHE model",
              "The control-condition subgroups and their test are one CHE meta-regression with a cluster-"
              "robust (HTZ) Wald test; first, each subgroup was pooled on its own as if its comparisons "
              "were independent.",
              "The subgroup analysis should rest on the primary model's assumptions; the first test "
              "treats the comparisons of one trial as independent, which they are not.",
              "Primary; the independent-effects test is stated beside it.",
              "analysis/review/psychotherapy.py", "multilevel_subgroups", "chapters/cbt-control.ipynb"),
    Amendment("Bias corrections on one effect per trial",
              "Trim-and-fill, PET-PEESE, the selection models and WAAP-WLS run on one effect per trial (the "
              "comparisons of a trial aggregated with the assumed within-trial correlation); first, on every "
              "comparison as if independent.",
              "These methods assume independent effects, which the comparisons of one trial are not.",
              "Primary for the CBT bias-corrected range and this review's GRADE publication-bias rule.",
              "analysis/review/psychotherapy.py", "bias_suite(per_trial)", "chapters/cbt-control.ipynb"),
    Amendment("Weight shares of the primary estimate",
              "The shares of the weight at low risk of bias and against waiting lists that GRADE reads are "
              "those of the primary model's estimate; first, of the independent model's.",
              "A rule about the primary estimate should weigh the comparisons as that estimate does.",
              "Primary for this review's GRADE risk-of-bias and indirectness rules.",
              "analysis/review/psychotherapy.py", "comparison_weights(fits, primary_model)",
              "chapters/cbt-control.ipynb"),
    Amendment("Network meta-analysis of the GRISELDA antidepressants",
              "A chapter pools every drug of the GRISELDA trials in one network, with its own certainty "
              "rules; the protocol first planned pairwise comparisons only.",
              "Readers of a review of antidepressants ask which drug; Cipriani et al. (2018) answered it "
              "with a network.",
              "A secondary analysis; the pairwise analyses and their verdicts are unchanged.",
              "chapters/network.ipynb", "Which antidepressant", "chapters/ssri-placebo.ipynb"),
    Amendment("Reproduction tolerance for the published odds ratios",
              "A re-derived network odds ratio reproduces a published one when the two differ by less than "
              "the reproduction tolerance (a ratio, a parameter of the network chapter).",
              "The comparison with Cipriani et al. needs a stated tolerance; the release differs from "
              "their data.",
              "Primary for the network's published comparison.",
              "params/defaults.yml", "reproduction_tolerance", "chapters/network.ipynb"),
    Amendment("Certainty of drug-against-drug estimates",
              "Every pair of drugs is rated by the network's certainty rules.",
              "A reader choosing between two drugs needs the certainty of that comparison, not only of each "
              "drug against placebo.",
              "Primary for the pair ratings (a CSV download).",
              "analysis/review/network_pair_certainty.py", "def pair_certainty", "chapters/network.ipynb"),
    Amendment("Network reporting bias by Peters' test",
              "The network certainty rule judges funnel asymmetry by Peters' test (log odds ratio on the "
              "inverse sample size); first, by Egger's test.",
              "Egger's test is biased for log odds ratios, whose SE depends on the effect (Peters et al. 2006).",
              "Primary for the network's certainty ratings.",
              "analysis/review/network_certainty.py", "SMALL_STUDY_MIN_TRIALS", "chapters/network.ipynb"),
    Amendment("PET-PEESE counted once in the bias-corrected summary",
              "The range, median and counts of the bias-corrected estimates count PET-PEESE once, since its "
              "estimate is PET's or PEESE's, whichever its test picks; first, that estimate counted twice.",
              "One estimate counted twice weighs double in the median that this review's GRADE "
              "publication-bias rule reads, and inflates the counts of methods.",
              "Primary for the bias-corrected range, median and counts in the chapters, GRADE and the "
              "scoring against the FDA record; PET-PEESE's row stays in the methods' tables.",
              "analysis/review/bias_suite.py", "distinct_fitted", "chapters/cbt-control.ipynb"),
    Amendment("Sparse selection models set aside",
              f"A step-function selection model whose sparsest p-value interval holds fewer than {MIN_PER_INTERVAL} "
              "trials is set aside as unreliable, though fitted: its estimate stays in the table but leaves the "
              "bias-corrected range, median and counts; first, every fitted estimate counted.",
              "Made after seeing the CBT four-parameter model give a negative g, against every other method, from "
              "a handful of trials in one interval; a step model estimates each interval's weight from the trials "
              "in it. Because the rule answers a result, the chapters give the median with the model counted too.",
              "Primary for the bias-corrected range and median in the chapters, the Summary of Findings and "
              "this review's GRADE publication-bias rule; the scoring against the FDA record counts every "
              "fitted method.",
              "analysis/review/bias_suite.py", "MIN_PER_INTERVAL", "chapters/cbt-control.ipynb"),
    Amendment("Prediction intervals with t on k - 2 df in the Summary of Findings",
              "The prediction interval of each risk-ratio row of the Summary of Findings, the abstract and "
              "the GRADE inconsistency rule uses t with k - 2 degrees of freedom (Higgins et al. 2009); "
              "first, metafor's normal quantile.",
              "With few trials (problem-solving therapy) the normal quantile makes the interval too narrow "
              "(a peer reviewer's finding).",
              "Primary for the Summary of Findings and GRADE; the chapters keep metafor's interval.",
              "analysis/review/indicators.py", "def ratio_prediction_interval", "chapters/summary-of-findings.ipynb"),
    Amendment("One HAM-D version per trial in the mean-difference network",
              "A trial whose arms are rated on different versions of the HAM-D keeps the arms of the version "
              "that rates most of them, and is left out where none does; first, every arm was kept.",
              "A difference between arms rated on different versions is not a mean difference on one scale "
              "(a peer reviewer's finding).",
              "Primary for the HAM-D network; the chapter names the trials concerned.",
              "analysis/review/network.py", "one_version_per_trial", "chapters/network.ipynb"),
    Amendment("Each control condition under its own CHE model",
              "Besides the primary CHE model, whose subgroups share variance components, each control "
              "condition is fitted under its own CHE model, with and without the implausible effects.",
              "A subgroup more heterogeneous than the others should keep its own heterogeneity and weights, "
              "as in the Handbook's separate-tau² analysis of independent effects.",
              "Sensitivity analysis only, in the CBT chapter's table of subgroup analyses; the primary test "
              "is unchanged.",
              "analysis/review/psychotherapy.py", "separate_multilevel_subgroups", "chapters/cbt-control.ipynb"),
    Amendment("Waitlist against care as usual",
              "The difference in g between the waitlist and care-as-usual subgroups, with its CR2 t-test, is "
              "reported beside the test for subgroup differences.",
              "A waitlist may act as a nocebo and inflate the effect of psychotherapy (Furukawa et al. 2014); "
              "the contrast says by how much against care as usual.",
              "Post hoc, labelled so in the CBT chapter; the primary test is the test for subgroup differences.",
              "chapters/cbt-control.ipynb", "wl_cau = by_control.contrast(", "chapters/cbt-control.ipynb"),
    Amendment("PET and PEESE on the sample-size based SE of g",
              "PET and PEESE on the CBT trials are also fitted with the sample-size based SE of g (each trial's "
              "aggregated from its comparisons as the effects are) as predictor and in the weights.",
              "The usual SE of g contains g, which pulls PET's intercept down (Pustejovsky & Rodgers 2019; "
              "a peer reviewer's finding); the same SE was already replaced in Egger's test.",
              "Sensitivity analysis only: shown in the CBT bias table and text, never in the bias-corrected "
              "range, median or counts, nor in this review's GRADE rule.",
              "analysis/review/bias_suite.py", "def with_sample_size_rows", "chapters/cbt-control.ipynb"),
    Amendment("The network on HAM-D, 17 items alone",
              "The mean-difference network is also fitted on the trials rated on HAM-D, 17 items alone, and "
              "the chapter says whether each drug's judgement against the minimal important difference holds there.",
              "The 3-point criterion is defined on that version, and the versions are not one scale "
              "(a peer reviewer's finding).",
              "Sensitivity analysis, labelled so in the network chapter; the judgement on every version stays "
              "the one reported first.",
              "analysis/review/network.py", '"hamd17": ("endpoint_mean", False)', "chapters/network.ipynb"),
)
