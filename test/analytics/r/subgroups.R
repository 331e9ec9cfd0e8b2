# Reference outputs for `npm run analyse -- subgroups`, from R's prop.test (Wilson interval
# without continuity correction) and fisher.test (FEXACT for more than two groups).
# Run from the repository root: Rscript test/analytics/r/subgroups.R
# For every test/analytics/fixtures/subgroups-*.csv (subgroups-cohort.csv comes from
# make-subgroups-fixture.ts), writes <name>.expected.json (numbers at 17 significant digits),
# and fisher-tables.expected.json: Fisher's test alone on harder tables.
fixtures <- "test/analytics/fixtures"

num <- function(x) if (is.null(x) || is.na(x)) "null" else sprintf("%.17g", x)
str <- function(x) paste0('"', gsub('(["\\\\])', "\\\\\\1", x), '"')

expected_for <- function(csv) {
  d <- read.csv(csv, colClasses = "character", check.names = FALSE)
  d$passed <- as.integer(d$passed)
  out <- character(0)
  for (characteristic in unique(d$characteristic)) {
    dc <- d[d$characteristic == characteristic, ]
    groups <- unique(dc$group)
    n_of <- sapply(groups, function(g) sum(dc$group == g))
    passed_of <- sapply(groups, function(g) sum(dc$passed[dc$group == g]))
    shown <- n_of >= 10
    highest <- if (any(shown)) max(passed_of[shown] / n_of[shown]) else 0
    rows <- character(0)
    for (i in seq_along(groups)) {
      if (!shown[i]) {
        rows <- c(rows, paste0('{"group":', str(groups[i]), ',"suppressed":true}'))
        next
      }
      rate <- passed_of[[i]] / n_of[[i]]
      ci <- suppressWarnings(prop.test(passed_of[[i]], n_of[[i]], correct = FALSE)$conf.int)
      ratio <- if (highest > 0) rate / highest else NA
      rows <- c(rows, paste0('{"group":', str(groups[i]), ',"n":', n_of[[i]], ',"passed":', passed_of[[i]],
        ',"rate":', num(rate), ',"ci95":[', num(ci[1]), ',', num(ci[2]), '],"ratio":', num(ratio), ',"suppressed":false}'))
    }
    fisher <- if (sum(shown) >= 2) {
      fisher.test(cbind(passed_of[shown], n_of[shown] - passed_of[shown]), workspace = 2e8)$p.value
    } else NA
    out <- c(out, paste0('{"characteristic":', str(characteristic), ',"groups":[', paste(rows, collapse = ","),
      '],"fisherP":', num(fisher), '}'))
  }
  paste0('{"characteristics":[', paste(out, collapse = ","), "]}")
}

for (csv in list.files(fixtures, pattern = "^subgroups-.*\\.csv$", full.names = TRUE)) {
  writeLines(expected_for(csv), sub("\\.csv$", ".expected.json", csv))
}

# Fisher's exact test on its own, on tables harder than the cohort's: ten groups of about 500
# candidates with equal and unequal sizes, a 2×2, one with an empty column, and a far tail.
set.seed(1)
tables <- list()
for (sizes in list(rep(50, 10), c(300, 40, 30, 25, 20, 20, 20, 15, 15, 15), c(20, 30, 40, 50, 60, 70, 80, 90, 30, 30),
                   c(23, 37, 41, 53, 61, 71, 83, 97, 11, 23))) {
  passed <- rbinom(length(sizes), sizes, 0.5)
  tables[[length(tables) + 1]] <- cbind(passed, sizes - passed)
}
tables[[length(tables) + 1]] <- cbind(c(3, 14), c(9, 4))
tables[[length(tables) + 1]] <- cbind(c(12, 15, 30), c(0, 0, 0))
tables[[length(tables) + 1]] <- cbind(c(2, 9, 12, 3), c(18, 6, 2, 22))
# Equal groups, where many tables tie with the observed one.
tables[[length(tables) + 1]] <- cbind(c(5, 5, 3, 7), c(5, 5, 7, 3))
# Twelve random tables of 3 to 6 groups of 10 to 80, pass rates apart or not.
for (i in 1:12) {
  groups <- sample(3:6, 1)
  sizes <- sample(10:80, groups, replace = TRUE)
  passed <- rbinom(groups, sizes, runif(groups, 0.2, 0.9))
  tables[[length(tables) + 1]] <- cbind(passed, sizes - passed)
}
json <- sapply(tables, function(t) {
  p <- fisher.test(t, workspace = 2e8)$p.value
  paste0('{"passed":[', paste(t[, 1], collapse = ","), '],"failed":[', paste(t[, 2], collapse = ","), '],"p":', num(p), "}")
})
writeLines(paste0("[", paste(json, collapse = ","), "]"), file.path(fixtures, "fisher-tables.expected.json"))
