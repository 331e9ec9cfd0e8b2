# Reference outputs for `npm run analyse -- dif`, from R's stats::mantelhaen.test.
# Run from the repository root: Rscript test/analytics/r/dif.R
# Writes test/analytics/fixtures/dif-cohort.csv (seeded, committed) and, for every dif-*.csv
# fixture, <name>.expected.json (numbers at 17 significant digits). CI has no R: commit both.
fixtures <- "test/analytics/fixtures"

# A cohort of realistic size: 120 candidates (80 reference, 40 focal), 10 items under a Rasch
# model, item q7 planted about one logit harder for the focal group, q9 half a logit; about 5%
# of responses missing; strata are bands of the candidate's total score.
set.seed(14)
n_ref <- 80; n_focal <- 40; n_items <- 10
group <- c(rep("reference", n_ref), rep("focal", n_focal))
theta <- rnorm(n_ref + n_focal, mean = ifelse(group == "focal", -0.2, 0), sd = 1)
difficulty <- seq(-1.5, 1.5, length.out = n_items)
dif_shift <- c(0, 0, 0, 0, 0, 0, 1.1, 0, 0.5, 0)
rows <- list()
totals <- numeric(length(theta))
answers <- matrix(NA_integer_, length(theta), n_items)
for (i in seq_along(theta)) {
  for (j in seq_len(n_items)) {
    if (runif(1) < 0.05) next
    shift <- if (group[i] == "focal") dif_shift[j] else 0
    answers[i, j] <- as.integer(runif(1) < plogis(theta[i] - difficulty[j] - shift))
  }
}
totals <- rowSums(answers, na.rm = TRUE)
band <- cut(totals, breaks = c(-Inf, 2, 4, 6, 8, Inf), labels = c("0-2", "3-4", "5-6", "7-8", "9-10"))
out <- c("candidate,group,item,pass,stratum")
for (i in seq_along(theta)) for (j in seq_len(n_items)) {
  if (is.na(answers[i, j])) next
  out <- c(out, sprintf("c%03d,%s,q%d,%d,%s", i, group[i], j, answers[i, j], band[i]))
}
writeLines(out, file.path(fixtures, "dif-cohort.csv"))

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
