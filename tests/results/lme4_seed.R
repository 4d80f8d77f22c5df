## Reference results from R's lme4 for the kinship linear mixed model on the
## seed data (../shared/seed-data, see its README.md):
##
##     y = X b + g + e,   g ~ N(0, sigma^2 theta^2 K),   e ~ N(0, sigma^2 I)
##
## (lme4 conventions: theta is the relative standard deviation of the kinship
## effect, so the kinship variance component is sigma^2 theta^2.)
##
## The model is fitted through lme4's modular interface the way lme4qtl's
## relmatLmer() does: one random intercept per individual, whose Z^T is then
## premultiplied by R = chol(K) (upper triangular, K = R^T R), so that
## Cov(Z Lambda u) = sigma^2 theta^2 R^T R = sigma^2 theta^2 K.
##
## Designs (both with columns Intercept, SNP1..SNP130):
##   "blog":    the matrix the blog post fitted, numpy
##              concatenate([ones(1200), D.ravel()]).reshape(1200, 131)
##              (a row of ones prepended to the genotype rows, reshaped row-major);
##   "correct": cbind(1, D).
## Each is fitted by REML and by ML.  "published" evaluates the blog design by
## REML at the theta printed in the blog (no optimization).
##
## Usage:
##   Rscript tests/results/lme4_seed.R [SEED_DATA_DIR [OUTPUT_JSON]]
## SEED_DATA_DIR defaults to $KINSHIP_SEED_DATA; OUTPUT_JSON defaults to
## lme4_seed.json beside this script.

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(jsonlite)
})

## ---------------------------------------------------------------- arguments

## this script's folder: kinship_lmm.R (shared with the other scripts) and the output
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))
cmd <- script_arguments(script_dir, "lme4_seed.json")
out_file <- cmd$out_file

## --------------------------------------------------------------------- data

seed <- read_seed_data(cmd$data_dir)          # kinship_lmm.R: y, D (1200 x 130), K
y <- seed$y
D <- seed$D
K <- seed$K
n <- length(y)                                # 1200
n_snp <- ncol(D)                              # 130

col_names <- c("Intercept", paste0("SNP", seq_len(n_snp)))

## The blog's matrix: numpy concatenate([ones(n), D.ravel()]).reshape(n, 131).
## as.vector(t(D)) is D.ravel() (row-major); byrow = TRUE is reshape (C order).
flat <- c(rep(1, n), as.vector(t(D)))
X_blog <- matrix(flat, nrow = n, ncol = n_snp + 1L, byrow = TRUE,
                 dimnames = list(NULL, col_names))
## check element by element against the numpy definition: X[i, j] = flat[(i-1)*131 + j]
ij <- as.matrix(expand.grid(i = seq_len(n), j = seq_len(n_snp + 1L)))
stopifnot(all(X_blog[ij] == flat[(ij[, "i"] - 1L) * (n_snp + 1L) + ij[, "j"]]),
          all(X_blog[1:9, ] == 1),                      # 9 * 131 = 1179 ones ...
          all(X_blog[10, 1:21] == 1),                   # ... + 21 = 1200 ones
          all(X_blog[10, 22:131] == D[1, 1:110]),       # then genotype row 1
          all(X_blog[n, ] == c(D[n - 1L, n_snp], D[n, ])))  # last row: D[n-1, 130], D[n, ]
cat("blog design check: rows 1..9 all ones:", all(X_blog[1:9, ] == 1),
    "| row 10 = 21 ones then D[1, 1:110]:",
    all(X_blog[10, 1:21] == 1) && all(X_blog[10, 22:131] == D[1, 1:110]),
    "| row 11 = D[1, 111:130], D[2, 1:111]:",
    all(X_blog[11, ] == c(D[1, 111:130], D[2, 1:111])), "\n")

X_correct <- cbind(1, D)
dimnames(X_correct) <- list(NULL, col_names)

## K = R^T R with R upper triangular; sparse (K is block diagonal by family)
R_sp <- chol_sparse(K)                        # kinship_lmm.R: chol(K) as a dgCMatrix
stopifnot(max(abs(crossprod(as.matrix(R_sp)) - K)) < 1e-12)

## --------------------------------------------------------------- the fits

## The model pieces come from kinship_lformula(y, X, R_sp, REML) in kinship_lmm.R:
## lFormula(y ~ 0 + X + (1 | id)) with Zt replaced by R %*% Zt (lme4qtl style).

## Optimum for mkMerMod() (kinship_opt() in kinship_lmm.R: fval = devfun(theta)).
make_opt <- function(devfun, theta, optimizer) {
    kinship_opt(devfun, theta, paste("theta from", optimizer), optimizer)
}

## Everything recorded for one fit (the extractor is named on each line).
summarise_fit <- function(fit, lf) {
    X_kept <- lf$X
    kept <- sub("^X", "", colnames(X_kept))
    aliased <- sub("^X", "", names(attr(X_kept, "col.dropped")))
    theta <- unname(getME(fit, "theta"))              # getME(fit, "theta")
    sigma2 <- sigma(fit)^2                            # sigma(fit)^2
    b <- fixef(fit)                                   # fixef(fit)
    names(b) <- sub("^X", "", names(b))
    se <- sqrt(diag(as.matrix(vcov(fit))))            # sqrt(diag(vcov(fit)))
    names(se) <- names(b)
    list(
        theta = theta,
        sigma2 = sigma2,
        vc_kinship = sigma2 * theta^2,                # sigma(fit)^2 * theta^2
        criterion = if (isREML(fit)) REMLcrit(fit)    # REMLcrit(fit)
                    else deviance(fit),               # deviance(fit)
        logLik = as.numeric(logLik(fit)),             # logLik(fit)
        fixef = as.list(b),
        se = as.list(se),
        kept = I(kept),                               # colnames(lFormula(...)$X)
        aliased = I(aliased),                         # attr(lFormula(...)$X, "col.dropped")
        nobs = nobs(fit),                             # nobs(fit)
        rank = ncol(getME(fit, "X"))                  # ncol(getME(fit, "X"))
    )
}

fit_kinship <- function(y, X, REML) {
    lf <- kinship_lformula(y, X, R_sp, REML)
    devfun <- do.call(mkLmerDevfun, lf)

    ## lme4's own optimizer (bobyqa), plus lmer()'s default (nloptwrap), both
    ## from lme4's starting value theta = 1 (given explicitly: by default
    ## optimizeLmer starts from whatever theta devfun evaluated last) ...
    theta0 <- lf$reTrms$theta
    o_bob <- optimizeLmer(devfun, optimizer = "bobyqa", start = theta0)
    o_nlo <- optimizeLmer(devfun, optimizer = "nloptwrap", start = theta0)
    ## ... and, theta being 1-D, golden section / parabolic search
    o_opt <- optimize(devfun, c(0, 20), tol = 1e-12)
    crit0 <- devfun(0)                                # boundary theta = 0
    stopifnot(o_opt$minimum < 19)                     # interior of the search interval

    optima <- list(
        optimize = list(theta = o_opt$minimum, criterion = o_opt$objective),
        bobyqa = list(theta = unname(o_bob$par), criterion = o_bob$fval,
                      conv = o_bob$conv),
        nloptwrap = list(theta = unname(o_nlo$par), criterion = o_nlo$fval,
                         conv = o_nlo$conv),
        boundary = list(theta = 0, criterion = crit0)
    )
    ## keep the lower of optimize() and bobyqa
    best <- if (o_opt$objective <= o_bob$fval) "optimize" else "bobyqa"
    theta_hat <- optima[[best]]$theta
    stopifnot(crit0 > optima[[best]]$criterion)

    opt <- make_opt(devfun, theta_hat, best)
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    res <- summarise_fit(fit, lf)
    c(res, list(optimizer = best, optima = optima))
}

## Blog design, REML, at the published theta (no optimization).
fit_published <- function(y, X, theta) {
    lf <- kinship_lformula(y, X, R_sp, REML = TRUE)
    devfun <- do.call(mkLmerDevfun, lf)
    opt <- make_opt(devfun, theta, "fixed (published theta)")
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    res <- summarise_fit(fit, lf)
    b <- unlist(res$fixef)
    se <- unlist(res$se)
    p <- 2 * pnorm(-abs(b / se))                      # Wald z p-values
    res$pvalue <- as.list(p)
    res$significant_05 <- I(names(p)[p < 0.05 & names(p) != "Intercept"])
    res
}

t_start <- proc.time()[["elapsed"]]
results <- list()
for (design in c("blog", "correct")) {
    X <- switch(design, blog = X_blog, correct = X_correct)
    for (method in c("REML", "ML")) {
        res <- fit_kinship(y, X, REML = (method == "REML"))
        cat(sprintf(paste("%-7s %-4s theta = %.12g  criterion = %.12f  sigma2 = %.12g",
                          " kept = %d aliased = %d  [optimize - bobyqa: theta %.2e, crit %.2e]\n"),
                    design, method, res$theta, res$criterion, res$sigma2,
                    length(res$kept), length(res$aliased),
                    res$optima$optimize$theta - res$optima$bobyqa$theta,
                    res$optima$optimize$criterion - res$optima$bobyqa$criterion))
        results[[design]][[method]] <- res
    }
}

## ----------------------------------------------- the published blog numbers

theta_pub <- 2.508012294769287
pub <- fit_published(y, X_blog, theta_pub)
results$published <- pub

crit_pub <- 3919.756682815396
sigma2_pub <- 0.3189292035466212
snps_pub <- c("SNP2", "SNP7", "SNP10", "SNP11", "SNP13", "SNP15", "SNP24", "SNP25",
              "SNP26", "SNP40", "SNP41", "SNP42", "SNP51", "SNP52", "SNP53", "SNP55",
              "SNP62", "SNP85", "SNP96", "SNP100", "SNP102", "SNP106", "SNP107",
              "SNP125", "SNP127")
pub_check <- list(
    criterion_rel_diff = pub$criterion / crit_pub - 1,
    sigma2_rel_diff = pub$sigma2 / sigma2_pub - 1,
    significant_05_match = identical(sort(unclass(pub$significant_05)), sort(snps_pub))
)
results$published$blog_check <- pub_check
cat(sprintf("published: criterion %.12f (blog %.12f, rel. diff %.2e)\n",
            pub$criterion, crit_pub, pub$criterion / crit_pub - 1))
cat(sprintf("published: sigma2    %.15g (blog %.15g, rel. diff %.2e)\n",
            pub$sigma2, sigma2_pub, pub$sigma2 / sigma2_pub - 1))
cat("published: SNPs with p < 0.05 match the blog's 25:", pub_check$significant_05_match,
    sprintf("(%d found)\n", length(pub$significant_05)))

## ------------------------------------------------------------------- output

## write_exact_json() (kinship_lmm.R): every double with the fewest digits (15 to 17)
## that read back to it.
results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    Matrix_version = as.character(packageVersion("Matrix")),
    command = "Rscript tests/results/lme4_seed.R /path/to/seed-data"
)

write_exact_json(results, out_file)
cat(sprintf("wrote %s (%.1f s of fitting)\n", out_file,
            proc.time()[["elapsed"]] - t_start))
