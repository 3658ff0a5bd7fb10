#!/usr/bin/env Rscript
# Writes the fixtures that tests/meta/test_nma.py compares against: contrast-based network
# meta-analysis as metafor's documented examples fit it (dat.senn2013, dat.hasselblad1998 help
# pages; metafor-project.org), i.e.
#   rma.mv(yi, V, mods = <treatment indicator columns, reference left out>, intercept = FALSE,
#          random = ~ comp | study, rho = 1/2, method = "REML" / "ML")
# and the fixed-effect version (no random term); every pairwise effect and prediction interval
# from predict(); P-scores as the dat.senn2013 help page computes them; the design-by-treatment
# interaction model (Higgins et al. 2012) with design-specific contrast terms added to the mods
# (metafor drops the redundant ones) and tested with anova(btt = ...) and an ML likelihood-ratio
# test; the Krahn et al. (2013) Q decomposition from fixed-effect rma.mv fits; side-splitting
# node-split models (an indicator for the second treatment's arm in the studies with both); the
# comparison-adjusted funnel data.
# Run from the repository root:   Rscript tests/reference/make_nma_reference.R
# Needs metafor, metadat and jsonlite. CI does not need R: every case stores its arm-level input
# data next to metafor's numbers, and the arms -> contrasts step is written here independently of
# analysis/meta/nma.py (same conventions: see that module's docstrings).
source("tests/reference/nma_helpers.R")

out <- "tests/reference/nma_reference.json"

fit_row <- function(res, lv, model, method) {
  fs <- res$fit.stats[, if (method == "REML") "REML" else "ML"]
  L <- t(combn(length(lv), 2))
  C <- matrix(0, nrow(L), length(lv))
  C[cbind(seq_len(nrow(L)), L[, 1])] <- 1
  C[cbind(seq_len(nrow(L)), L[, 2])] <- -1
  pr <- predict(res, newmods = C[, -1, drop = FALSE], intercept = FALSE)
  # P-scores as on the dat.senn2013 help page (Ruecker & Schwarzer 2015)
  b <- c(0, coef(res)); vb <- bldiag(0, vcov(res))
  pv <- apply(C, 1, function(x) pnorm(sum(x * b) / sqrt(c(t(x) %*% vb %*% x))))
  tab <- matrix(NA, length(lv), length(lv))
  tab[L] <- pv; tab[L[, 2:1]] <- 1 - pv
  pscore <- rowMeans(tab, na.rm = TRUE)
  list(model = model, method = method,
       result = list(k = res$k, p = res$p, tau2 = if (model == "random") res$tau2 else 0,
                     loglik = fs[1], deviance = fs[2], aic = fs[3], bic = fs[4], aicc = fs[5],
                     q = res$QE, q_df = res$k - res$p, p_q = res$QEp, qm = res$QM, p_qm = res$QMp),
       coef = list(treatment = lv[-1], estimate = vec(res$beta), se = vec(res$se), z = vec(res$zval),
                   p = vec(res$pval), ci_low = vec(res$ci.lb), ci_high = vec(res$ci.ub)),
       vcov = unname(vcov(res)),
       league = list(treat1 = lv[L[, 1]], treat2 = lv[L[, 2]], estimate = vec(pr$pred), se = vec(pr$se),
                     ci_low = vec(pr$ci.lb), ci_high = vec(pr$ci.ub), pi_low = vec(pr$pi.lb),
                     pi_high = vec(pr$pi.ub)),
       pscore_large_good = pscore)
}

# Higgins et al. (2012): design-specific contrast terms added to the consistency model
dbt <- function(dat, V, X) {
  D <- model.matrix(~ factor(paste(design, comp, sep = "|")) - 1, data = dat)
  Xf <- cbind(X, D)
  colnames(Xf) <- paste0("c", seq_len(ncol(Xf)))
  inc <- suppressWarnings(mv(dat$yi, V, mods = Xf, intercept = FALSE, random = ~ comp | study, rho = 1/2,
                                 data = dat, method = "REML"))
  kept <- !inc$coef.na
  stopifnot(all(kept[seq_len(ncol(X))]))
  extra <- (ncol(X) + 1):sum(kept)
  wald <- anova(inc, btt = extra)
  Xk <- Xf[, kept, drop = FALSE]
  ml_inc <- mv(dat$yi, V, mods = Xk, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = dat,
                   method = "ML")
  ml_con <- fit(dat, V, X, "random", "ML")
  lrt <- anova(ml_inc, ml_con)
  fe_inc <- mv(dat$yi, V, mods = Xk, intercept = FALSE, data = dat)
  fe_wald <- anova(fe_inc, btt = extra)
  list(q = wald$QM, df = wald$QMdf[1], p = wald$QMp, tau2 = inc$tau2, loglik = as.numeric(logLik(inc)),
       lrt = lrt$LRT, lrt_df = lrt$parms.f - lrt$parms.r, p_lrt = lrt$pval, tau2_ml = ml_inc$tau2,
       q_fixed = fe_wald$QM, p_fixed = fe_wald$QMp)
}

# Krahn et al. (2013): Q of the fixed-effect consistency model = within designs + between designs
qdecomp <- function(dat, V, X, blocks) {
  total <- mv(dat$yi, V, mods = X, intercept = FALSE, data = dat)
  study_of_block <- unique(dat$study)
  designs <- unique(dat$design)
  qd <- sapply(designs, function(d) {
    rows <- which(dat$design == d)
    if (length(unique(dat$study[rows])) < 2) return(c(0, 0))
    Vd <- bldiag(blocks[study_of_block %in% unique(dat$study[rows])])
    cd <- dat$comp[rows]
    Xd <- outer(cd, unique(cd), "==") * 1
    r <- mv(dat$yi[rows], Vd, mods = Xd, intercept = FALSE)
    c(r$QE, r$k - r$p)
  })
  within <- sum(qd[1, ]); within_df <- sum(qd[2, ])
  list(q_total = total$QE, df_total = total$k - total$p, p_total = total$QEp,
       q_within = within, df_within = within_df, p_within = pchisq(within, within_df, lower.tail = FALSE),
       q_between = total$QE - within, df_between = total$k - total$p - within_df,
       p_between = pchisq(total$QE - within, total$k - total$p - within_df, lower.tail = FALSE),
       designs = designs, q_design = vec(qd[1, ]), df_design = vec(qd[2, ]))
}

# side-splitting: in the studies with both A and B (A first in the order), B's arm moves by delta
nodesplit <- function(dat, V, X, lv) {
  both <- tapply(seq_len(nrow(dat)), dat$study, function(i) unique(c(dat$treat1[i], dat$treat2[i])))
  out <- list()
  pairs <- t(combn(length(lv), 2))
  for (r in seq_len(nrow(pairs))) {
    A <- lv[pairs[r, 1]]; B <- lv[pairs[r, 2]]
    has <- sapply(both, function(tr) A %in% tr && B %in% tr)
    if (!any(has)) next
    s <- dat$study %in% names(both)[has]
    x <- ifelse(s & dat$treat1 == B, 1, 0) - ifelse(s & dat$treat2 == B, 1, 0)
    Xs <- cbind(X, x)
    if (qr(Xs)$rank < ncol(Xs)) next
    res <- mv(dat$yi, V, mods = Xs, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = dat,
                  method = "REML")
    l <- numeric(length(lv)); l[pairs[r, 2]] <- 1; l[pairs[r, 1]] <- -1
    ind <- predict(res, newmods = rbind(c(l[-1], 0)), intercept = FALSE)
    dir <- predict(res, newmods = rbind(c(l[-1], 1)), intercept = FALSE)
    j <- ncol(Xs)
    out[[length(out) + 1]] <- list(treat1 = B, treat2 = A, k_direct = sum(has), tau2 = res$tau2,
                                   direct = dir$pred, se_direct = dir$se, indirect = ind$pred, se_indirect = ind$se,
                                   difference = res$beta[j], se_difference = res$se[j], z = res$zval[j],
                                   p = res$pval[j])
  }
  out
}

funnel <- function(res, dat, X) {
  list(deviation = vec(dat$yi - X %*% res$beta), se = sqrt(dat$vi))
}

make_case <- function(name, description, arms, measure, lv, to = "only0", methods = c("REML", "ML"),
                      split = TRUE, extras = TRUE) {
  CURRENT <<- name
  cc <- arm_contrasts(arms, measure, lv, to = to)
  dat <- cc$dat; V <- cc$V
  X <- design_matrix(dat, lv)
  fits <- list()
  for (m in methods) fits[[length(fits) + 1]] <- fit_row(fit(dat, V, X, "random", m), lv, "random", m)
  fits[[length(fits) + 1]] <- fit_row(fit(dat, V, X, "fixed", "ML"), lv, "fixed", "ML")
  re <- fit(dat, V, X, "random", "REML")
  nz <- which(V != 0, arr.ind = TRUE)
  case <- list(name = name, description = description, measure = measure, to = to,
               order = lv, arms = as.list(arms),
               contrasts = list(study = dat$study, treat1 = dat$treat1, treat2 = dat$treat2, yi = dat$yi, vi = dat$vi,
                                V = list(rows = nz[, 1] - 1L, cols = nz[, 2] - 1L, vals = V[nz])),
               fits = fits, funnel = funnel(re, dat, X))
  if (extras) {
    case$dbt <- dbt(dat, V, X)
    case$qdecomp <- qdecomp(dat, V, X, cc$blocks)
  }
  if (split) case$nodesplit <- nodesplit(dat, V, X, lv)
  case
}

senn <- dat.senn2013
senn_arms <- data.frame(study = senn$study, treatment = senn$treatment, mean = senn$mi, sd = senn$sdi, n = senn$ni,
                        stringsAsFactors = FALSE)
senn_lv <- c("placebo", sort(setdiff(unique(senn$treatment), "placebo"), method = "radix"))
hb <- dat.hasselblad1998
hb_arms <- data.frame(study = as.character(hb$study), treatment = hb$trt, events = hb$xi, n = hb$ni,
                      stringsAsFactors = FALSE)
hb_lv <- c("no_contact", "self_help", "ind_counseling", "grp_counseling")

gr <- read.csv("data/trials/cipriani2018/arms.csv", stringsAsFactors = FALSE)
gr_lv <- c("placebo", sort(setdiff(unique(gr$drug_base), "placebo"), method = "radix"))
gr_arms <- function(col) data.frame(study = gr$StudyID, treatment = gr$drug_base, events = gr[[col]],
                                    n = gr$No_randomised_num, stringsAsFactors = FALSE)

cases <- list(
  make_case("senn2013_md", "HbA1c mean differences, 26 studies, one three-arm", senn_arms, "MD", senn_lv),
  make_case("senn2013_smd", "Hedges' g, vcalc covariances", senn_arms, "SMD", senn_lv, methods = "REML",
            split = FALSE),
  make_case("hasselblad1998_or", "smoking cessation, log OR, 0.5 added only in studies with a zero cell",
            hb_arms, "OR", hb_lv),
  make_case("hasselblad1998_or_all", "0.5 added to every cell, as on the metafor help page", hb_arms, "OR", hb_lv,
            to = "all", methods = "REML", split = FALSE, extras = FALSE),
  make_case("griselda_response", "Cipriani 2018 responders, log OR vs placebo", gr_arms("Responders_num"), "OR",
            gr_lv, methods = "REML"),
  make_case("griselda_dropout", "Cipriani 2018 all-cause dropouts, log OR vs placebo", gr_arms("Dropouts_total_num"),
            "OR", gr_lv, methods = "REML", split = FALSE)
)

CURRENT <- "help_page"
# the metafor help page's own code for dat.hasselblad1998 (to.wide, escalc to = "all", calc.v,
# contrmat), to show that the contrasts above are the documented ones
w <- to.wide(dat.hasselblad1998, study = "study", grp = "trt", ref = "no_contact", grpvars = 6:7)
w <- escalc(measure = "OR", ai = xi.1, n1i = ni.1, ci = xi.2, n2i = ni.2, add = 1/2, to = "all", data = w)
calc.v <- function(x) {
  v <- matrix(1/(x$xi.2[1] + 1/2) + 1/(x$ni.2[1] - x$xi.2[1] + 1/2), nrow = nrow(x), ncol = nrow(x))
  diag(v) <- x$vi
  v
}
Vw <- bldiag(lapply(split(w, w$study), calc.v))
w <- contrmat(w, grp1 = "trt.1", grp2 = "trt.2")
help_fit <- mv(w$yi, Vw, mods = cbind(w$self_help, w$ind_counseling, w$grp_counseling), intercept = FALSE,
               random = ~ comp | study, rho = 1/2, data = w)
help_page <- list(name = "hasselblad1998_or_all", estimate = vec(help_fit$beta), se = vec(help_fit$se),
                  tau2 = help_fit$tau2, loglik = as.numeric(logLik(help_fit)))

ref <- list(
  source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                metadat = as.character(packageVersion("metadat"))),
  cases = cases, help_page = help_page
)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE), out)
cat("wrote", out, "\n")
