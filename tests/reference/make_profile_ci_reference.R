#!/usr/bin/env Rscript
# Writes the fixture that tests/meta/test_profile_ci.py compares against: metafor's
# profile-likelihood confidence intervals of the two variance components of a three-level model
# (confint(fit, sigma2 = 1) and confint(fit, sigma2 = 2) of rma.mv(yi, V, random = ~ 1 | cl/es)),
# with V diagonal or from vcalc (the CHE working model), by REML and ML.
# Run from the repository root:   Rscript tests/reference/make_profile_ci_reference.R
# Needs metafor, metadat and jsonlite. CI does not need R: the inputs are in the JSON.
suppressMessages({library(metafor); library(jsonlite)})

out <- "tests/reference/profile_ci_reference.json"
# the tightest optimiser tolerance at which every profile refit converges (the refits inherit it)
CONTROLS <- lapply(c(1e-12, 1e-10, 1e-9, 1e-8), function(tol) list(rel.tol = tol, iter.max = 1000, eval.max = 1000))

profile_case <- function(yi, vi, cluster, rho = NA, method = "REML") {
  dd <- data.frame(yi = yi, vi = vi, cl = as.character(cluster), es = seq_along(yi))
  V <- if (is.na(rho)) dd$vi else vcalc(vi, cluster = cl, obs = es, rho = rho, data = dd)
  for (ctl in CONTROLS) {
    limits <- tryCatch({
      fit <- rma.mv(yi, V, random = ~ 1 | cl/es, data = dd, method = method, control = ctl)
      lapply(1:2, function(i) {
        ci <- confint(fit, sigma2 = i)$random
        list(estimate = unname(ci[1, 1]), ci_low = unname(ci[1, 2]), ci_high = unname(ci[1, 3]))
      })
    }, warning = function(w) NULL, error = function(e) NULL)
    if (!is.null(limits)) break
  }
  if (is.null(limits)) stop("no tolerance gave every profile refit")
  list(yi = yi, vi = vi, cluster = as.character(cluster), rho = rho, method = method,
       rel_tol = ctl$rel.tol, sigma2 = fit$sigma2, loglik = as.numeric(logLik(fit)),
       sigma2_between = limits[[1]], sigma2_within = limits[[2]])
}

kon <- metadat::dat.konstantopoulos2011
ass <- metadat::dat.assink2016
cbt <- read.csv("tests/reference/datasets/metapsy_cbt_control.csv")
cases <- list(
  konstantopoulos2011 = profile_case(kon$yi, kon$vi, kon$district),
  konstantopoulos2011_ml = profile_case(kon$yi, kon$vi, kon$district, method = "ML"),
  assink2016_che = profile_case(ass$yi, ass$vi, ass$study, rho = 0.6),
  metapsy_cbt_che = profile_case(cbt$yi, cbt$vi, cbt$trial, rho = 0.5)
)
meta <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
             metadat = as.character(packageVersion("metadat")))
writeLines(toJSON(list(versions = meta, cases = cases), digits = NA, auto_unbox = TRUE, pretty = TRUE), out)
