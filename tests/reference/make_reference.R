#!/usr/bin/env Rscript
# Writes the metafor reference fixtures that tests/test_metafor_reference.py compares against.
# Run from the repository root:   Rscript tests/reference/make_reference.R
# Needs Debian's r-cran-metafor, r-cran-metadat and r-cran-jsonlite. CI does not need R: it reads the
# JSON and the CSVs this script wrote, which are committed.
suppressMessages({library(metafor); library(jsonlite)})

out_dir <- "tests/reference"
methods <- c("FE", "DL", "REML", "PM", "ML", "SJ", "HE", "EB")

write_csv <- function(df, name) {
  write.csv(df, file.path(out_dir, "datasets", paste0(name, ".csv")), row.names = FALSE)
  name
}

# ---- datasets, in the project's trial schema -------------------------------------------------------
bcg <- dat.bcg
binary_bcg <- data.frame(study = paste0(bcg$author, " ", bcg$year), year = bcg$year, subgroup = bcg$alloc,
                         ablat = bcg$ablat, treat_events = bcg$tpos, treat_n = bcg$tpos + bcg$tneg,
                         ctrl_events = bcg$cpos, ctrl_n = bcg$cpos + bcg$cneg)
niel <- dat.nielweise2007
binary_niel <- data.frame(study = paste(niel$author, niel$year), year = niel$year,
                          treat_events = niel$ai, treat_n = niel$n1i, ctrl_events = niel$ci, ctrl_n = niel$n2i)
hine <- dat.hine1989
binary_hine <- data.frame(study = paste(hine$study, hine$source), treat_events = hine$ai, treat_n = hine$n1i,
                          ctrl_events = hine$ci, ctrl_n = hine$n2i)
norm <- dat.normand1999
cont_norm <- data.frame(study = paste(norm$study, norm$source), treat_mean = norm$m1i, treat_sd = norm$sd1i,
                        treat_n = norm$n1i, ctrl_mean = norm$m2i, ctrl_sd = norm$sd2i, ctrl_n = norm$n2i)
hack <- dat.hackshaw1998
gen_hack <- data.frame(study = paste(hack$author, hack$year, hack$study), year = hack$year,
                       effect = hack$yi, se = sqrt(hack$vi))
raud <- dat.raudenbush1985
gen_raud <- data.frame(study = paste(raud$author, raud$year, raud$study), year = raud$year,
                       weeks = raud$weeks, effect = raud$yi, se = sqrt(raud$vi))
cases <- list(
  list(name = "bcg", data = binary_bcg, measures = c("RR", "OR", "RD"), moderator = "ablat"),
  list(name = "bcg_k2", data = binary_bcg[1:2, ], measures = c("RR", "OR", "RD")),
  list(name = "nielweise2007_zero_cells", data = binary_niel, measures = c("RR", "OR", "RD")),
  list(name = "hine1989_tau2_zero", data = binary_hine, measures = c("RD", "RR")),
  list(name = "normand1999", data = cont_norm, measures = c("SMD")),
  list(name = "hackshaw1998", data = gen_hack, measures = c("GEN")),
  list(name = "raudenbush1985", data = gen_raud, measures = c("GEN"), moderator = "weeks")
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
  r <- safe(rma(es$yi, es$vi, method = method, test = if (hksj) "knha" else "z"))
  if (is.null(r)) return(NULL)
  res <- list(method = method, hksj = hksj, pool = pool_fields(r))
  if (method != "FE" && r$k > 1) {
    ci <- safe(confint(r)$random)
    if (!is.null(ci)) res$tau2_ci <- list(tau2_low = ci["tau^2", "ci.lb"], tau2_high = ci["tau^2", "ci.ub"],
                                          i2_low = ci["I^2(%)", "ci.lb"], i2_high = ci["I^2(%)", "ci.ub"],
                                          h2_low = ci["H^2", "ci.lb"], h2_high = ci["H^2", "ci.ub"])
  }
  if (r$k >= 3) {
    l1 <- leave1out(r)
    res$leave_one_out <- list(estimate = l1$estimate, se = l1$se, ci_low = l1$ci.lb, ci_high = l1$ci.ub,
                              tau2 = if (method == "FE") rep(0, r$k) else l1$tau2, i2 = l1$I2, q = l1$Q)
    inf <- influence(r)$inf
    res$influence <- list(rstudent = inf$rstudent, dffits = inf$dffits, cook_d = inf$cook.d, cov_r = inf$cov.r,
                          tau2_del = inf$tau2.del, qe_del = inf$QE.del, hat = inf$hat, weight = inf$weight)
    tf <- safe(trimfill(r))
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

reference <- list()
for (cs in cases) {
  write_csv(cs$data, cs$name)
  for (measure in cs$measures) {
    es <- effects(cs$data, measure)
    entry <- list(dataset = cs$name, measure = measure, yi = c(es$yi), vi = c(es$vi), fits = list())
    if (nrow(cs$data) >= 3) {
      eg <- regtest(es$yi, es$vi, model = "lm")
      entry$egger <- list(bias = unname(coef(eg$fit)[2]), se = unname(sqrt(diag(vcov(eg$fit)))[2]),
                          t = eg$zval, df = eg$dfs, p = eg$pval, limit = eg$est,
                          limit_ci_low = eg$ci.lb, limit_ci_high = eg$ci.ub)
    }
    for (method in methods) for (hksj in c(FALSE, TRUE)) {
      f <- fit_case(es, cs$data, method, hksj)
      if (!is.null(f)) entry$fits[[length(entry$fits) + 1]] <- f
    }
    if (!is.null(cs$moderator)) {
      entry$metareg <- list(moderator = cs$moderator, fits = list())
      for (method in methods) for (hksj in c(FALSE, TRUE)) {
        r <- safe(rma(es$yi, es$vi, mods = cs$data[[cs$moderator]], method = method,
                      test = if (hksj) "knha" else "z"))
        if (is.null(r)) next
        entry$metareg$fits[[length(entry$metareg$fits) + 1]] <- list(
          method = method, hksj = hksj, beta = c(r$beta), se = r$se, ci_low = r$ci.lb, ci_high = r$ci.ub,
          tau2 = r$tau2, i2 = r$I2, q = r$QE, p_q = r$QEp, qm = r$QM, p_qm = r$QMp)
      }
    }
    if (length(unique(cs$data$subgroup)) >= 2) {
      entry$subgroups <- list()
      for (method in methods) {
        groups <- sort(unique(cs$data$subgroup))
        fits <- lapply(groups, function(g) rma(es$yi, es$vi, subset = cs$data$subgroup == g, method = method))
        between <- rma(sapply(fits, function(f) c(f$beta)), sei = sapply(fits, function(f) f$se), method = "FE")
        entry$subgroups[[length(entry$subgroups) + 1]] <- list(
          method = method, groups = groups, estimate = sapply(fits, function(f) c(f$beta)),
          se = sapply(fits, function(f) f$se), tau2 = sapply(fits, function(f) f$tau2),
          q_between = between$QE, df_between = length(groups) - 1, p_between = between$QEp)
      }
    }
    reference[[length(reference) + 1]] <- entry
  }
}

out <- list(source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                          metadat = as.character(packageVersion("metadat")),
                          script = "tests/reference/make_reference.R",
                          note = "rma.uni defaults (level 95, control defaults); escalc defaults (add 1/2, to only0, vtype LS)"),
            cases = reference)
writeLines(toJSON(out, auto_unbox = TRUE, digits = NA, null = "null", na = "null", pretty = FALSE),
           file.path(out_dir, "metafor_reference.json"))
cat("wrote", length(reference), "dataset x measure cases with metafor", as.character(packageVersion("metafor")), "\n")
