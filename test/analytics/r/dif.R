# Reference outputs for `npm run analyse -- dif`, from R's stats::mantelhaen.test.
# Run from the repository root: Rscript test/analytics/r/dif.R
# For every test/analytics/fixtures/dif-*.csv (dif-cohort.csv comes from make-dif-fixture.ts),
# writes <name>.expected.json (numbers at 17 significant digits). CI has no R: commit both.
fixtures <- "test/analytics/fixtures"

num <- function(x) sprintf("%.17g", x)
str <- function(x) paste0('"', gsub('(["\\\\])', "\\\\\\1", x), '"')

expected_for <- function(csv) {
  d <- read.csv(csv, colClasses = "character")
  d$pass <- as.integer(d$pass)
  items <- character(0)
  for (item in unique(d$item)) {
    di <- d[d$item == item, ]
    strata <- Filter(function(s) all(c("reference", "focal") %in% di$group[di$stratum == s]), unique(di$stratum))
    x <- array(0, dim = c(2, 2, length(strata)))  # rows reference, focal; columns pass, fail
    for (k in seq_along(strata)) {
      ds <- di[di$stratum == strata[k], ]
      x[1, 1, k] <- sum(ds$group == "reference" & ds$pass == 1)
      x[1, 2, k] <- sum(ds$group == "reference" & ds$pass == 0)
      x[2, 1, k] <- sum(ds$group == "focal" & ds$pass == 1)
      x[2, 2, k] <- sum(ds$group == "focal" & ds$pass == 0)
    }
    mh <- mantelhaen.test(x, correct = TRUE)
    alpha <- unname(mh$estimate)
    delta <- -2.35 * log(alpha)
    # R's conf.int is α·exp(±z·sd) with sd the Robins–Breslow–Greenland SE of ln α.
    sd_ln <- log(mh$conf.int[2] / alpha) / qnorm(0.975)
    se <- 2.35 * sd_ln
    p <- unname(mh$p.value)
    class <- if (abs(delta) < 1 || p >= 0.05) "A" else if (abs(delta) >= 1.5 && pnorm((abs(delta) - 1) / se, lower.tail = FALSE) < 0.05) "C" else "B"
    items <- c(items, paste0('{"item":', str(item), ',"alphaMH":', num(alpha), ',"deltaMH":', num(delta),
      ',"se":', num(se), ',"class":', str(class), ',"strata":', length(strata),
      ',"statistic":', num(unname(mh$statistic)), ',"p":', num(p), '}'))
  }
  paste0('{"items":[', paste(items, collapse = ","), "]}")
}

for (csv in list.files(fixtures, pattern = "^dif-.*\\.csv$", full.names = TRUE)) {
  json <- expected_for(csv)
  writeLines(json, sub("\\.csv$", ".expected.json", csv))
}
