## Reference fits from R's lme4 for the per-SNP scan (statsmodels_kinship.scan) on the
## seed data (../shared/seed-data, see its README.md).
##
##     y = b0 + b1 x_j + g + e,   g ~ N(0, sigma^2 theta^2 K),   e ~ N(0, sigma^2 I)
##
## for the null model (no SNP) and for a few SNPs x_j (columns of design_matrix.csv), each
## fitted by ML (the likelihood-ratio test: 2 (logLik(snp) - logLik(null))) and by REML (the
## Wald test: fixef and its standard error).  The kinship enters through lme4's modular
## interface as in lme4qtl::relmatLmer (Zt premultiplied by chol(K)), as in lme4_seed.R.
##
## Usage:
##   Rscript tests/results/lme4_scan.R [SEED_DATA_DIR [OUTPUT_JSON]]
## SEED_DATA_DIR defaults to $KINSHIP_SEED_DATA; OUTPUT_JSON to lme4_scan.json beside this
## script.

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(jsonlite)
})

## this script's folder: kinship_lmm.R (shared with the other scripts) and the output
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))
cmd <- script_arguments(script_dir, "lme4_scan.json")
out_file <- cmd$out_file

seed <- read_seed_data(cmd$data_dir)    # kinship_lmm.R: y, D (1200 x 130 genotypes), K
y <- seed$y
D <- seed$D
n <- length(y)
R_sp <- chol_sparse(seed$K)             # kinship_lmm.R: chol(K) as a dgCMatrix

## SNPs: the four causal ones of the simulation (1, 3, 5, 11), a null SNP, and the SNP with
## the largest LRT
snps <- c(1L, 3L, 5L, 11L, 20L, 41L)

## the lme4 pieces from kinship_lformula() (kinship_lmm.R: Zt replaced by chol(K) %*% Zt);
## theta by optimize() and bobyqa, keeping the lower criterion (as lme4_seed.R)
fit_kinship <- function(X, REML) {
    lf <- kinship_lformula(y, X, R_sp, REML)
    devfun <- do.call(mkLmerDevfun, lf)
    o_opt <- optimize(devfun, c(0, 20), tol = 1e-12)      # theta is 1-D
    o_bob <- optimizeLmer(devfun, optimizer = "bobyqa", start = lf$reTrms$theta)
    use_opt <- o_opt$objective <= o_bob$fval
    theta <- if (use_opt) o_opt$minimum else unname(o_bob$par)
    opt <- kinship_opt(devfun, theta,                     # fval = devfun(theta)
                       if (use_opt) "optimize" else "bobyqa")
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    b <- fixef(fit)
    list(theta = unname(getME(fit, "theta")),                   # getME(fit, "theta")
         sigma2 = sigma(fit)^2,                                  # sigma(fit)^2
         logLik = as.numeric(logLik(fit)),                       # logLik(fit)
         criterion = if (REML) REMLcrit(fit) else deviance(fit), # REMLcrit / deviance
         fixef = unname(b),                                      # fixef(fit)
         se = unname(sqrt(diag(as.matrix(vcov(fit))))),          # sqrt(diag(vcov(fit)))
         optimizer = opt$message,
         theta_optimize_minus_bobyqa = o_opt$minimum - unname(o_bob$par))
}

t_start <- proc.time()[["elapsed"]]
results <- list(null = list(ML = fit_kinship(matrix(1, n, 1), REML = FALSE),
                            REML = fit_kinship(matrix(1, n, 1), REML = TRUE)))
for (j in snps) {
    X <- cbind(1, D[, j])
    ml <- fit_kinship(X, REML = FALSE)
    reml <- fit_kinship(X, REML = TRUE)
    lrt <- 2 * (ml$logLik - results$null$ML$logLik)
    results[[paste0("SNP", j)]] <- list(ML = ml, REML = reml, lrt = lrt,
                                        p_lrt = pchisq(lrt, 1, lower.tail = FALSE))
    cat(sprintf("SNP%-3d ML theta %.10g logLik %.10f | REML beta %.10g se %.10g | LRT %.8g\n",
                j, ml$theta, ml$logLik, reml$fixef[2], reml$se[2], lrt))
}

## write_exact_json() (kinship_lmm.R): every double with the fewest digits (15 to 17)
## that read back to it.
results$meta <- list(R_version = R.version.string,
                     lme4_version = as.character(packageVersion("lme4")),
                     snps = snps,
                     command = "Rscript tests/results/lme4_scan.R /path/to/seed-data")
write_exact_json(results, out_file)
cat(sprintf("wrote %s (%.1f s of fitting)\n", out_file, proc.time()[["elapsed"]] - t_start))
