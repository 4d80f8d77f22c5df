## Reference Satterthwaite degrees of freedom from R's lmerTest for the kinship
## linear mixed model
##
##     y = X b + g + e,   g ~ N(0, sigma^2 theta^2 K),   e ~ N(0, sigma^2 I)
##
## built as in lme4_seed.R (lme4's modular interface, Zt premultiplied by
## chol(K)). lmerTest's as_lmerModLmerTest() cannot rebuild such a model from
## its call, so the model and its deviance function go to lmerTest's internal
## constructor as_lmerModLT(model, devfun), which is what as_lmerModLmerTest()
## calls once it has the deviance function: it computes the Hessian of the
## deviance in (theta, sigma) and the Jacobian of vcov(beta) numerically
## (numDeriv) and summary()/contest1D() use them for the Satterthwaite df.
##
## Data and designs (those of lme4_lrt.R):
##   "seed":  ../shared/seed-data, X = Intercept + SNP1 + SNP3 + SNP5 + SNP11 + SNP15 + SNP64;
##   "small": lme4_lrt_small.csv (written by lme4_lrt.R), K = kronecker(I_40, B),
##            X = 1 + x1 + snp + famx (famx is constant within families).
## Each fitted by REML and by ML. Recorded per fit: summary(m)$coefficients
## (estimate, SE, df, t, p) and contest1D(m, L) for the contrast L named in
## "contrast" (SNP3 - SNP5; snp - famx).
##
## Usage:
##   Rscript tests/results/lmertest_seed.R [SEED_DATA_DIR [OUTPUT_JSON]]
## SEED_DATA_DIR defaults to $KINSHIP_SEED_DATA; OUTPUT_JSON to
## lmertest_seed.json beside this script.

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(lmerTest)
    library(jsonlite)
})

## this script's folder: kinship_lmm.R (shared with the other scripts), the small data
## set and the output
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))
cmd <- script_arguments(script_dir, "lmertest_seed.json")
out_file <- cmd$out_file

record <- function(m, L, contrast_name) {
    co <- summary(m, ddf = "Satterthwaite")$coefficients   # summary(m)$coefficients
    rownames(co) <- sub("^X", "", rownames(co))
    ct <- contest1D(m, L, ddf = "Satterthwaite")           # contest1D(m, L)
    list(
        theta = unname(getME(m, "theta")),
        estimate = as.list(co[, "Estimate"]),
        se = as.list(co[, "Std. Error"]),
        df = as.list(co[, "df"]),
        t = as.list(co[, "t value"]),
        p = as.list(co[, "Pr(>|t|)"]),
        contrast = list(name = contrast_name, L = I(as.numeric(L)), estimate = ct$Estimate,
                        se = ct[["Std. Error"]], df = ct$df, t = ct[["t value"]],
                        p = ct[["Pr(>|t|)"]]),
        vcov_varpar = m@vcov_varpar                         # 2 * solve(Hessian of deviance)
    )
}

## ----------------------------------------------------------------- seed data

seed <- read_seed_data(cmd$data_dir)    # kinship_lmm.R: y, D (columns SNP1..SNP130), K
X <- cbind(Intercept = 1, seed$D[, c("SNP1", "SNP3", "SNP5", "SNP11", "SNP15", "SNP64")])
L <- setNames(rep(0, ncol(X)), colnames(X))
L[c("SNP3", "SNP5")] <- c(1, -1)

t_start <- proc.time()[["elapsed"]]
results <- list(seed = list(columns = I(colnames(X))))
for (method in c("REML", "ML")) {
    m <- fit_lmertest(seed$y, X, seed$K, method == "REML")
    results$seed[[method]] <- record(m, L, "SNP3 - SNP5")
}

## ---------------------------------------------------------------- small data

small <- read.csv(file.path(script_dir, "lme4_lrt_small.csv"))
B <- family_kinship()                   # kinship_lmm.R: two parents, two children
K_small <- kronecker(diag(nrow(small) / 4), B)
X <- cbind(Intercept = 1, x1 = small$x1, snp = small$snp, famx = small$famx)
L <- c(0, 0, 1, -1)
results$small <- list(columns = I(colnames(X)), data = "lme4_lrt_small.csv")
for (method in c("REML", "ML")) {
    m <- fit_lmertest(small$y, X, K_small, method == "REML")
    results$small[[method]] <- record(m, L, "snp - famx")
}

for (d in c("seed", "small")) for (method in c("REML", "ML")) {
    r <- results[[d]][[method]]
    cat(sprintf("%-5s %-4s df: %s; contrast df %.6g\n", d, method,
                paste(sprintf("%.6g", unlist(r$df)), collapse = " "), r$contrast$df))
}

## ------------------------------------------------------------------- output

## write_exact_json() (kinship_lmm.R): every double with the fewest digits (15 to 17)
## that read back to it.
results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    lmerTest_version = as.character(packageVersion("lmerTest")),
    numDeriv_version = as.character(packageVersion("numDeriv")),
    command = "Rscript tests/results/lmertest_seed.R /path/to/seed-data"
)
write_exact_json(results, out_file)
cat(sprintf("wrote %s (%.1f s)\n", out_file, proc.time()[["elapsed"]] - t_start))
