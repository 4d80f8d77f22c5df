## Reference multi-df F tests with Satterthwaite denominator df from R's lmerTest, for the
## kinship linear mixed model on the seed data (issue 12: wald_test / f_test /
## wald_test_terms with df_method = "satterthwaite").
##
## The model is built and handed to lmerTest exactly as in lmertest_seed.R (lme4's modular
## interface with Zt premultiplied by chol(K), theta by optimize(), then lmerTest's
## internal as_lmerModLT(fit, devfun)); X = Intercept + SNP1 + SNP3 + SNP5 + SNP11 + SNP15
## + SNP64, fitted by REML and by ML. For each hypothesis matrix L (rows on the columns of
## X) contestMD(m, L, ddf = "Satterthwaite") is recorded: F value, NumDF, DenDF, Pr(>F)
## (the test anova(m, type = 3) makes for each term).
##
## Usage:
##   Rscript tests/results/lmertest_anova.R [SEED_DATA_DIR [OUTPUT_JSON]]
## SEED_DATA_DIR defaults to $KINSHIP_SEED_DATA; OUTPUT_JSON to lmertest_anova.json beside
## this script.

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(lmerTest)
    library(jsonlite)
})

script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))
cmd <- script_arguments(script_dir, "lmertest_anova.json")

t_start <- proc.time()[["elapsed"]]
seed <- read_seed_data(cmd$data_dir)
X <- cbind(Intercept = 1, seed$D[, c("SNP1", "SNP3", "SNP5", "SNP11", "SNP15", "SNP64")])
cols <- colnames(X)
hyp <- function(rows) {  # rows: list of named coefficient vectors
    L <- matrix(0, length(rows), length(cols), dimnames = list(NULL, cols))
    for (i in seq_along(rows)) L[i, names(rows[[i]])] <- rows[[i]]
    L
}
hypotheses <- list(
    "SNP1 = SNP3 = 0" = hyp(list(c(SNP1 = 1), c(SNP3 = 1))),
    "SNP3 = SNP5, SNP11 = SNP15" = hyp(list(c(SNP3 = 1, SNP5 = -1), c(SNP11 = 1, SNP15 = -1))),
    "SNP11 = SNP15 = SNP64 = 0" = hyp(list(c(SNP11 = 1), c(SNP15 = 1), c(SNP64 = 1))),
    "all slopes = 0" = hyp(lapply(cols[-1], function(s) setNames(1, s)))
)
results <- list(columns = I(cols))
for (method in c("REML", "ML")) {
    m <- fit_lmertest(seed$y, X, seed$K, method == "REML")
    results[[method]] <- lapply(names(hypotheses), function(h) {
        L <- hypotheses[[h]]
        ct <- contestMD(m, L, ddf = "Satterthwaite")       # contestMD(m, L)
        list(name = h, L = lapply(seq_len(nrow(L)), function(i) I(unname(L[i, ]))),
             F = ct[["F value"]], df_num = ct$NumDF, df_denom = ct$DenDF,
             p = ct[["Pr(>F)"]])
    })
    for (r in results[[method]])
        cat(sprintf("%-4s %-28s F %.6g  df %d, %.6g  p %.6g\n", method, r$name, r$F,
                    r$df_num, r$df_denom, r$p))
}
results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    lmerTest_version = as.character(packageVersion("lmerTest")),
    command = "Rscript tests/results/lmertest_anova.R /path/to/seed-data"
)
write_exact_json(results, cmd$out_file)
cat(sprintf("wrote %s (%.1f s)\n", cmd$out_file, proc.time()[["elapsed"]] - t_start))
