# Reference values for `npm run analyse -- stringency`: R's lm() with the raters in sum-to-zero
# coding, the implicit (last) rater's effect = -sum(others) with its SE from vcov().
# Run from the repository root: Rscript test/analytics/r/stringency.R
# Writes test/analytics/fixtures/<case>.expected.json (numbers at 17 significant digits).
fixtures <- "test/analytics/fixtures"
num <- function(x) sprintf("%.17g", x)
str <- function(x) paste0('"', gsub('"', '\\\\"', x), '"')

stringency <- function(csv, by_scenario) {
  d <- read.csv(file.path(fixtures, csv), colClasses = "character")
  d$score <- as.numeric(d$score)
  d$candidate <- factor(d$candidate)
  d$rater <- factor(d$rater)
  if (by_scenario) {
    d$scenario <- factor(d$scenario)
    fit <- lm(score ~ candidate + rater + scenario, data = d, contrasts = list(rater = "contr.sum"))
  } else {
    fit <- lm(score ~ candidate + rater, data = d, contrasts = list(rater = "contr.sum"))
  }
  stopifnot(!any(is.na(coef(fit))))
  raters <- levels(d$rater)
  k <- length(raters)
  names_ <- paste0("rater", seq_len(k - 1))
  b <- coef(fit)[names_]
  v <- vcov(fit)[names_, names_]
  effect <- c(b, -sum(b))
  se <- c(sqrt(diag(v)), sqrt(sum(v)))
  z <- effect / se
  n <- as.vector(table(d$rater)[raters])
  flag <- ifelse(abs(z) >= 2 & n >= 10, ifelse(z < 0, '"hawk"', '"dove"'), "null")
  rows <- sprintf('{"rater":%s,"n":%d,"effect":%s,"se":%s,"z":%s,"flag":%s}',
                  str(raters), n, num(effect), num(se), num(z), flag)
  paste0('{"raters":[', paste(rows, collapse = ","), "]}\n")
}

cases <- list(
  list(csv = "stringency-small.csv", by = FALSE, out = "stringency-small.expected.json"),
  list(csv = "stringency-scenario-small.csv", by = TRUE, out = "stringency-scenario-small.expected.json"),
  list(csv = "stringency-cohort.csv", by = FALSE, out = "stringency-cohort.expected.json"),
  list(csv = "stringency-cohort.csv", by = TRUE, out = "stringency-cohort.by-scenario.expected.json")
)
for (case in cases) {
  writeLines(stringency(case$csv, case$by), file.path(fixtures, case$out), sep = "")
  cat("wrote", case$out, "\n")
}
