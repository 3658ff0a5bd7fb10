#!/usr/bin/env Rscript
# Writes the tight-control metafor fixtures that tests/test_exact.py compares rma(..., exact = TRUE) against.
# Run from the repository root, after make_reference.R:   Rscript tests/reference/make_exact_reference.R
# Reads the dataset CSVs make_reference.R wrote (tests/reference/datasets/) and computes the same effect sizes.
# Every fit uses control = list(threshold = 1e-10, maxiter = 1000, tol = 1e-12): Fisher scoring (ML, REML, EB)
# stops when tau^2 changes by less than 1e-10, uniroot (PM) and the Q-profile roots of confint() are found to
# tol = 1e-12. tau2.max is left at metafor's default, max(100, 10 * mad(yi)^2), so confint() keeps its own
# default search interval [min(0, tau^2), max(100, 10 * tau^2)].
suppressMessages({library(metafor); library(jsonlite)})

out_dir <- "tests/reference"
methods <- c("FE", "DL", "REML", "PM", "ML", "SJ", "HE", "EB")
ctrl <- list(threshold = 1e-10, maxiter = 1000, tol = 1e-12)
ci_ctrl <- list(tol = 1e-12, maxiter = 1000)
cases <- list(
  list(name = "bcg", measures = c("RR", "OR", "RD"), moderator = "ablat"),
  list(name = "bcg_k2", measures = c("RR", "OR", "RD")),
  list(name = "nielweise2007_zero_cells", measures = c("RR", "OR", "RD")),
  list(name = "hine1989_tau2_zero", measures = c("RD", "RR")),
  list(name = "normand1999", measures = c("SMD")),
  list(name = "hackshaw1998", measures = c("GEN")),
  list(name = "raudenbush1985", measures = c("GEN"), moderator = "weeks")
)

effects <- function(d, measure) {
  if (measure %in% c("RR", "OR", "RD"))
    return(escalc(measure, ai = d$treat_events, n1i = d$treat_n, ci = d$ctrl_events, n2i = d$ctrl_n))
  if (measure == "SMD")
    return(escalc("SMD", m1i = d$treat_mean, sd1i = d$treat_sd, n1i = d$treat_n,
                  m2i = d$ctrl_mean, sd2i = d$ctrl_sd, n2i = d$ctrl_n))
  data.frame(yi = d$effect, vi = d$se^2)
}

safe <- function(expr) tryCatch(expr, error = function(e) NULL)

pool_fields <- function(r) {
  p <- predict(r)
  list(k = r$k, estimate = c(r$beta)[1], se = r$se[1], ci_low = r$ci.lb[1], ci_high = r$ci.ub[1],
       pi_low = p$pi.lb, pi_high = p$pi.ub, tau2 = r$tau2, i2 = r$I2, h2 = r$H2, q = r$QE, p_q = r$QEp)
}

fit_case <- function(es, d, method, hksj) {
  r <- safe(rma(es$yi, es$vi, method = method, test = if (hksj) "knha" else "z", control = ctrl))
  if (is.null(r)) return(NULL)
  res <- list(method = method, hksj = hksj, pool = pool_fields(r), se_tau2 = r$se.tau2)
  if (method != "FE" && r$k > 1) {
    ci <- safe(confint(r, control = ci_ctrl)$random)
    if (!is.null(ci)) res$tau2_ci <- list(tau2_low = ci["tau^2", "ci.lb"], tau2_high = ci["tau^2", "ci.ub"],
                                          i2_low = ci["I^2(%)", "ci.lb"], i2_high = ci["I^2(%)", "ci.ub"],
                                          h2_low = ci["H^2", "ci.lb"], h2_high = ci["H^2", "ci.ub"])
  }
  if (r$k >= 3) {
    # leave1out() and cumul() refit with the model's control; trimfill() takes it through '...'
    l1 <- leave1out(r)
    res$leave_one_out <- list(estimate = l1$estimate, se = l1$se, ci_low = l1$ci.lb, ci_high = l1$ci.ub,
                              tau2 = if (method == "FE") rep(0, r$k) else l1$tau2, i2 = l1$I2, q = l1$Q)
    tf <- safe(trimfill(r, control = ctrl))
    if (!is.null(tf)) res$trimfill <- list(k0 = tf$k0, side = tf$side, estimate = c(tf$beta), se = tf$se,
                                           ci_low = tf$ci.lb, ci_high = tf$ci.ub, tau2 = tf$tau2)
  }
  if (!is.null(d$year)) {
    cu <- cumul(r, order = d$year)
    res$cumulative <- list(estimate = cu$estimate, ci_low = cu$ci.lb, ci_high = cu$ci.ub,
                           tau2 = if (method == "FE") rep(0, r$k) else cu$tau2)
  }
  res
}

metareg_fits <- function(es, mod) {
  fits <- list()
  for (method in methods) for (hksj in c(FALSE, TRUE)) {
    r <- safe(rma(es$yi, es$vi, mods = mod, method = method, test = if (hksj) "knha" else "z", control = ctrl))
    if (is.null(r)) next
    fits[[length(fits) + 1]] <- list(
      method = method, hksj = hksj, beta = c(r$beta), se = r$se, ci_low = r$ci.lb, ci_high = r$ci.ub,
      tau2 = r$tau2, i2 = r$I2, q = r$QE, p_q = r$QEp, qm = r$QM, p_qm = r$QMp)
  }
  fits
}

reference <- list()
for (cs in cases) {
  d <- read.csv(file.path(out_dir, "datasets", paste0(cs$name, ".csv")))
  for (measure in cs$measures) {
    es <- effects(d, measure)
    entry <- list(dataset = cs$name, measure = measure, yi = c(es$yi), vi = c(es$vi), fits = list())
    for (method in methods) for (hksj in c(FALSE, TRUE)) {
      f <- fit_case(es, d, method, hksj)
      if (!is.null(f)) entry$fits[[length(entry$fits) + 1]] <- f
    }
    if (!is.null(cs$moderator))
      entry$metareg <- list(moderator = cs$moderator, fits = metareg_fits(es, d[[cs$moderator]]))
    reference[[length(reference) + 1]] <- entry
  }
}

out <- list(source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                          metadat = as.character(packageVersion("metadat")),
                          script = "tests/reference/make_exact_reference.R",
                          control = ctrl, confint_control = ci_ctrl,
                          note = paste("rma.uni with control = list(threshold = 1e-10, maxiter = 1000, tol = 1e-12),",
                                       "confint with control = list(tol = 1e-12, maxiter = 1000); level 95;",
                                       "escalc defaults (add 1/2, to only0, vtype LS)")),
            cases = reference)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(out_dir, "metafor_exact_reference.json"))
cat("wrote", length(reference), "dataset x measure cases with metafor", as.character(packageVersion("metafor")), "\n")
