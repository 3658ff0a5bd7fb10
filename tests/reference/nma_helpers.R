# Shared by make_nma_reference.R and make_nma_regression_reference.R: rma.mv with fallback
# controls, the arms -> contrasts step written independently of analysis/meta/, the design matrix.
suppressMessages({library(metafor); library(jsonlite)})
CTL <- list(rel.tol = 1e-12, iter.max = 1000, eval.max = 1000)
# nlminb reports non-convergence when tau^2 runs to zero on its log scale; fall back, recorded.
CONTROLS <- list(CTL, list(rel.tol = 1e-10, iter.max = 1000, eval.max = 1000),
                 list(optimizer = "BFGS", reltol = 1e-14, maxit = 1000))
FALLBACKS <- character(0)

mv <- function(...) {
  for (i in seq_along(CONTROLS)) {
    res <- try(suppressWarnings(rma.mv(..., control = CONTROLS[[i]])), silent = TRUE)
    if (!inherits(res, "try-error")) {
      if (i > 1) FALLBACKS <<- c(FALLBACKS, paste(CURRENT, "control", i))
      return(res)
    }
  }
  stop("rma.mv failed with every control: ", CURRENT)
}
CURRENT <- ""

# ---- arms -> contrasts against each study's first arm in the treatment order -----------------
# Binary (log OR): when to = "only0", 0.5 is added to every cell of every arm of a study in which
# some arm has a zero cell (events = 0 or events = n); to = "all" adds it everywhere. escalc()
# computes yi and vi from the corrected cells (add = 0); the covariance of two contrasts of a
# study is the variance of the shared arm's log odds, 1/c + 1/d (Gleser & Olkin 2009, 19.11).
# MD: escalc("MD"), covariance sd^2/n of the shared arm. SMD: escalc("SMD") (Hedges' g, vtype LS)
# and the covariances from vcalc(grp1, grp2, w1 = n, w2 = n) with one group label per arm.
# Arms with a missing value are dropped, arms of one treatment in a study merged (counts summed),
# studies left with one arm dropped.
prepare_arms <- function(arms, measure) {
  need <- if (measure == "OR") c("events", "n") else c("mean", "sd", "n")
  arms <- arms[stats::complete.cases(arms[, need]), ]
  if (measure == "OR") {
    key <- paste(arms$study, arms$treatment, sep = "\r")
    first <- !duplicated(key)
    agg <- arms[first, ]
    agg$events <- as.vector(tapply(arms$events, key, sum)[key[first]])
    agg$n <- as.vector(tapply(arms$n, key, sum)[key[first]])
    arms <- agg
  } else if (any(duplicated(paste(arms$study, arms$treatment)))) stop("duplicate continuous arms")
  keep <- arms$study %in% names(which(table(arms$study) >= 2))
  arms[keep, ]
}

arm_contrasts <- function(arms, measure, lv, add = 0.5, to = "only0") {
  arms <- prepare_arms(arms, measure)
  rows <- list(); blocks <- list()
  for (s in unique(arms$study)) {
    a <- arms[arms$study == s, ]
    a <- a[order(match(a$treatment, lv)), ]
    t <- 2:nrow(a)
    if (measure == "OR") {
      ev <- a$events; ne <- a$n - a$events
      if (to == "all" || (to == "only0" && any(c(ev, ne) == 0))) { ev <- ev + add; ne <- ne + add }
      es <- escalc("OR", ai = ev[t], bi = ne[t], ci = rep(ev[1], length(t)), di = rep(ne[1], length(t)),
                   add = 0, to = "none")
      V <- matrix(1/ev[1] + 1/ne[1], length(t), length(t))
      diag(V) <- es$vi
    } else if (measure == "MD") {
      es <- escalc("MD", m1i = a$mean[t], sd1i = a$sd[t], n1i = a$n[t],
                   m2i = rep(a$mean[1], length(t)), sd2i = rep(a$sd[1], length(t)), n2i = rep(a$n[1], length(t)))
      V <- matrix(a$sd[1]^2 / a$n[1], length(t), length(t))
      diag(V) <- es$vi
    } else {
      es <- escalc("SMD", m1i = a$mean[t], sd1i = a$sd[t], n1i = a$n[t],
                   m2i = rep(a$mean[1], length(t)), sd2i = rep(a$sd[1], length(t)), n2i = rep(a$n[1], length(t)))
      V <- if (length(t) == 1) matrix(es$vi) else
        vcalc(es$vi, cluster = rep(1, length(t)), grp1 = t, grp2 = rep(1, length(t)),
              w1 = a$n[t], w2 = rep(a$n[1], length(t)))
    }
    rows[[length(rows) + 1]] <- data.frame(study = s, treat1 = a$treatment[t], treat2 = a$treatment[1],
                                           yi = as.vector(es$yi), vi = as.vector(es$vi),
                                           design = paste(a$treatment, collapse = ":"),
                                           stringsAsFactors = FALSE)
    blocks[[length(blocks) + 1]] <- unname(as.matrix(V))
  }
  dat <- do.call(rbind, rows)
  dat$comp <- paste(dat$treat1, dat$treat2, sep = "-")
  list(dat = dat, V = bldiag(blocks), blocks = blocks, arms = arms)
}

# X: +1 for the arm's treatment, -1 for the study's baseline, reference column left out
design_matrix <- function(dat, lv) {
  X <- matrix(0, nrow(dat), length(lv), dimnames = list(NULL, lv))
  X[cbind(seq_len(nrow(dat)), match(dat$treat1, lv))] <- 1
  X[cbind(seq_len(nrow(dat)), match(dat$treat2, lv))] <- -1
  X[, -1, drop = FALSE]
}

fit <- function(dat, V, X, model, method) {
  if (model == "random")
    mv(dat$yi, V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = dat,
           method = method)
  else mv(dat$yi, V, mods = X, intercept = FALSE, data = dat, method = method)
}

vec <- function(x) unname(as.vector(x))
