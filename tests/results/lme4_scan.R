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

args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) >= 1) args[1] else Sys.getenv("KINSHIP_SEED_DATA")
if (!nzchar(data_dir) || !dir.exists(data_dir))
    stop("give the seed-data folder as first argument or in $KINSHIP_SEED_DATA")
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
out_file <- if (length(args) >= 2) args[2] else file.path(script_dir, "lme4_scan.json")

n <- 1200L
n_snp <- 130L
y <- scan(file.path(data_dir, "phenotype.csv"), quiet = TRUE)
D <- matrix(scan(file.path(data_dir, "design_matrix.csv"), sep = ",", quiet = TRUE),
            nrow = n, ncol = n_snp, byrow = TRUE)
K <- matrix(scan(file.path(data_dir, "kinship_matrix.csv"), sep = ",", quiet = TRUE),
            nrow = n, ncol = n, byrow = TRUE)
R_sp <- as(as(Matrix(chol(K), sparse = TRUE), "generalMatrix"), "CsparseMatrix")

## SNPs: the four causal ones of the simulation (1, 3, 5, 11), a null SNP, and the SNP with
## the largest LRT
snps <- c(1L, 3L, 5L, 11L, 20L, 41L)

ctrl <- lmerControl(check.nobs.vs.nlev = "ignore", check.nobs.vs.nRE = "ignore",
                    check.nobs.vs.rankZ = "ignore")

fit_kinship <- function(X, REML) {
    id <- factor(seq_len(n), levels = seq_len(n))
    lf <- lFormula(y ~ 0 + X + (1 | id), data = list(y = y, X = X, id = id), REML = REML,
                   control = ctrl)
    lf$reTrms$Zt <- as(R_sp %*% lf$reTrms$Zt, "CsparseMatrix")
    devfun <- do.call(mkLmerDevfun, lf)
    o_opt <- optimize(devfun, c(0, 20), tol = 1e-12)      # theta is 1-D
    o_bob <- optimizeLmer(devfun, optimizer = "bobyqa", start = lf$reTrms$theta)
    use_opt <- o_opt$objective <= o_bob$fval
    theta <- if (use_opt) o_opt$minimum else unname(o_bob$par)
    opt <- structure(list(par = theta, fval = devfun(theta), conv = 0L,
                          message = if (use_opt) "optimize" else "bobyqa"),
                     optimizer = "optimize", control = list(), warnings = list(),
                     derivs = NULL)
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

## numbers with the fewest digits (15 to 17) that read back to the same double
exact_numbers <- function(x) {
    if (is.list(x)) {
        a <- attributes(x)
        x <- lapply(x, exact_numbers)
        attributes(x) <- a
        x
    } else if (is.double(x)) {
        s <- vapply(x, function(v) {
            for (d in 15:17) {
                s <- sprintf("%.*g", d, v)
                if (as.numeric(s) == v) break
            }
            s
        }, "")
        structure(if (length(x) == 1) s else paste0("[", paste(s, collapse = ","), "]"),
                  class = "json")
    } else x
}
results$meta <- list(R_version = R.version.string,
                     lme4_version = as.character(packageVersion("lme4")),
                     snps = snps,
                     command = "Rscript tests/results/lme4_scan.R /path/to/seed-data")
writeLines(toJSON(exact_numbers(results), auto_unbox = TRUE, json_verbatim = TRUE,
                  pretty = TRUE), out_file)
cat(sprintf("wrote %s (%.1f s of fitting)\n", out_file, proc.time()[["elapsed"]] - t_start))
