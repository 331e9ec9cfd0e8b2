# Reference values for `npm run analyse -- brm`: lm(score ~ global) per station, the cut read at
# the borderline grade, psych::alpha's raw alpha over the complete candidates × stations matrix,
# SEM = sd(totals) * sqrt(1 - alpha). Run from the repository root: Rscript test/analytics/r/brm.R
# Writes test/analytics/fixtures/<case>.expected.json (numbers at 17 significant digits).
suppressPackageStartupMessages(library(psych))
fixtures <- "test/analytics/fixtures"
num <- function(x) sprintf("%.17g", x)
str <- function(x) paste0('"', gsub('"', '\\\\"', x), '"')

brm <- function(csv, borderline, plus_sem) {
  d <- read.csv(file.path(fixtures, csv), colClasses = "character")
  d$score <- as.numeric(d$score)
  d$global <- as.numeric(d$global)
  stations <- unique(d$station)
  rows <- character(0)
  cuts <- numeric(0)
  for (s in stations) {
    ds <- d[d$station == s, ]
    fit <- lm(score ~ global, data = ds)
    a <- unname(coef(fit)[1]); b <- unname(coef(fit)[2])
    cut <- a + b * borderline
    cuts <- c(cuts, cut)
    rows <- c(rows, sprintf('{"station":%s,"n":%d,"intercept":%s,"slope":%s,"r2":%s,"rmse":%s,"cut":%s}',
                            str(s), nrow(ds), num(a), num(b), num(summary(fit)$r.squared), num(summary(fit)$sigma), num(cut)))
  }
  wide <- reshape(d[, c("candidate", "station", "score")], idvar = "candidate", timevar = "station", direction = "wide")
  m <- as.matrix(wide[, paste0("score.", stations)])
  m <- m[complete.cases(m), ]
  # Quiet: psych notes category counts for many-valued scores, which says nothing about alpha.
  invisible(capture.output(a <- suppressMessages(suppressWarnings(psych::alpha(m, warnings = FALSE)))))
  alpha <- a$total$raw_alpha
  sem <- sd(rowSums(m)) * sqrt(1 - alpha)
  exam_cut <- mean(cuts) + plus_sem * sem
  sprintf('{"stations":[%s],"examCut":%s,"alpha":%s,"sem":%s}\n', paste(rows, collapse = ","), num(exam_cut), num(alpha), num(sem))
}

cases <- list(
  list(csv = "brm-small.csv", borderline = 3.5, plus_sem = 0, out = "brm-small.expected.json"),
  list(csv = "brm-cohort.csv", borderline = 3.5, plus_sem = 0, out = "brm-cohort.expected.json"),
  list(csv = "brm-cohort.csv", borderline = 4, plus_sem = 1, out = "brm-cohort.borderline-4.plus-sem-1.expected.json")
)
for (case in cases) {
  writeLines(brm(case$csv, case$borderline, case$plus_sem), file.path(fixtures, case$out), sep = "")
  cat("wrote", case$out, "\n")
}
