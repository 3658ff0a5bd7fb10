#!/usr/bin/env Rscript
# Writes the fixtures that tests/meta/test_wald.py compares against: CHE meta-regressions (vcalc
# with rho, rma.mv with random = ~ 1 | cluster/es, test = "t") with CR2 inference on every
# coefficient (coef_test(..., vcov = "CR2", test = "Satterthwaite")) and clubSandwich's
# small-sample Wald test (Wald_test(..., vcov = "CR2", test = "HTZ")): one mean per subgroup
# (mods = ~ 0 + subgroup, constrain_equal) and a moderator beside a factor (constrain_zero); and
# the row-sum weights of the intercept-only CHE fit (weights(fit, type = "rowsum")).
# Run from the repository root:   Rscript tests/reference/make_wald_reference.R
# Needs metafor, metadat, clubSandwich and jsonlite. CI does not need R: the inputs are in the JSON.
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})

out <- "tests/reference/wald_reference.json"
# nlminb's default tolerance is loose; ask for a tight one and fall back where nlminb reports
# non-convergence (it does when a variance component runs to zero on its log scale).
CONTROLS <- list(list(rel.tol = 1e-12, iter.max = 1000, eval.max = 1000),
                 list(rel.tol = 1e-10, iter.max = 1000, eval.max = 1000),
                 list(rel.tol = 1e-8, iter.max = 1000, eval.max = 1000))

fit_mv <- function(form, V, dd) {
  for (ctl in CONTROLS) {
    res <- try(rma.mv(yi, V, mods = form, random = ~ 1 | cl/es, data = dd, method = "REML", test = "t",
                      control = ctl), silent = TRUE)
    if (!inherits(res, "try-error")) return(res)
  }
  stop("rma.mv did not converge")
}

che_case <- function(yi, vi, cluster, group, rho, x = NULL) {
  dd <- data.frame(yi = yi, vi = vi, cl = cluster, es = seq_along(yi), g = factor(group))
  V <- vcalc(vi, cluster = cl, obs = es, rho = rho, data = dd)
  if (is.null(x)) {
    fit <- fit_mv(~ 0 + g, V, dd)
    constraints <- constrain_equal(seq_len(nlevels(dd$g)))
  } else {
    dd$x <- x
    fit <- fit_mv(~ x + g, V, dd)
    constraints <- constrain_zero(3:(nlevels(dd$g) + 1))
  }
  ct <- coef_test(fit, vcov = "CR2", cluster = dd$cl, test = "Satterthwaite")
  wt <- Wald_test(fit, constraints = constraints, vcov = "CR2", cluster = dd$cl, test = "HTZ")
  plain <- fit_mv(~ 1, V, dd)
  list(yi = yi, vi = vi, cluster = as.character(cluster), group = as.character(group), x = x, rho = rho,
       levels = levels(dd$g), rowsum_weights = unname(weights(plain, type = "rowsum")),
       result = list(beta = unname(c(fit$b)), sigma2 = fit$sigma2, se = ct$SE, df = ct$df_Satt, p = ct$p_Satt,
                     Q = wt$Fstat * wt$df_num / wt$delta, F = wt$Fstat, df_num = wt$df_num,
                     df_denom = wt$df_denom, p_wald = wt$p_val))
}

ass <- metadat::dat.assink2016
bor <- metadat::dat.bornmann2007
bor <- escalc(measure = "OR", ai = waward, n1i = wtotal, ci = maward, n2i = mtotal, data = bor)
cbt <- read.csv("tests/reference/datasets/metapsy_cbt_control.csv")
cases <- list(
  assink2016_deltype = che_case(ass$yi, ass$vi, ass$study, ass$deltype, 0.6),
  assink2016_year_deltype = che_case(ass$yi, ass$vi, ass$study, ass$deltype, 0.6, x = ass$year - mean(ass$year)),
  bornmann2007_type = che_case(bor$yi, bor$vi, bor$study, bor$type, 0.5),
  metapsy_cbt_control = che_case(cbt$yi, cbt$vi, cbt$trial, cbt$control, 0.5)
)
meta <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
             clubSandwich = as.character(packageVersion("clubSandwich")),
             metadat = as.character(packageVersion("metadat")))
writeLines(toJSON(list(versions = meta, cases = cases), digits = NA, auto_unbox = TRUE, pretty = TRUE), out)
