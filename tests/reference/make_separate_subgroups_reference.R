#!/usr/bin/env Rscript
# Writes the fixture that tests/meta/test_separate_subgroups.py compares against: each subgroup
# under its own CHE model (vcalc with rho; rma.mv with random = ~ 1 | cluster/es, test = "t", on
# that subgroup alone) with CR2 inference (robust(fit, cluster, clubSandwich = TRUE)), and the
# separate-tau² test for subgroup differences on those estimates (rma(estimate, sei = se,
# method = "FE"): Q, df and p).
# Run from the repository root:   Rscript tests/reference/make_separate_subgroups_reference.R
# Needs metafor, metadat, clubSandwich and jsonlite. CI does not need R: the inputs are in the JSON.
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})

out <- "tests/reference/separate_subgroups_reference.json"
CONTROLS <- list(list(rel.tol = 1e-12, iter.max = 1000, eval.max = 1000),
                 list(rel.tol = 1e-10, iter.max = 1000, eval.max = 1000),
                 list(rel.tol = 1e-8, iter.max = 1000, eval.max = 1000))

fit_mv <- function(V, dd) {
  for (ctl in CONTROLS) {
    res <- try(rma.mv(yi, V, random = ~ 1 | cl/es, data = dd, method = "REML", test = "t", control = ctl),
               silent = TRUE)
    if (!inherits(res, "try-error")) return(res)
  }
  stop("rma.mv did not converge")
}

separate_case <- function(yi, vi, cluster, group, rho) {
  dd <- data.frame(yi = yi, vi = vi, cl = as.character(cluster), es = seq_along(yi), g = as.character(group))
  groups <- lapply(sort(unique(dd$g)), function(level) {
    sub <- dd[dd$g == level, ]
    sub$es <- seq_len(nrow(sub))  # vcalc indexes its correlations by obs: number the effects 1..k
    V <- vcalc(vi, cluster = cl, obs = es, rho = rho, data = sub)
    fit <- fit_mv(V, sub)
    rob <- robust(fit, cluster = sub$cl, clubSandwich = TRUE)
    list(subgroup = level, k = nrow(sub), clusters = length(unique(sub$cl)), estimate = unname(c(rob$b)),
         se = rob$se, df = unname(rob$ddf), ci_low = rob$ci.lb, ci_high = rob$ci.ub,
         sigma2_between = fit$sigma2[1], sigma2_within = fit$sigma2[2])
  })
  est <- sapply(groups, `[[`, "estimate")
  se <- sapply(groups, `[[`, "se")
  between <- rma(est, sei = se, method = "FE")
  list(yi = yi, vi = vi, cluster = as.character(cluster), group = as.character(group), rho = rho,
       groups = groups, Q = between$QE, df = length(groups) - 1, p = between$QEp)
}

ass <- metadat::dat.assink2016
bor <- metadat::dat.bornmann2007
bor <- escalc(measure = "OR", ai = waward, n1i = wtotal, ci = maward, n2i = mtotal, data = bor)
cbt <- read.csv("tests/reference/datasets/metapsy_cbt_control.csv")
cases <- list(
  assink2016_pubstatus = separate_case(ass$yi, ass$vi, ass$study, ass$pubstatus, 0.6),
  bornmann2007_type = separate_case(bor$yi, bor$vi, bor$study, bor$type, 0.5),
  metapsy_cbt_control = separate_case(cbt$yi, cbt$vi, cbt$trial, cbt$control, 0.5)
)
meta <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
             clubSandwich = as.character(packageVersion("clubSandwich")),
             metadat = as.character(packageVersion("metadat")))
writeLines(toJSON(list(versions = meta, cases = cases), digits = NA, auto_unbox = TRUE, pretty = TRUE), out)
