#!/usr/bin/env Rscript
# Writes the dose-response fixtures that tests/meta/test_dose_response.py compares against:
# the Greenland-Longnecker covariance (a direct port of dosresmeta's covar.logrr()/grl(), which
# Debian does not package), Harrell's restricted cubic splines (rms::rcspline.eval) and the
# one-stage model fitted by metafor::rma.mv(yi, V, mods = ~ s1 + s2 - 1,
# random = ~ s1 + s2 - 1 | study, struct = "GEN"), with predictions over a dose grid.
# Run from the repository root:   Rscript tests/reference/make_dose_reference.R
# Needs Debian's r-cran-metafor, r-cran-rms and r-cran-jsonlite. CI does not need R: the inputs
# are stored in the JSON, which is committed.
suppressMessages({library(metafor); library(rms); library(jsonlite)})

out <- "tests/reference/dose_reference.json"

# ---- dosresmeta's grl() and covar.logrr(covariance = "gl"), ported (types "cc" and "ci") ----
grl <- function(y, v, cases, n, tol = 1e-05) {
  Ax <- Axp <- cases
  repeat {
    A0 <- sum(cases) - sum(Ax[v != 0])
    cx <- 1/Ax + 1/(n - Ax)
    e <- y[v != 0] + log(A0) + log(n[v != 0] - Ax[v != 0]) - log(Ax[v != 0]) - log(n[v == 0] - A0)
    H <- diag(cx[v != 0] + cx[v == 0], nrow = sum(v != 0))
    H[upper.tri(H)] <- H[lower.tri(H)] <- cx[v == 0]
    Axp[v == 0] <- A0
    Axp[v != 0] <- Ax[v != 0] + solve(H) %*% e
    delta <- sum((Axp[v != 0] - Ax[v != 0])^2)
    if (delta < tol) break
    Ax <- Axp
  }
  cbind(A = Axp, N = n)
}
covar_logrr <- function(y, v, cases, n, type) {
  ps <- grl(y, v, cases, n)
  s <- if (type == "cc") 1/ps[, 1] + 1/(ps[, 2] - ps[, 1]) else 1/ps[, 1] - 1/ps[, 2]
  s0 <- s[v == 0]
  si <- s0 + s[v != 0]
  rcorr <- s0/tcrossprod(si)^0.5
  diag(rcorr) <- 1
  tcrossprod(v[v != 0])^0.5 * rcorr
}

# log ratios of every arm of a study against its reference arm (dose 0)
contrasts <- function(cases, n, dose, measure) {
  r <- which(dose == 0)
  if (measure == "OR") { l <- log(cases/(n - cases)); w <- 1/cases + 1/(n - cases) }
  else { l <- log(cases/n); w <- 1/cases - 1/n }
  y <- l - l[r]; v <- w + w[r]; y[r] <- 0; v[r] <- 0
  list(y = y, v = v)
}

one_case <- function(arms, measure, percentiles, shift = 0, note = "") {
  studies <- unique(arms$study)
  ys <- list(); Vs <- list(); ds <- c(); ss <- c(); gl <- list()
  for (s in studies) {
    a <- arms[arms$study == s, ]
    cv <- contrasts(a$cases, a$n, a$dose, measure)
    y <- cv$y + ifelse(a$dose > 0, shift * a$dose / max(a$dose), 0)  # shift: "adjusted" estimates, GL iterates
    S <- covar_logrr(y, cv$v, a$cases, a$n, if (measure == "OR") "cc" else "ci")
    ys[[length(ys) + 1]] <- y[a$dose > 0]; Vs[[length(Vs) + 1]] <- S
    ds <- c(ds, a$dose[a$dose > 0]); ss <- c(ss, rep(s, sum(a$dose > 0)))
    gl[[length(gl) + 1]] <- unname(S)
  }
  knots <- unname(quantile(unique(ds), percentiles / 100))
  B <- rcspline.eval(ds, knots = knots, inclx = TRUE)
  dat <- data.frame(yi = unlist(ys), study = ss, B)
  names(dat)[-(1:2)] <- paste0("s", seq_len(ncol(B)))
  V <- bldiag(Vs)
  terms <- paste(names(dat)[-(1:2)], collapse = " + ")
  fit <- rma.mv(yi, V, data = dat, mods = as.formula(paste("~", terms, "- 1")),
                random = as.formula(paste("~", terms, "- 1 | study")), struct = "GEN")
  grid <- seq(0, max(ds), length.out = 41)
  Bg <- rcspline.eval(grid, knots = knots, inclx = TRUE)
  pr <- predict(fit, newmods = Bg)
  list(note = note, measure = measure, percentiles = percentiles, shift = shift,
       study = arms$study, dose = arms$dose, cases = arms$cases, n = arms$n,
       y = unname(unlist(ys)), gl = gl, knots = knots, basis = unname(B),
       coef = unname(c(fit$beta)), vcov = unname(fit$vb), psi = unname(fit$G), loglik = c(logLik(fit)),
       grid = grid, pred = unname(c(pr$pred)), se = unname(c(pr$se)), ci_low = unname(c(pr$ci.lb)),
       ci_high = unname(c(pr$ci.ub)))
}

raw <- read.csv("data/trials/furukawa2019/ssri.csv")
raw <- raw[raw$studyID %in% raw$studyID[raw$agent == "placebo"], ]
agent_arms <- function(ag) {
  s <- raw[raw$studyID %in% raw$studyID[raw$agent == ag] & raw$agent %in% c("placebo", ag), ]
  s <- s[order(s$studyID, s$dose), ]
  data.frame(study = as.character(s$studyID), dose = s$dose, cases = s$r, n = s$n)
}
cases <- list()
for (ag in c("citalopram", "escitalopram", "fluoxetine", "paroxetine")) {
  cases[[ag]] <- one_case(agent_arms(ag), "OR", c(10, 50, 90), note = paste(ag, "vs placebo, log OR, Furukawa 2019 arms"))
}
cases[["citalopram_rr"]] <- one_case(agent_arms("citalopram"), "RR", c(10, 50, 90),
  note = "citalopram, crude log RR: dosresmeta fits the pseudo-counts on the odds scale, so they move")
cases[["paroxetine_rr_shifted"]] <- one_case(agent_arms("paroxetine"), "RR", c(10, 50, 90), shift = 0.1,
  note = "paroxetine, log RR shifted by 0.1 x dose / max dose (non-crude estimates: the GL pseudo-counts iterate)")
cases[["fluoxetine_4knots_shifted"]] <- one_case(agent_arms("fluoxetine"), "OR", c(5, 35, 65, 95), shift = -0.05,
  note = "fluoxetine, log OR shifted, four knots (two nonlinear terms)")

versions <- list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                 rms = as.character(packageVersion("rms")), jsonlite = as.character(packageVersion("jsonlite")))
writeLines(toJSON(list(versions = versions, cases = cases), digits = NA, auto_unbox = TRUE, matrix = "rowmajor"), out)
cat("wrote", out, "\n")
