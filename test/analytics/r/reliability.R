# Reference outputs for `npm run analyse -- reliability FILE --pairs`, from R (not needed on CI:
# the outputs are committed). For each fixture test/analytics/fixtures/reliability-NAME.csv it
# writes reliability-NAME.expected.json in the CLI's JSON shape, numbers at 17 significant digits.
#   Rscript test/analytics/r/reliability.R
# Sources of each number:
#   ICC1..ICC3k and their 95% intervals: psych::ICC(x, lmer = FALSE) on the complete candidates
#     (psych 2.2.9 here), the candidates x raters matrix in order of first appearance.
#   Fleiss' kappa: base-R formula (Fleiss 1971) over the score values that occur; no R package with
#     it is installed here (irr is not), so it is written out below, independently of the TypeScript.
#   Exact/adjacent agreement: base R over every pair of raters of every complete candidate.
#   Cohen's weighted kappa per rater pair: psych::cohen.kappa on the pair's agreement table over the
#     candidates both rated, with an explicit weight matrix 1 - |a-b|/range (linear) or
#     1 - (a-b)^2/range^2 (quadratic) built from the score VALUES (psych's default weights use the
#     index of a level instead, which differs when a scale has gaps), and checked against the
#     base-R formula 1 - sum(v * observed) / sum(v * chance) to 1e-12.
# Degenerate data (every score identical, or raters agreeing perfectly) are not cross-checked here:
# R's QR-based ANOVA leaves residual sums of squares of ~1e-31 there and reports rounding noise.

args <- commandArgs(trailingOnly = FALSE)
script <- sub("^--file=", "", args[grep("^--file=", args)])
fixtures <- normalizePath(file.path(dirname(script), "..", "fixtures"))

num <- function(x) if (is.null(x) || is.na(x) || !is.finite(x)) "null" else sprintf("%.17g", x)
str <- function(s) paste0('"', gsub('(["\\\\])', "\\\\\\1", s), '"')
obj <- function(keys, values) paste0("{", paste0(str(keys), ":", values, collapse = ","), "}")
arr <- function(values) paste0("[", paste0(values, collapse = ","), "]")

fleiss <- function(x) {
  n <- nrow(x); k <- ncol(x)
  cats <- sort(unique(as.vector(x)))
  if (length(cats) < 2) return(NA)
  counts <- sapply(cats, function(cat) rowSums(x == cat))
  p_i <- (rowSums(counts^2) - k) / (k * (k - 1))
  p_j <- colSums(counts) / (n * k)
  chance <- sum(p_j^2)
  (mean(p_i) - chance) / (1 - chance)
}

agreement <- function(x) {
  pairs <- combn(ncol(x), 2)
  gaps <- abs(x[, pairs[1, ], drop = FALSE] - x[, pairs[2, ], drop = FALSE])
  c(exact = mean(gaps == 0), adjacent = mean(gaps <= 1))
}

weighted_kappa <- function(a, b, power) {
  levels <- sort(unique(c(a, b)))
  if (length(a) == 0 || length(levels) < 2) return(NA)
  distance <- abs(outer(levels, levels, "-"))^power
  weights <- 1 - distance / max(distance)
  table <- table(factor(a, levels = levels), factor(b, levels = levels))
  by_psych <- suppressWarnings(suppressMessages(psych::cohen.kappa(unclass(table), w = weights)))$weighted.kappa
  p <- table / sum(table)
  by_formula <- 1 - sum(distance * p) / sum(distance * outer(rowSums(p), colSums(p)))
  stopifnot(abs(by_psych - by_formula) < 1e-12)
  by_psych
}

forms <- c("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")

analyse_item <- function(d) {
  raters <- unique(d$rater)
  candidates <- unique(d$candidate)
  wide <- matrix(NA_real_, length(candidates), length(raters), dimnames = list(candidates, raters))
  wide[cbind(match(d$candidate, candidates), match(d$rater, raters))] <- d$score
  complete <- wide[stats::complete.cases(wide), , drop = FALSE]
  icc <- suppressMessages(psych::ICC(complete, lmer = FALSE))$results
  stopifnot(identical(icc$type, forms))
  agree <- agreement(complete)
  pairs <- c()
  for (i in seq_len(length(raters) - 1)) for (j in (i + 1):length(raters)) {
    both <- !is.na(wide[, i]) & !is.na(wide[, j])
    a <- wide[both, i]; b <- wide[both, j]
    pairs <- c(pairs, obj(c("raters", "candidates", "linear", "quadratic"),
      c(arr(str(raters[c(i, j)])), sum(both), num(weighted_kappa(a, b, 1)), num(weighted_kappa(a, b, 2)))))
  }
  obj(c("item", "candidates", "dropped", "raters", "icc", "ci95", "fleissKappa", "exactAgreement", "adjacentAgreement", "pairs"),
    c(str(d$item[1]), nrow(complete), length(candidates) - nrow(complete), length(raters),
      obj(forms, sapply(icc$ICC, num)),
      obj(forms, mapply(function(lo, hi) arr(c(num(lo), num(hi))), icc[["lower bound"]], icc[["upper bound"]])),
      num(fleiss(complete)), num(agree[["exact"]]), num(agree[["adjacent"]]), arr(pairs)))
}

for (csv in list.files(fixtures, pattern = "^reliability-.*\\.csv$", full.names = TRUE)) {
  d <- read.csv(csv, colClasses = c(candidate = "character", rater = "character", item = "character", score = "numeric"), strip.white = TRUE)
  items <- vapply(unique(d$item), function(item) analyse_item(d[d$item == item, ]), "")
  out <- sub("\\.csv$", ".expected.json", csv)
  writeLines(obj("items", arr(items)), out)
  cat("wrote", out, "\n")
}
