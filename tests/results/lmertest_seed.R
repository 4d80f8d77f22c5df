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

args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) >= 1) args[1] else Sys.getenv("KINSHIP_SEED_DATA")
if (!nzchar(data_dir) || !dir.exists(data_dir))
    stop("give the seed-data folder as first argument or in $KINSHIP_SEED_DATA")
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
out_file <- if (length(args) >= 2) args[2] else file.path(script_dir, "lmertest_seed.json")

ctrl <- lmerControl(check.nobs.vs.nlev = "ignore", check.nobs.vs.nRE = "ignore",
                    check.nobs.vs.rankZ = "ignore")

fit_lmertest <- function(y, X, K, REML) {
    n <- length(y)
    R_sp <- as(as(Matrix(chol(K), sparse = TRUE), "generalMatrix"), "CsparseMatrix")
    id <- factor(seq_len(n), levels = seq_len(n))
    lf <- lFormula(y ~ 0 + X + (1 | id), data = list(y = y, X = X, id = id),
                   REML = REML, control = ctrl)
    lf$reTrms$Zt <- as(R_sp %*% lf$reTrms$Zt, "CsparseMatrix")
    devfun <- do.call(mkLmerDevfun, lf)
    o <- optimize(devfun, c(0, 20), tol = 1e-12)
    stopifnot(o$minimum < 19)
    opt <- structure(list(par = o$minimum, fval = devfun(o$minimum), conv = 0L,
                          message = "optimize"),
                     optimizer = "optimize", control = list(), warnings = list(),
                     derivs = NULL)
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    m <- lmerTest:::as_lmerModLT(fit, devfun)
    stopifnot(inherits(m, "lmerModLmerTest"))
    m
}

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

data_dir <- normalizePath(data_dir)
n <- 1200L
n_snp <- 130L
y <- scan(file.path(data_dir, "phenotype.csv"), quiet = TRUE)
D <- matrix(scan(file.path(data_dir, "design_matrix.csv"), sep = ",", quiet = TRUE),
            nrow = n, ncol = n_snp, byrow = TRUE)
K <- matrix(scan(file.path(data_dir, "kinship_matrix.csv"), sep = ",", quiet = TRUE),
            nrow = n, ncol = n, byrow = TRUE)
colnames(D) <- paste0("SNP", seq_len(n_snp))
X <- cbind(Intercept = 1, D[, c("SNP1", "SNP3", "SNP5", "SNP11", "SNP15", "SNP64")])
L <- setNames(rep(0, ncol(X)), colnames(X))
L[c("SNP3", "SNP5")] <- c(1, -1)

t_start <- proc.time()[["elapsed"]]
results <- list(seed = list(columns = I(colnames(X))))
for (method in c("REML", "ML")) {
    m <- fit_lmertest(y, X, K, method == "REML")
    results$seed[[method]] <- record(m, L, "SNP3 - SNP5")
}

## ---------------------------------------------------------------- small data

small <- read.csv(file.path(script_dir, "lme4_lrt_small.csv"))
B <- matrix(c(0.50, 0.00, 0.25, 0.25,
              0.00, 0.50, 0.25, 0.25,
              0.25, 0.25, 0.50, 0.25,
              0.25, 0.25, 0.25, 0.50), 4, 4)
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

to_json_num <- function(x) {
    vapply(x, function(v) {
        if (is.na(v)) return("null")
        for (d in 15:17) {
            s <- sprintf("%.*g", d, v)
            if (as.numeric(s) == v) break
        }
        s
    }, "")
}
exact_numbers <- function(x) {
    if (is.list(x)) {
        a <- attributes(x)
        x <- lapply(x, exact_numbers)
        attributes(x) <- a
        x
    } else if (is.double(x)) {
        s <- to_json_num(x)
        json <- if (length(x) == 1 && !inherits(x, "AsIs") && is.null(dim(x))) s
                else if (is.null(dim(x))) paste0("[", paste(s, collapse = ","), "]")
                else paste0("[", paste(apply(matrix(s, nrow(x)), 1, function(r)
                    paste0("[", paste(r, collapse = ","), "]")), collapse = ","), "]")
        structure(json, class = "json")
    } else x
}

results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    lmerTest_version = as.character(packageVersion("lmerTest")),
    numDeriv_version = as.character(packageVersion("numDeriv")),
    command = "Rscript tests/results/lmertest_seed.R /path/to/seed-data"
)
writeLines(toJSON(exact_numbers(results), auto_unbox = TRUE, json_verbatim = TRUE,
                  pretty = TRUE), out_file)
cat(sprintf("wrote %s (%.1f s)\n", out_file, proc.time()[["elapsed"]] - t_start))
