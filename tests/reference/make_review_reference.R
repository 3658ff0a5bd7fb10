#!/usr/bin/env Rscript
# Writes tests/reference/review_reference.json: metafor's aggregate() (one effect per study under a
# compound-symmetric correlation) for tests/test_review_rules.py. Run from the repository root:
#   Rscript tests/reference/make_review_reference.R
# Needs Debian's r-cran-metafor, r-cran-metadat and r-cran-jsonlite; CI reads the JSON only.
suppressMessages({library(metafor); library(jsonlite)})
dat <- dat.assink2016
out <- list()
for (rho in c(0.5, 0.6, 0)) {
  agg <- aggregate(escalc(yi = yi, vi = vi, data = dat), cluster = study, rho = rho, struct = "CS")
  out[[length(out) + 1]] <- list(rho = rho, yi = as.numeric(agg$yi), vi = as.numeric(agg$vi),
                                 study = as.character(agg$study))
}
fixture <- list(source = list(R = R.version.string, metafor = as.character(packageVersion("metafor")),
                              metadat = as.character(packageVersion("metadat")),
                              script = "tests/reference/make_review_reference.R"),
                input = list(yi = dat$yi, vi = dat$vi, study = as.character(dat$study)),
                aggregate = out)
writeLines(toJSON(fixture, digits = NA, auto_unbox = TRUE, pretty = TRUE), "tests/reference/review_reference.json")
