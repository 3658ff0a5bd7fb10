"""The agreement verdict (issue 23, item 2): a claim against its re-derivation by the difference
with its interval and an equivalence margin, driven across each threshold."""

import math

import numpy as np

import pytest

from analysis.review import verdicts
from analysis.review.grade_rules import MID


def test_the_difference_interval_combines_both_half_widths():
    out = verdicts.agreement(0.79, 0.833, 0.732, 0.934, 0.24, claimed_low=0.70, claimed_high=0.89)
    assert out["difference"] == pytest.approx(-0.043, abs=1e-12)
    half = math.hypot(0.095, 0.101)
    assert out["ci_low"] == pytest.approx(-0.043 - half, abs=1e-12)
    assert out["ci_high"] == pytest.approx(-0.043 + half, abs=1e-12)
    assert out["verdict"] == "reproduced" and out["margin"] == 0.24


@pytest.mark.parametrize("claimed, verdict", [
    (0.40, "reproduced"),      # difference 0.00, interval -0.10 to 0.10: within +-0.24
    (0.53, "reproduced"),      # 0.03 to 0.23
    (0.27, "reproduced"),      # -0.23 to -0.03
    (0.55, "inconclusive"),    # 0.05 to 0.25: reaches past the margin
    (0.20, "inconclusive"),    # -0.30 to -0.10
    (0.75, "overstated"),      # 0.25 to 0.45: all above the margin
    (0.05, "understated"),     # -0.45 to -0.25: all below minus the margin
])
def test_verdicts_across_the_margin(claimed, verdict):
    # the re-derivation: 0.40 (0.30 to 0.50), half-width 0.10; the claim gives no interval
    assert verdicts.agreement(claimed, 0.40, 0.30, 0.50, 0.24)["verdict"] == verdict


def test_the_claims_own_interval_can_make_a_verdict_inconclusive():
    assert verdicts.agreement(0.55, 0.40, 0.35, 0.45, 0.24)["verdict"] == "reproduced"          # 0.15 +- 0.05
    wide = verdicts.agreement(0.55, 0.40, 0.35, 0.45, 0.24, claimed_low=0.35, claimed_high=0.75)
    assert wide["ci_high"] == pytest.approx(0.15 + math.hypot(0.2, 0.05)) and wide["verdict"] == "inconclusive"


def test_ratios_are_compared_on_the_log_scale():
    margin = verdicts.margin_for("RR")
    assert margin == pytest.approx(math.log(MID["RR"]))
    out = verdicts.agreement(1.6, 1.27, 1.2, 1.35, margin, log=True)
    assert out["difference"] == pytest.approx(math.log(1.6 / 1.27))
    assert out["ci_low"] == pytest.approx(math.log(1.6 / 1.27) - (math.log(1.35) - math.log(1.2)) / 2)
    assert out["verdict"] == "inconclusive"  # log(1.26) = 0.231 < log(1.25) + ... the interval reaches below
    assert verdicts.agreement(2.0, 1.27, 1.2, 1.35, margin, log=True)["verdict"] == "overstated"
    assert verdicts.agreement(1.3, 1.27, 1.2, 1.35, margin, log=True)["verdict"] == "reproduced"
    assert verdicts.agreement(0.8, 1.27, 1.2, 1.35, margin, log=True)["verdict"] == "understated"


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="margin must be > 0"):
        verdicts.agreement(1, 1, 0, 2, 0)
    with pytest.raises(ValueError, match="needs a claimed value"):
        verdicts.agreement(float("nan"), 1, 0, 2, 0.2)
    with pytest.raises(ValueError, match="low <= high"):
        verdicts.agreement(1, 1, 2, 0, 0.2)
    with pytest.raises(ValueError, match="no equivalence margin"):
        verdicts.margin_for("OR")


def test_a_claim_of_two_rates_is_judged_as_their_risk_ratio_and_each_rate_as_a_ratio():
    import types

    from analysis.review.claim_verdicts import binary_claim_agreement, rate_agreement

    claim = {"treat_value": 48.0, "ctrl_value": 30.0}
    model = types.SimpleNamespace(estimate=np.log(1.3), ci_low=[np.log(1.25)], ci_high=[np.log(1.35)])
    claimed, result = binary_claim_agreement(claim, types.SimpleNamespace(model=model))
    assert claimed == pytest.approx(1.6)
    assert result["difference"] == pytest.approx(np.log(1.6 / 1.3))
    assert result["verdict"] == "inconclusive"  # 1.6/1.3 = 1.23, its interval reaches past 1.25
    on_rate = rate_agreement(48.0, {"rate": 0.47, "ci_low": 0.45, "ci_high": 0.49})
    assert on_rate["difference"] == pytest.approx(np.log(48 / 47)) and on_rate["verdict"] == "reproduced"
