#!/usr/bin/env Rscript
# Writes the fixtures that tests/meta/test_multilevel.py compares against: three-level models
# (rma.mv with random = ~ 1 | cluster/es_id), vcalc/CHE models and CR2 robust inference
# (robust(..., clubSandwich = TRUE)) on metadat datasets.
# Run from the repository root:   Rscript tests/reference/make_multilevel_reference.R
# Needs metafor, metadat, clubSandwich and jsonlite. CI does not need R: the input data of every
# case is stored in the JSON next to metafor's numbers.
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})

out <- "tests/reference/multilevel_reference.json"

# nlminb's default tolerance is loose; ask for a tight one and fall back (recorded) where nlminb
# reports non-convergence, which it does when a variance component runs to zero on its log scale.
CONTROLS <- list(list(rel.tol = 1e-12, iter.max = 1000, eval.max = 1000),
                 list(rel.tol = 1e-10, iter.max = 1000, eval.max = 1000))

fit_mv <- function(dd, V, method, test) {
  for (ctl in CONTROLS) {
    res <- try(rma.mv(yi, V, random = ~ 1 | cl/es, data = dd, method = method, test = test, control = ctl),
               silent = TRUE)
    if (!inherits(res, "try-error")) return(list(res = res, rel.tol = ctl$rel.tol))
  }
  stop("rma.mv did not converge")
}

# I² per level as in the metafor FAQ (Cheung, 2014), with dense matrices.
i2_levels <- function(res) {
  W <- solve(res$V)
  X <- model.matrix(res)
  P <- W - W %*% X %*% solve(t(X) %*% W %*% X) %*% t(X) %*% W
  100 * res$sigma2 / (sum(res$sigma2) + (res$k - res$p) / sum(diag(P)))
}

mv_row <- function(x, test) {
  res <- x$res
  i2 <- i2_levels(res)
  list(method = res$method, test = test, rel_tol = x$rel.tol,
       result = list(k = res$k, k_clusters = res$s.nlevels[1], estimate = c(res$b), se = res$se,
                     ci_low = res$ci.lb, ci_high = res$ci.ub, p = res$pval, q = res$QE, p_q = res$QEp,
                     sigma2_between = res$sigma2[1], sigma2_within = res$sigma2[2],
                     i2_between = i2[1], i2_within = i2[2],
                     df = if (test == "t") res$k - res$p else NA, loglik = as.numeric(logLik(res))))
}

robust_row <- function(res, cluster, on) {
  rb <- robust(res, cluster = cluster, clubSandwich = TRUE)
  list(on = on, result = list(estimate = c(rb$b), se = rb$se, t = rb$zval, df = rb$dfs, p = rb$pval,
                              ci_low = rb$ci.lb, ci_high = rb$ci.ub))
}

# One case: three-level fits over methods x tests, optional CHE fits and robust results.
make_case <- function(name, description, yi, vi, cluster, obs = NULL, V = NULL, V_kind = "diag",
                      methods = c("REML", "ML"), tests = c("z", "t"), robust_on = NULL, che_rho = NULL,
                      uni_methods = character(0)) {
  dd <- data.frame(yi = yi, vi = vi, cl = cluster, es = seq_along(yi))
  Vm <- if (is.null(V)) vi else V
  fits <- list(); rob <- list()
  for (m in methods) for (tt in tests) {
    x <- fit_mv(dd, Vm, m, tt)
    fits[[length(fits) + 1]] <- mv_row(x, tt)
    if (!is.null(robust_on) && m == robust_on[1] && tt == robust_on[2])
      rob[[length(rob) + 1]] <- robust_row(x$res, dd$cl, paste("rma.mv", m, tt))
  }
  che <- list()
  if (!is.null(che_rho)) {
    Vc <- vcalc(vi, cluster = cl, obs = if (is.null(obs)) es else obs, rho = che_rho,
                data = cbind(dd, obs = if (is.null(obs)) dd$es else obs))
    for (m in methods) {
      x <- fit_mv(dd, Vc, m, "t")
      row <- mv_row(x, "t")
      row$rho <- che_rho
      row$robust <- robust_row(x$res, dd$cl, paste("che", m))$result
      che[[length(che) + 1]] <- row
    }
  }
  for (m in uni_methods) {
    u <- rma(yi, vi, data = dd, method = m)
    rob[[length(rob) + 1]] <- c(robust_row(u, dd$cl, paste("rma.uni", m)), list(method = m))
  }
  data <- list(yi = yi, vi = vi, cluster = as.character(cluster))
  if (!is.null(obs)) data$obs <- as.character(obs)
  if (!is.null(V)) {
    nz <- which(V != 0, arr.ind = TRUE)
    data$V <- list(rows = nz[, 1] - 1L, cols = nz[, 2] - 1L, vals = V[nz])
  }
  list(name = name, description = description, V_kind = V_kind, data = data, fits = fits, che = che,
       robust = rob)
}

konst <- dat.konstantopoulos2011
assink <- dat.assink2016
kal <- dat.kalaian1996
berk <- dat.berkey1998
Vberk <- bldiag(lapply(split(berk[, c("v1i", "v2i")], berk$trial), as.matrix))
born <- escalc("OR", ai = waward, n1i = wtotal, ci = maward, n2i = mtotal, data = dat.bornmann2007)
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)

cases <- list(
  make_case("konstantopoulos2011", "schools within districts", konst$yi, konst$vi, konst$district,
            robust_on = c("REML", "z"), uni_methods = c("REML", "DL")),
  make_case("assink2016", "effects within studies; CHE with rho = 0.6; 3 singleton studies",
            assink$yi, assink$vi, assink$study, obs = assink$esid, robust_on = c("REML", "t"),
            che_rho = 0.6, uni_methods = c("REML")),
  make_case("kalaian1996_zero", "both variance components estimated at zero",
            kal$yi, kal$vi, kal$study, methods = c("REML", "ML"), tests = c("z")),
  make_case("berkey1998_zero_between", "between-trial component at zero (diagonal V)",
            berk$yi, berk$vi, berk$trial, robust_on = c("REML", "z")),
  make_case("berkey1998_fullV", "known within-trial covariances (bldiag of v1i, v2i)",
            berk$yi, berk$vi, berk$trial, V = Vberk, V_kind = "blocks", robust_on = c("REML", "t")),
  make_case("bornmann2007", "log OR of grant awards; 9 singleton studies; CHE with rho = 0.5",
            born$yi, born$vi, born$study, obs = born$obs, robust_on = c("REML", "t"), che_rho = 0.5,
            uni_methods = c("REML")),
  make_case("bcg_by_allocation", "univariate log RR, clusters = allocation (3 clusters)",
            bcg$yi, bcg$vi, bcg$alloc, methods = character(0), uni_methods = c("REML", "FE", "DL"))
)

ref <- list(
  source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                clubSandwich = as.character(packageVersion("clubSandwich")),
                metadat = as.character(packageVersion("metadat"))),
  cases = cases
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, na = "null", pretty = TRUE), out)
cat("wrote", out, "\n")
