#!/usr/bin/env Rscript
# Writes the fixtures that tests/meta/test_egger.py compares against: Egger's regression test
# with the sample-size based standard error of a standardised mean difference (Pustejovsky &
# Rodgers, 2019: W = sqrt(1/n1 + 1/n2) as predictor, W^2 as the variance of the weights), and the
# multilevel Egger test for dependent effects: the CHE working model (vcalc with rho, rma.mv with
# random = ~ 1 | cluster/es and the precision as moderator, test = "t") with CR2 inference
# (robust(fit, cluster, clubSandwich = TRUE)) on the slope; Peters' test for log odds ratios
# (regtest(model = "lm", predictor = "ninv")); and Higgins et al.'s (2009) prediction interval.
# Run from the repository root:   Rscript tests/reference/make_egger_reference.R
# Needs metafor, metadat, clubSandwich and jsonlite. CI does not need R: the inputs are in the JSON.
suppressMessages({library(metafor); library(clubSandwich); library(jsonlite)})

out <- "tests/reference/egger_reference.json"
CTL <- list(rel.tol = 1e-10, iter.max = 1000, eval.max = 1000)

lm_egger <- function(yi, vi) {
  sei <- sqrt(vi)
  fit <- lm(yi ~ sei, weights = 1 / vi)
  s <- summary(fit)$coefficients
  list(bias = s[2, 1], se = s[2, 2], t = s[2, 3], df = fit$df.residual, p = s[2, 4], limit = s[1, 1])
}

ml_egger <- function(yi, vi, cluster, predictor, rho) {
  dd <- data.frame(yi = yi, vi = vi, cl = cluster, es = seq_along(yi), x = predictor)
  V <- vcalc(vi, cluster = cl, obs = es, rho = rho, data = dd)
  fit <- rma.mv(yi, V, mods = ~ x, random = ~ 1 | cl/es, data = dd, method = "REML", test = "t",
                control = CTL)
  rob <- robust(fit, cluster = dd$cl, clubSandwich = TRUE)
  list(bias = c(rob$beta)[2], se = rob$se[2], t = rob$zval[2], df = rob$ddf[2], p = rob$pval[2],
       limit = c(rob$beta)[1], limit_se = rob$se[1], sigma2 = fit$sigma2, model_se = fit$se[2])
}

cases <- list()

# univariate: the classic test and the sample-size based one, SMDs with their group sizes
norm <- escalc("SMD", m1i = m1i, sd1i = sd1i, n1i = n1i, m2i = m2i, sd2i = sd2i, n2i = n2i, data = dat.normand1999)
mod_vi <- 1 / norm$n1i + 1 / norm$n2i
cases$normand1999 <- list(yi = c(norm$yi), vi = c(norm$vi), n1 = norm$n1i, n2 = norm$n2i,
                          classic = lm_egger(c(norm$yi), c(norm$vi)), modified = lm_egger(c(norm$yi), mod_vi),
                          note = "SMD, length of hospital stay (metadat dat.normand1999)")

# multilevel: dependent effects within studies, the SE and a sample-size like precision as moderator
ass <- dat.assink2016
cases$assink2016 <- list(yi = ass$yi, vi = ass$vi, cluster = ass$study, rho = 0.6,
                         predictor = sqrt(ass$vi),
                         multilevel = ml_egger(ass$yi, ass$vi, ass$study, sqrt(ass$vi), 0.6),
                         note = "SMD, delinquency (metadat dat.assink2016), rho 0.6, predictor sqrt(vi)")
kon <- dat.konstantopoulos2011
cases$konstantopoulos2011 <- list(yi = kon$yi, vi = kon$vi, cluster = kon$district, rho = 0.5,
                                  predictor = sqrt(kon$vi),
                                  multilevel = ml_egger(kon$yi, kon$vi, kon$district, sqrt(kon$vi), 0.5),
                                  note = "SMD, school calendars (metadat dat.konstantopoulos2011), rho 0.5")

# Peters' test for log odds ratios: metafor's regtest(model = "lm", predictor = "ninv"), that is
# lm(yi ~ I(1/ni), weights = 1/vi), with ni the total sample size of each trial
bcg_or <- escalc("OR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
bcg_n <- with(dat.bcg, tpos + tneg + cpos + cneg)
peters_rt <- regtest(bcg_or$yi, bcg_or$vi, ni = bcg_n, model = "lm", predictor = "ninv")
peters_lm <- summary(lm(bcg_or$yi ~ I(1 / bcg_n), weights = 1 / bcg_or$vi))$coefficients
cases$bcg_peters <- list(yi = c(bcg_or$yi), vi = c(bcg_or$vi), ni = bcg_n,
                         peters = list(bias = peters_lm[2, 1], se = peters_lm[2, 2], t = peters_rt$zval,
                                       df = peters_rt$dfs, p = peters_rt$pval, limit = peters_lm[1, 1]),
                         note = "log OR, BCG vaccine (metadat dat.bcg); regtest(model = 'lm', predictor = 'ninv')")

# Higgins et al.'s (2009) prediction interval, t with k - 2 df, beside metafor's z-based one
bcg <- escalc("RR", ai = tpos, bi = tneg, ci = cpos, di = cneg, data = dat.bcg)
fit <- rma(yi, vi, data = bcg)
half <- qt(0.975, fit$k - 2) * sqrt(fit$se^2 + fit$tau2)
cases$bcg_higgins_pi <- list(yi = c(bcg$yi), vi = c(bcg$vi), pi_low = c(fit$b)[1] - half, pi_high = c(fit$b)[1] + half,
                             metafor_pi = c(predict(fit)$pi.lb, predict(fit)$pi.ub),
                             note = "log RR, BCG vaccine (metadat dat.bcg), REML; PI = mu +/- qt(.975, k-2) sqrt(se^2 + tau2)")

fixture <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  clubSandwich = as.character(packageVersion("clubSandwich"))),
  cases = cases
)
writeLines(toJSON(fixture, auto_unbox = TRUE, digits = NA, pretty = TRUE), out)
cat("wrote", out, "\n")
