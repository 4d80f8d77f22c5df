## Reference Satterthwaite degrees of freedom from R's lmerTest for models with several
## variance components (issue 10):
##
##     y = X b + sum_j Z_j u_j + e,   u_j ~ N(0, sigma^2 theta_j^2 K_j),   e ~ N(0, sigma^2 I)
##
## fitted through lme4's modular interface as in lme4_seed_household.R and lme4_bluetit.R
## (relmat_lformula() and multi_fit() in kinship_lmm.R: each relationship term's block of
## Zt premultiplied by chol(K_j), lme4qtl style), then turned into an lmerTest model by
## lmerTest's internal constructor as_lmerModLT(fit, devfun) (as fit_lmertest() does for one
## kinship: as_lmerModLmerTest() cannot rebuild a modular fit from its call). lmerTest
## computes the Hessian of the deviance in (theta, sigma) and the Jacobian of vcov(beta)
## numerically (numDeriv); summary(), contest1D() and contestMD() use them for
## Satterthwaite's df.
##
## Fits (each REML and ML):
##   seed_household  y ~ SNP1 + SNP3 + SNP5 + (1 | kinship) + (1 | household) on the seed data
##                   (../shared/seed-data): K = kinship_matrix.csv, the household of each
##                   person as lme4_seed_household.R wrote it to lme4_seed_household.json
##                   (data$household, rows in data$id order = the seed files' order).
##                   Contrast SNP3 - SNP5; F test of SNP1 = SNP3 = 0.
##   tarsus_af       tarsus ~ sex + (1 | animal) + (1 | fosternest) on the blue tit data
##                   (../shared/real-data/bluetit), A as in lme4_bluetit.R.
##                   Contrast sexMale - sexUNK; F test of sex (sexMale = sexUNK = 0).
##   tarsus_afh      tarsus_af + (1 | hatchday): lme4 estimates theta_hatchday = 0 exactly
##                   (a boundary fit; see lme4_bluetit.R for hatchday).
## Recorded per fit: theta, vcomp (sigma^2 theta_j^2, residual sigma^2), the criterion,
## summary(m)$coefficients (estimate, SE, df, t, p), contest1D(m, L) for the contrast,
## contestMD(m, L2) for the F test (F value, NumDF, DenDF, p), and vcov_varpar
## (2 * solve(Hessian of the deviance in (theta, sigma))).
##
## Usage:
##   Rscript tests/results/lmertest_components.R [SEED_DATA_DIR [OUTPUT_JSON]]
## SEED_DATA_DIR defaults to $KINSHIP_SEED_DATA; the real data (the folder holding
## bluetit/) come from $KINSHIP_REAL_DATA; OUTPUT_JSON defaults to lmertest_components.json
## beside this script. Needs lme4_seed_household.json beside this script.

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(lmerTest)
    library(jsonlite)
})

## factor levels sort byte-wise, as in lme4_seed_household.R and lme4_bluetit.R
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))
cmd <- script_arguments(script_dir, "lmertest_components.json")
real_dir <- Sys.getenv("KINSHIP_REAL_DATA")
if (nzchar(real_dir) && !file.exists(file.path(real_dir, "BTdata.csv")))
    real_dir <- file.path(real_dir, "bluetit")
if (!file.exists(file.path(real_dir, "BTdata.csv")))
    stop("set $KINSHIP_REAL_DATA to the real-data folder (holding bluetit/)")

## one fit: lme4 by multi_fit(), then lmerTest's model from the merMod and its deviance
## function (multi_fit() evaluates devfun at the optimum last, as as_lmerModLT() needs)
fit_components <- function(formula, data, relmats, REML) {
    lf <- relmat_lformula(formula, data, relmats, REML = REML)
    m <- multi_fit(lf)
    lt <- lmerTest:::as_lmerModLT(m$fit, m$devfun)
    stopifnot(inherits(lt, "lmerModLmerTest"))
    list(lt = lt, lf = lf, best = m$best)
}

record <- function(fit, L, contrast_name, L2, ftest_name) {
    m <- fit$lt
    terms <- names(fit$lf$reTrms$cnms)
    theta <- setNames(unname(getME(m, "theta")), terms)
    sigma2 <- sigma(m)^2
    co <- summary(m, ddf = "Satterthwaite")$coefficients      # summary(m)$coefficients
    ct <- contest1D(m, L, ddf = "Satterthwaite")              # contest1D(m, L)
    ft <- contestMD(m, L2, ddf = "Satterthwaite")             # contestMD(m, L2)
    list(
        terms = I(terms),
        theta = as.list(theta),
        vcomp = as.list(c(sigma2 * theta^2, residual = sigma2)),
        criterion = if (isREML(m)) REMLcrit(m) else deviance(m),
        optimizer = fit$best,
        columns = I(rownames(co)),
        estimate = as.list(co[, "Estimate"]),
        se = as.list(co[, "Std. Error"]),
        df = as.list(co[, "df"]),
        t = as.list(co[, "t value"]),
        p = as.list(co[, "Pr(>|t|)"]),
        contrast = list(name = contrast_name, L = I(as.numeric(L)), estimate = ct$Estimate,
                        se = ct[["Std. Error"]], df = ct$df, t = ct[["t value"]],
                        p = ct[["Pr(>|t|)"]]),
        ftest = list(name = ftest_name, L = unname(L2), F = ft[["F value"]],
                     NumDF = ft$NumDF, DenDF = ft$DenDF, p = ft[["Pr(>F)"]]),
        vcov_varpar = unname(m@vcov_varpar)
    )
}

t_start <- proc.time()[["elapsed"]]
results <- list()

## ------------------------------------------------------- seed: kinship + household

seed <- read_seed_data(cmd$data_dir)          # kinship_lmm.R: y, D (1200 x 130), K
hh <- fromJSON(file.path(script_dir, "lme4_seed_household.json"))$data
stopifnot(length(hh$household) == length(seed$y))
id <- hh$id
K <- seed$K
dimnames(K) <- list(id, id)
dat <- data.frame(y = seed$y, SNP1 = seed$D[, 1], SNP3 = seed$D[, 3], SNP5 = seed$D[, 5],
                  kinship = id, household = hh$household, stringsAsFactors = FALSE)
formula <- y ~ SNP1 + SNP3 + SNP5 + (1 | kinship) + (1 | household)
L <- c(0, 0, 1, -1)                             # SNP3 - SNP5
L2 <- rbind(c(0, 1, 0, 0), c(0, 0, 1, 0))       # SNP1 = SNP3 = 0
results$seed_household <- list(formula = paste(deparse(formula), collapse = " "))
for (method in c("REML", "ML")) {
    fit <- fit_components(formula, dat, list(kinship = K), method == "REML")
    results$seed_household[[method]] <- record(fit, L, "SNP3 - SNP5", L2, "SNP1 = SNP3 = 0")
}

## ------------------------------------------------------- blue tit: animal + fosternest

bt <- read.csv(file.path(real_dir, "BTdata.csv"), stringsAsFactors = FALSE)
ped <- read.csv(file.path(real_dir, "BTped.csv"), stringsAsFactors = FALSE)
stopifnot(nrow(bt) == 828L, nrow(ped) == 1040L)
bt$sex <- factor(bt$sex)
stopifnot(identical(levels(bt$sex), c("Fem", "Male", "UNK")))
hd <- sort(unique(bt$hatchdate))
bt$hatchday <- factor(sprintf("d%02d", match(bt$hatchdate, hd)))   # as lme4_bluetit.R
A <- relationship_matrix(ped$animal, ped$dam, ped$sire)
formulas <- list(
    tarsus_af = tarsus ~ sex + (1 | animal) + (1 | fosternest),
    tarsus_afh = tarsus ~ sex + (1 | animal) + (1 | fosternest) + (1 | hatchday)
)
L <- c(0, 1, -1)                                # sexMale - sexUNK
L2 <- rbind(c(0, 1, 0), c(0, 0, 1))             # sexMale = sexUNK = 0
for (name in names(formulas)) {
    results[[name]] <- list(formula = paste(deparse(formulas[[name]]), collapse = " "))
    for (method in c("REML", "ML")) {
        fit <- fit_components(formulas[[name]], bt, list(animal = A), method == "REML")
        results[[name]][[method]] <- record(fit, L, "sexMale - sexUNK", L2, "sex")
    }
}
stopifnot(results$tarsus_afh$REML$theta$hatchday == 0,
          results$tarsus_afh$ML$theta$hatchday == 0)

for (name in names(results)) for (method in c("REML", "ML")) {
    r <- results[[name]][[method]]
    cat(sprintf("%-14s %-4s df: %s; contrast df %.6g; F %.6g on (%d, %.6g)\n", name, method,
                paste(sprintf("%.6g", unlist(r$df)), collapse = " "), r$contrast$df,
                r$ftest$F, r$ftest$NumDF, r$ftest$DenDF))
}

## ------------------------------------------------------------------- output

results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    lmerTest_version = as.character(packageVersion("lmerTest")),
    numDeriv_version = as.character(packageVersion("numDeriv")),
    command = paste("KINSHIP_REAL_DATA=/path/to/real-data",
                    "Rscript tests/results/lmertest_components.R /path/to/seed-data")
)
write_exact_json(results, out_file <- cmd$out_file)
cat(sprintf("wrote %s (%.1f s)\n", out_file, proc.time()[["elapsed"]] - t_start))
