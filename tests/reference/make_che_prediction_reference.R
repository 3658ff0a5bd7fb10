#!/usr/bin/env Rscript
# Writes tests/reference/che_prediction_reference.json: the prediction interval of a CHE working model
# with CR2 robust inference (predict(robust(rma.mv(...), clubSandwich = TRUE))) and of the three-level
# model, which analysis.review.dependency.multilevel_prediction must reproduce to 1e-6.
# Run from the repository root:   Rscript tests/reference/make_che_prediction_reference.R
suppressMessages({library(metafor); library(clubSandwich); library(metadat); library(jsonlite)})
dat <- dat.konstantopoulos2011
V <- vcalc(vi, cluster = district, obs = study, rho = 0.5, data = dat)
che <- rma.mv(yi, V, random = ~ 1 | district/study, data = dat, test = "t")
rb <- robust(che, cluster = dat$district, clubSandwich = TRUE)
pc <- predict(rb)
three <- rma.mv(yi, vi, random = ~ 1 | district/study, data = dat, test = "z")
p3 <- predict(three)
out <- list(
  versions = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                  clubSandwich = as.character(packageVersion("clubSandwich"))),
  data = list(yi = dat$yi, vi = dat$vi, cluster = as.character(dat$district)),
  che = list(rho = 0.5, estimate = c(rb$b), se = rb$se, df = rb$ddf[[1]], sigma2 = che$sigma2,
             pi_low = pc$pi.lb, pi_high = pc$pi.ub),
  threelevel = list(estimate = c(three$b), se = three$se, sigma2 = three$sigma2, pi_low = p3$pi.lb, pi_high = p3$pi.ub))
writeLines(toJSON(out, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/che_prediction_reference.json")
