#!/usr/bin/env Rscript
# Writes the fixtures that tests/meta/test_nma_regression.py compares against: network
# meta-regression with one interaction common to every treatment against placebo, as metafor fits it,
#   rma.mv(yi, V, mods = cbind(X, xc * a), intercept = FALSE, random = ~ comp | study, rho = 1/2)
# with a = 1 for a contrast against placebo and 0 between two drugs, xc the study's covariate
# minus its mean over the studies with placebo. Data: the GRISELDA release (responders, log OR);
# the covariates are defined here as in analysis/review/network_regression.py:
#   year       the year of publication (unpublished trials have none),
#   weeks      the mean of the arms' trial duration in weeks,
#   baseline   the mean of the arms' baseline means, HAM-D-rated trials only,
#   placebo    the placebo arms' responders per 100 randomised.
# A study with a contrast against placebo and no value of the covariate is left out before the
# contrasts are formed.
# Run from the repository root:   Rscript tests/reference/make_nma_regression_reference.R
source("tests/reference/nma_helpers.R")
out <- "tests/reference/nma_regression_reference.json"

gr <- read.csv("data/trials/cipriani2018/arms.csv", stringsAsFactors = FALSE)
gr$drug_base <- tolower(trimws(gr$drug_base, whitespace = "[\\h\\v]"))
gr$StudyID <- trimws(gr$StudyID, whitespace = "[\\h\\v]")  # Python strip()s the no-break space too
lv <- c("placebo", sort(setdiff(unique(gr$drug_base), "placebo"), method = "radix"))
by_study <- function(x) tapply(x, gr$StudyID, function(v) if (all(is.na(v))) NA_real_ else mean(v, na.rm = TRUE))
hamd <- startsWith(toupper(trimws(gr$Scale, whitespace = "[\\h\\v]")), "HAMD")
pl <- gr$drug_base == "placebo"
covariates <- list(
  year = by_study(suppressWarnings(as.numeric(gr$Year_Published))),
  weeks = by_study(gr$Weeks_num),
  baseline = by_study(ifelse(hamd, gr$Baseline_mean_num, NA)),
  placebo = tapply(seq_len(nrow(gr)), gr$StudyID, function(i) {
    i <- i[pl[i]]
    if (length(i) == 0) NA_real_ else 100 * sum(gr$Responders_num[i]) / sum(gr$No_randomised_num[i])
  })
)
arms_all <- data.frame(study = gr$StudyID, treatment = gr$drug_base, events = gr$Responders_num,
                       n = gr$No_randomised_num, stringsAsFactors = FALSE)
# the trials with a contrast against placebo once arms without the outcome are left out
ct_all <- arm_contrasts(arms_all, "OR", lv)
with_placebo <- unique(ct_all$dat$study[ct_all$dat$treat2 == "placebo"])

cases <- lapply(names(covariates), function(name) {
  CURRENT <<- name
  x <- covariates[[name]]
  drop <- intersect(with_placebo, names(x)[is.na(x)])
  arms <- arms_all[!(arms_all$study %in% drop), ]
  lv_case <- lv[lv %in% arms$treatment]
  ct <- arm_contrasts(arms, "OR", lv_case)
  dat <- ct$dat
  a <- as.numeric(dat$treat2 == "placebo")
  ref_studies <- unique(dat$study[a == 1])
  center <- mean(x[ref_studies])
  xc <- ifelse(a == 1, x[dat$study] - center, 0)
  X <- cbind(design_matrix(dat, lv_case), slope = xc)
  res <- mv(dat$yi, ct$V, mods = X, intercept = FALSE, random = ~ comp | study, rho = 1/2, data = dat,
            method = "REML")
  j <- ncol(X)
  list(name = name, center = center, dropped = drop, k = nrow(dat), studies = length(unique(dat$study)),
       slope = vec(res$beta)[j], se = vec(res$se)[j], z = vec(res$zval)[j], p = vec(res$pval)[j],
       ci_low = vec(res$ci.lb)[j], ci_high = vec(res$ci.ub)[j], tau2 = res$tau2,
       coef = vec(res$beta)[-j], coef_se = vec(res$se)[-j], treatments = lv_case,
       covariate = as.list(x))
})

ref <- list(source = list(R = R.version.string, metafor = as.character(packageVersion("metafor"))),
            cases = cases, fallbacks = FALLBACKS)
writeLines(toJSON(ref, auto_unbox = TRUE, digits = NA, na = "null", pretty = FALSE), out)
cat("wrote", out, "\n")
