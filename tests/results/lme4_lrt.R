## Reference likelihood-ratio tests and profile-likelihood intervals from R's
## lme4 for the kinship linear mixed model
##
##     y = X b + g + e,   g ~ N(0, sigma^2 theta^2 K),   e ~ N(0, sigma^2 I)
##
## built as in lme4_seed.R (lme4's modular interface, one random intercept per
## individual, Zt premultiplied by chol(K) as lme4qtl's relmatLmer does).
##
## Two data sets:
##   "seed":  the seed study (../shared/seed-data), design cbind(1, D) subsets:
##            restricted = Intercept + SNP1 + SNP3 + SNP5 + SNP11 (the causal SNPs),
##            full       = restricted + SNP15 + SNP64;
##   "small": 160 people in 40 nuclear families (two unrelated parents, two
##            children), simulated here with a fixed seed and written to
##            lme4_lrt_small.csv (columns family, y, x1, snp, famx; K is
##            kronecker(I_40, B) with B the nuclear-family kinship below):
##            restricted = 1 + x1, full = 1 + x1 + snp + famx.
##
## For each data set:
##   anova_reml  anova(restricted, full) of the REML fits: lme4 refits both by ML
##   anova_ml    anova(restricted, full, refit = FALSE) of ML fits
##   kinship     LR test of the kinship variance in the full model, REML and ML:
##               LR = devfun(0) - devfun(theta_hat) (devfun: lme4's REML
##               criterion or deviance profiled over sigma), p from the 50:50
##               mixture 0.5 * pchisq(LR, 1, lower.tail = FALSE)
##   profile     95% profile-likelihood intervals of the full model, REML and ML:
##               h2 = theta^2 m / (theta^2 m + 1) (m = mean diag K) from the
##               roots of devfun(theta) - min = qchisq(0.95, 1) (0 when devfun(0)
##               is within the cutoff); s_k^2 = sigma^2 theta^2 and s_e^2 = sigma^2
##               from the deviance as a function of (theta, sigma) that lmerTest
##               differentiates (lmerTest:::devfun_vp), minimised over the other
##               parameter at each value, and uniroot.
##
## Usage:
##   Rscript tests/results/lme4_lrt.R [SEED_DATA_DIR [OUTPUT_JSON]]
## SEED_DATA_DIR defaults to $KINSHIP_SEED_DATA; OUTPUT_JSON to lme4_lrt.json
## beside this script (lme4_lrt_small.csv is written beside this script too).

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(lmerTest)
    library(jsonlite)
})

## this script's folder: kinship_lmm.R (shared with the other scripts) and the outputs
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))
cmd <- script_arguments(script_dir, "lme4_lrt.json")
out_file <- cmd$out_file
small_csv <- file.path(script_dir, "lme4_lrt_small.csv")

q95 <- qchisq(0.95, 1)

## ------------------------------------------------------------ model building

## theta by optimize() and bobyqa, keeping the lower criterion (as lme4_seed.R); the lme4
## pieces, with Zt replaced by chol(K) %*% Zt, from kinship_lformula() in kinship_lmm.R
fit_kinship <- function(y, X, R_sp, REML) {
    lf <- kinship_lformula(y, X, R_sp, REML)
    devfun <- do.call(mkLmerDevfun, lf)
    o_opt <- optimize(devfun, c(0, 20), tol = 1e-12)
    o_bob <- optimizeLmer(devfun, optimizer = "bobyqa", start = lf$reTrms$theta)
    stopifnot(o_opt$minimum < 19)
    theta <- if (o_opt$objective <= o_bob$fval) o_opt$minimum else unname(o_bob$par)
    crit0 <- devfun(0)
    opt <- kinship_opt(devfun, theta, "kinship")     # fval = devfun(theta)
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    list(fit = fit, devfun = devfun, theta = theta, criterion = opt$fval, crit0 = crit0,
         REML = REML)
}

## -------------------------------------------------------------- the analyses

anova_numbers <- function(a) {
    list(Chisq = a$Chisq[2],                          # anova(m0, m1)$Chisq
         Df = a$Df[2],                                # anova(m0, m1)$Df
         p = a[["Pr(>Chisq)"]][2],                    # anova(m0, m1)$"Pr(>Chisq)"
         logLik = I(a$logLik))                        # anova(m0, m1)$logLik (ML)
}

kinship_test <- function(f) {
    lr <- max(f$crit0 - f$criterion, 0)               # devfun(0) - devfun(theta_hat)
    list(theta = f$theta, criterion = f$criterion, criterion_zero = f$crit0,
         LR = lr, p_mixture = 0.5 * pchisq(lr, 1, lower.tail = FALSE))
}

profile_intervals <- function(f, m) {
    devfun <- f$devfun
    dmin <- f$criterion
    ## h2 through theta: devfun is already profiled over sigma
    g <- function(t) devfun(t) - dmin - q95
    lo_t <- if (g(0) <= 0) 0 else uniroot(g, c(0, f$theta), tol = 1e-13)$root
    hi <- f$theta * 2
    while (g(hi) < 0) hi <- hi * 2
    hi_t <- uniroot(g, c(f$theta, hi), tol = 1e-13)$root
    h2 <- function(t) t^2 * m / (t^2 * m + 1)
    ## variance components through lmerTest's deviance in (theta, sigma)
    dev_vp <- function(theta, sigma)
        lmerTest:::devfun_vp(c(theta, sigma), devfun, f$REML)
    sig_hat <- sigma(f$fit)
    sk2_hat <- sig_hat^2 * f$theta^2
    se2_hat <- sig_hat^2
    ## min over log(sigma) with s_k^2 = c held: theta = sqrt(c) / sigma
    prof_k <- function(c) optimize(function(ls) dev_vp(sqrt(c) / exp(ls), exp(ls)),
                                   log(sig_hat) + c(-6, 6), tol = 1e-13)$objective
    ## min over theta with s_e^2 = c held
    prof_e <- function(c) optimize(function(t) dev_vp(t, sqrt(c)),
                                   c(0, 10 * max(f$theta, 1)), tol = 1e-13)$objective
    root <- function(prof, est, lower_zero_ok) {
        h <- function(lc) prof(exp(lc)) - dmin - q95
        lo <- if (lower_zero_ok && devfun(0) - dmin <= q95) 0 else {
            a <- log(est) - 1
            while (h(a) < 0) a <- a - 1
            exp(uniroot(h, c(a, log(est)), tol = 1e-12)$root)
        }
        b <- log(est) + 1
        while (h(b) < 0) b <- b + 1
        c(lo, exp(uniroot(h, c(log(est), b), tol = 1e-12)$root))
    }
    list(h2 = c(h2(lo_t), h2(hi_t)),
         theta = c(lo_t, hi_t),
         kinship = root(prof_k, sk2_hat, TRUE),
         residual = root(prof_e, se2_hat, FALSE),
         estimate = list(h2 = h2(f$theta), kinship = sk2_hat, residual = se2_hat),
         devfun_check = dev_vp(f$theta, sig_hat) - dmin)  # 0: the two deviances agree
}

analyse <- function(y, X_restricted, X_full, K) {
    R_sp <- chol_sparse(K)                            # chol(K) as a dgCMatrix
    m <- mean(diag(K))
    fits <- list()
    for (method in c("REML", "ML")) {
        fits[[method]] <- list(
            restricted = fit_kinship(y, X_restricted, R_sp, method == "REML"),
            full = fit_kinship(y, X_full, R_sp, method == "REML"))
    }
    out <- list(
        restricted = I(colnames(X_restricted)), full = I(colnames(X_full)),
        loglik = lapply(fits, function(f) lapply(f, function(x)
            as.numeric(logLik(x$fit)))),              # logLik(fit)
        anova_reml = suppressMessages(anova_numbers(
            anova(fits$REML$restricted$fit, fits$REML$full$fit))),
        anova_ml = anova_numbers(
            anova(fits$ML$restricted$fit, fits$ML$full$fit, refit = FALSE)),
        kinship = list(REML = kinship_test(fits$REML$full), ML = kinship_test(fits$ML$full)),
        profile = list(REML = profile_intervals(fits$REML$full, m),
                       ML = profile_intervals(fits$ML$full, m))
    )
    out
}

## ----------------------------------------------------------------- seed data

seed <- read_seed_data(cmd$data_dir)    # kinship_lmm.R: y, D (columns SNP1..SNP130), K
X_r <- cbind(Intercept = 1, seed$D[, c("SNP1", "SNP3", "SNP5", "SNP11")])
X_f <- cbind(X_r, seed$D[, c("SNP15", "SNP64")])

t_start <- proc.time()[["elapsed"]]
results <- list(seed = analyse(seed$y, X_r, X_f, seed$K))

## ---------------------------------------------------------------- small data

set.seed(20240603)
n_fam <- 40L
B <- family_kinship()                   # kinship_lmm.R: two parents, two children
K_small <- kronecker(diag(n_fam), B)
ns <- nrow(K_small)
family <- rep(seq_len(n_fam), each = 4)
x1 <- round(rnorm(ns), 6)
snp <- rbinom(ns, 2, 0.3)
famx <- rep(round(rnorm(n_fam), 6), each = 4)
g <- as.vector(crossprod(chol(K_small), rnorm(ns))) * sqrt(0.6)
y_small <- round(1 + 0.5 * x1 + 0.15 * snp + 0.2 * famx + g + rnorm(ns), 6)
small <- data.frame(family = family, y = y_small, x1 = x1, snp = snp, famx = famx)
write.csv(small, small_csv, row.names = FALSE, quote = FALSE)
small <- read.csv(small_csv)                    # fit exactly what the file holds
stopifnot(isTRUE(all.equal(small$y, y_small, tolerance = 0)))
X_r <- cbind(Intercept = 1, x1 = small$x1)
X_f <- cbind(X_r, snp = small$snp, famx = small$famx)
results$small <- analyse(small$y, X_r, X_f, K_small)
results$small$data <- basename(small_csv)
results$small$family_kinship <- B

for (d in c("seed", "small")) {
    r <- results[[d]]
    cat(sprintf("%-5s anova (REML fits, refitted by ML): Chisq = %.10g, Df = %d, p = %.6g\n",
                d, r$anova_reml$Chisq, r$anova_reml$Df, r$anova_reml$p))
    for (method in c("REML", "ML")) {
        k <- r$kinship[[method]]
        pr <- r$profile[[method]]
        cat(sprintf("%-5s %-4s kinship LR = %.10g, p (mixture) = %.6g; h2 [%.6f, %.6f]; s_k2 [%.6f, %.6f]\n",
                    d, method, k$LR, k$p_mixture, pr$h2[1], pr$h2[2], pr$kinship[1],
                    pr$kinship[2]))
    }
}

## ------------------------------------------------------------------- output

## write_exact_json() (kinship_lmm.R): every double with the fewest digits (15 to 17)
## that read back to it.
results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    lmerTest_version = as.character(packageVersion("lmerTest")),
    command = "Rscript tests/results/lme4_lrt.R /path/to/seed-data"
)
write_exact_json(results, out_file)
cat(sprintf("wrote %s and %s (%.1f s)\n", out_file, small_csv,
            proc.time()[["elapsed"]] - t_start))
