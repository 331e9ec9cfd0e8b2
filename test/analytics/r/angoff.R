# Reference values for `npm run analyse -- angoff`: per item the mean and sd over judges; the cut
# as the mean over judges of each judge's sum, with the sd of those sums.
# Run from the repository root: Rscript test/analytics/r/angoff.R
# Writes test/analytics/fixtures/<case>.expected.json (numbers at 17 significant digits).
fixtures <- "test/analytics/fixtures"
num <- function(x) sprintf("%.17g", x)
str <- function(x) paste0('"', gsub('"', '\\\\"', x), '"')

angoff <- function(csv) {
  d <- read.csv(file.path(fixtures, csv), colClasses = "character")
  d$estimate <- as.numeric(d$estimate)
  items <- unique(d$item)
  judges <- unique(d$judge)
  wide <- tapply(d$estimate, list(d$judge, d$item), identity)[judges, items]
  stopifnot(!any(is.na(wide)))
  rows <- sprintf('{"item":%s,"cut":%s,"sd":%s,"judges":%d}',
                  str(items), num(colMeans(wide)), num(apply(wide, 2, sd)), length(judges))
  sums <- rowSums(wide)
  sprintf('{"items":[%s],"cut":%s,"sd":%s,"judges":%d}\n', paste(rows, collapse = ","), num(mean(sums)), num(sd(sums)), length(judges))
}

for (name in c("angoff-small", "angoff-cohort")) {
  writeLines(angoff(paste0(name, ".csv")), file.path(fixtures, paste0(name, ".expected.json")), sep = "")
  cat("wrote", paste0(name, ".expected.json"), "\n")
}
