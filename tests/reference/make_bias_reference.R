#!/usr/bin/env Rscript
# Writes the publication-bias fixtures that tests/meta/test_bias.py compares against: metafor's
# step-function selection models (3PSM, 4PSM), trim-and-fill (L0, R0), and PET, PEESE, PET-PEESE,
# WLS and WAAP-WLS computed with lm().
# Run from the repository root:   Rscript tests/reference/make_bias_reference.R
# Needs Debian's r-cran-metafor, r-cran-metadat, r-cran-jsonlite and r-cran-numderiv (selmodel's
# Hessian). CI does not need R: the inputs yi/vi are stored in the JSON, which is committed.
suppressMessages({library(metafor); library(jsonlite)})

out <- "tests/reference/bias_reference.json"

bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bask <- dat.baskerville2012
hack <- dat.hackshaw1998
datasets <- list(
  hackshaw1998 = list(yi = hack$yi, vi = hack$vi, note = "log OR, passive smoking and lung cancer"),
  bangertdrowns2004 = list(yi = dat.bangertdrowns2004$yi, vi = dat.bangertdrowns2004$vi,
                           note = "SMD, writing-to-learn interventions"),
  lehmann2018 = list(yi = dat.lehmann2018$yi, vi = dat.lehmann2018$vi, note = "SMD, red colour and attractiveness"),
  baskerville2012 = list(yi = bask$smd, vi = bask$se^2, note = "SMD, practice facilitation"),
  kalaian1996 = list(yi = dat.kalaian1996$yi, vi = dat.kalaian1996$vi,
                     note = "SMD, SAT coaching (both outcomes, treated as independent): PET-PEESE picks PEESE"),
  raudenbush1985 = list(yi = dat.raudenbush1985$yi, vi = dat.raudenbush1985$vi,
                        note = "SMD, teacher expectancy and IQ"),
  bcg = list(yi = c(bcg$yi), vi = c(bcg$vi),
             note = "log RR, BCG vaccine: no study has p <= .025 (an empty first interval, whose delta is fixed)"),
  hackshaw1998_positive = list(yi = hack$yi[hack$yi > 0], vi = hack$vi[hack$yi > 0],
                               note = "positive log ORs only: the 4PSM interval .5 < p <= 1 is empty (metafor stops)")
)

safe <- function(expr) tryCatch(expr, error = function(e) list(error = conditionMessage(e)))

sel_fields <- function(yi, vi, steps) safe({
  fit <- suppressWarnings(selmodel(rma(yi, vi, method = "ML"), type = "stepfun", steps = steps))
  list(estimate = c(fit$beta)[1], se = fit$se[1], ci_low = fit$ci.lb[1], ci_high = fit$ci.ub[1],
       tau2 = fit$tau2, se_tau2 = fit$se.tau2, delta = fit$delta, se_delta = fit$se.delta,
       ll = fit$ll, lrt = fit$LRT, lrt_p = fit$LRTp, k = fit$k, steps = fit$steps,
       k_per_interval = fit$ptable$k)
})

lm_intercept <- function(fit) {
  s <- summary(fit)$coefficients
  ci <- confint(fit)
  list(estimate = s[1, 1], se = s[1, 2], p = s[1, 4], ci_low = ci[1, 1], ci_high = ci[1, 2],
       k = length(fit$residuals))
}

wls <- function(yi, vi) {
  sei <- sqrt(vi)
  lm_intercept(lm(I(yi / sei) ~ 0 + I(1 / sei)))
}

waap <- function(yi, vi) {
  all <- wls(yi, vi)
  adequate <- sqrt(vi) <= abs(all$estimate) / 2.8
  res <- if (sum(adequate) >= 2) wls(yi[adequate], vi[adequate]) else all
  c(res, list(k_adequate = sum(adequate), method = if (sum(adequate) >= 2) "WAAP" else "WLS"))
}

tf_fields <- function(yi, vi, estimator) safe({
  tf <- trimfill(rma(yi, vi, method = "REML"), estimator = estimator)
  list(k0 = tf$k0, side = tf$side, estimate = c(tf$beta)[1], se = tf$se[1], ci_low = tf$ci.lb[1],
       ci_high = tf$ci.ub[1], tau2 = tf$tau2)
})

cases <- lapply(names(datasets), function(name) {
  d <- datasets[[name]]
  yi <- d$yi; vi <- d$vi
  pet <- lm_intercept(lm(yi ~ sqrt(vi), weights = 1 / vi))
  peese <- lm_intercept(lm(yi ~ vi, weights = 1 / vi))
  list(dataset = name, note = d$note, yi = yi, vi = vi,
       sel3 = sel_fields(yi, vi, 0.025), sel4 = sel_fields(yi, vi, c(0.025, 0.5)),
       pet = pet, peese = peese, pet_peese = if (pet$p < 0.10) "PEESE" else "PET",
       wls = wls(yi, vi), waap = waap(yi, vi),
       trimfill_L0 = tf_fields(yi, vi, "L0"), trimfill_R0 = tf_fields(yi, vi, "R0"))
})

ref <- list(source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                          numDeriv = as.character(packageVersion("numDeriv"))),
            cases = cases)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, pretty = TRUE, null = "null", na = "null"), out)
cat("wrote", out, "\n")
