## Reference fits from R's lme4 for a dairy animal model with repeated records (issue 10:
## several variance components), on the data set that lme4_dairy.py simulates
## (statsmodels_kinship.simulate.simulate_dairy_herd at its default sizes, a design like
## pedigreemm's `milk`) and writes beside this script:
##
##   lme4_dairy_pedigree.csv   animal, sire, dam ("0" = unknown), 6,547 animals, parents
##                             first; some cows have a known sire and an unknown dam
##   lme4_dairy_records.csv    id (cow), herd, lactation (1..5), yield (kg); 3,400
##                             lactations of 1,360 cows in 57 herds
##
## The model (true values of the simulation in brackets, kg^2):
##
##     yield = X b + Z a + Z p + W h + e,   a ~ N(0, s_a^2 A)   additive genetic  (432,000)
##                                          p ~ N(0, s_p^2 I)   permanent env.    (216,000)
##                                          h ~ N(0, s_h^2 I)   herd              (144,000)
##                                          e ~ N(0, s_e^2 I)   residual          (648,000)
##
## X: intercept and lactation (factor, lactation 1 the baseline); Z maps records to cows, W
## to herds; A is the additive relationship matrix (2 x kinship).  In lme4 conventions
## theta_j is the relative SD of term j (s_j^2 = sigma^2 theta_j^2, sigma^2 = s_e^2).  The
## grouping factors are `additive` and `permanent` (both the cow's id) and `herd`, so the
## components are named additive, permanent, herd, residual.
##
## A is computed here, independently of the Python package, by the tabular method
## (relationship_matrix() in kinship_lmm.R; an unknown parent is a phantom founder, which
## handles the cows with one known parent) over the cows and their ancestors (the other
## animals do not change A of the cows); about 3 s.
##
## The relationship term enters lme4's modular interface as in lme4qtl's relmatLmer(): the
## term's block of Zt premultiplied by R with R^T R = A.  relmatLmer() (relmat_lformula() in
## kinship_lmm.R) takes R = chol(A[cows, cows]), which is dense here (every cow is related
## to every other through common sires): Zt's block then has 2.1 million nonzeros
## (relfactor_check$nnz_Zt_chol_A_cows) and one evaluation of lme4's criterion takes about
## 10 s on an idle machine (timing$chol_A_evaluation; timing$evaluation for the model
## fitted here); lmer's nloptwrap needs about 50 evaluations (timing$fit_REML_evaluations),
## so about 10 minutes a fit, and multi_fit() several hundred.  So the fits use the
## equivalent sparse factor of the pedigree, as pedigreemm's relfactor() of a whole pedigree:
## Henderson's A = T D T^T over the cows and their ancestors, T = (I - P)^-1 (P holding 1/2
## for each known parent), D the Mendelian sampling variances (1 - sum over the known
## parents of (1 + F_p) / 4, F_p = A_pp - 1); the additive term gets one level per animal
## (the ancestors without records are levels without data) and R = (T D^1/2)^T, upper
## triangular with R^T R = A over those animals.  Cov(Z a) is the same s_a^2 Z A_cows Z^T,
## so the criterion at a given theta is the same: checked below by evaluating the
## chol(A[cows, cows]) criterion (relmat_lformula()) at the REML optimum (`relfactor_check`).
## The additive BLUPs (R^T times lme4's ranef) are then those of all these animals, cows
## and ancestors.
##
## multi_fit(), multi_summary(), multi_at_theta() are in kinship_lmm.R: bobyqa, Nelder_Mead
## and nloptwrap from lme4's start (theta = 1), a tight bobyqa from the best, the merMod at
## the lowest criterion.
##
## Fits: dairy (REML and ML); at_theta (the REML criterion at a fixed theta, no
## optimization: an exact implementation should agree to ~1e-10 there).
##
## `timing` holds seconds (system.time: elapsed, and cpu = user + system) on the machine
## that ran the script, the only part of the JSON that changes from run to run: fit_REML,
## one REML fit as lmer() would do it (lme4's default optimizer nloptwrap from theta = 1:
## lFormula and the relationship factor, mkLmerDevfun(), optimizeLmer(), mkMerMod());
## evaluation, one evaluation of its REML criterion; multi_fit_REML and multi_fit_ML, the
## four optimizer runs of each reference fit; relationship_matrix, the tabular A; and
## chol_A_setup / chol_A_evaluation, the lme4qtl-style chol(A[cows, cows]) model's
## mkLmerDevfun() and one evaluation of its criterion.
##
## Usage (from the repository root):
##   python tests/results/lme4_dairy.py      # writes the two CSV files (already committed)
##   Rscript tests/results/lme4_dairy.R [OUTPUT_JSON]
## OUTPUT_JSON defaults to lme4_dairy.json beside this script.

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(jsonlite)
})

## factor levels (the order of each term's block of Zt, of theta's random effects and of
## the BLUPs in the JSON) sort byte-wise, as Python's sorted() does, whatever the locale
invisible(Sys.setlocale("LC_COLLATE", "C"))

## this script's folder: kinship_lmm.R (shared with the other scripts), the data, the output
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))
args <- commandArgs(trailingOnly = TRUE)
out_file <- if (length(args) >= 1) args[1] else file.path(script_dir, "lme4_dairy.json")
t_start <- proc.time()[["elapsed"]]

## --------------------------------------------------------------------- data

ped <- read.csv(file.path(script_dir, "lme4_dairy_pedigree.csv"), colClasses = "character")
rec <- read.csv(file.path(script_dir, "lme4_dairy_records.csv"),
                colClasses = c("character", "character", "integer", "numeric"))
stopifnot(identical(names(ped), c("animal", "sire", "dam")),
          identical(names(rec), c("id", "herd", "lactation", "yield")),
          !anyDuplicated(ped$animal), !anyNA(rec), all(rec$id %in% ped$animal),
          all(rec$lactation %in% 1:5))
ped$sire[ped$sire == "0"] <- NA
ped$dam[ped$dam == "0"] <- NA
## every cow in one herd, her lactations numbered 1, 2, ... without gaps
stopifnot(all(tapply(rec$herd, rec$id, function(h) length(unique(h))) == 1L),
          all(tapply(rec$lactation, rec$id, function(l) identical(sort(l), seq_along(l)))))

## A by the tabular method (kinship_lmm.R checks that parents precede their offspring)
## seconds of evaluating `expr` (in the caller's frame): elapsed (wall clock) and cpu (user
## + system, less sensitive to other work on the machine)
timed <- function(expr) {
    t <- system.time(expr)
    list(elapsed = t[["elapsed"]], cpu = t[["user.self"]] + t[["sys.self"]])
}

## the cows and their ancestors, A over them and Henderson's factor L (kinship_lmm.R)
t_A <- timed(pf <- pedigree_factor(ped, rec$id))
anc <- pf$anc
A <- pf$A
L <- pf$L
F <- pf$F
n_anc <- nrow(anc)
LLt_minus_A <- max(abs(as.matrix(tcrossprod(L)) - A))
stopifnot(LLt_minus_A < 1e-12)

cows <- sort(unique(rec$id))
A_cows <- A[cows, cows]
cat(sprintf(paste("pedigree: %d animals (%d founders, %d with a known sire only, %d with a",
                  "known dam only); %d cows and %d ancestors; max inbreeding %.4f;",
                  "A in %.2f s, max |L L' - A| = %.1e\n"),
            nrow(ped), sum(is.na(ped$sire) & is.na(ped$dam)),
            sum(!is.na(ped$sire) & is.na(ped$dam)), sum(is.na(ped$sire) & !is.na(ped$dam)),
            length(cows), n_anc - length(cows), max(F), t_A$elapsed, LLt_minus_A))

dat <- data.frame(yield = rec$yield, lactation = factor(rec$lactation), additive = rec$id,
                  permanent = rec$id, herd = rec$herd, stringsAsFactors = FALSE)
form <- yield ~ lactation + (1 | additive) + (1 | permanent) + (1 | herd)

## pedigree_lformula() (kinship_lmm.R): the additive term over all animals of L

## ------------------------------------------------------------------ the fits

## one REML fit as lmer() does it (default optimizer nloptwrap from theta = 1), timed
t_fit <- timed({
    lf0 <- pedigree_lformula(form, dat, L, REML = TRUE)
    devfun0 <- do.call(mkLmerDevfun, lf0)
    opt0 <- optimizeLmer(devfun0, optimizer = "nloptwrap", start = rep(1, 3),
                         calc.derivs = FALSE)
    fit0 <- mkMerMod(environment(devfun0), opt0, lf0$reTrms, fr = lf0$fr)
})
cat(sprintf("one REML fit (nloptwrap, %d evaluations): criterion %.10f in %.2f s\n",
            as.integer(opt0$feval), REMLcrit(fit0), t_fit$elapsed))
t_eval <- timed(devfun0(c(0.8, 0.5, 0.3)))       # fit0 is not used below

results <- list()
lfs <- list()
t_multi <- list()
for (method in c("REML", "ML")) {
    t0 <- proc.time()
    lf <- pedigree_lformula(form, dat, L, REML = (method == "REML"))
    m <- multi_fit(lf)
    res <- multi_summary(m$fit, lf, blups = TRUE)
    res$formula <- paste(deparse(form), collapse = " ")
    res$optimizer <- m$best
    res$optima <- m$optima
    crit <- vapply(m$optima, `[[`, 0, "criterion")
    thetas <- do.call(rbind, lapply(m$optima, `[[`, "theta"))
    res$optimizer_spread <- list(
        criterion = max(crit) - min(crit),
        theta = max(apply(thetas, 2, function(x) max(x) - min(x))))
    t1 <- proc.time() - t0
    t_multi[[method]] <- list(elapsed = t1[["elapsed"]],
                              cpu = t1[["user.self"]] + t1[["sys.self"]])
    results$dairy[[method]] <- res
    lfs[[method]] <- lf
    cat(sprintf("dairy %-4s crit %.10f  theta %s  vc %s  [%s; spread crit %.1e theta %.1e; %.2f s]\n",
                method, res$criterion,
                paste(sprintf("%.7f", unlist(res$theta)), collapse = " "),
                paste(sprintf("%s=%.1f", names(res$vcomp), unlist(res$vcomp)), collapse = " "),
                m$best, res$optimizer_spread$criterion, res$optimizer_spread$theta,
                t_multi[[method]]$elapsed))
}

## --------------------------------------------------------- fixed theta (REML)

theta_fixed <- c(additive = 0.8, permanent = 0.5, herd = 0.3)
fit <- multi_at_theta(lfs$REML, theta_fixed)
res <- multi_summary(fit, lfs$REML, blups = FALSE)
res$formula <- results$dairy$REML$formula
results$at_theta <- list(res)

## ------------------------- the lme4qtl-style chol(A[cows, cows]) model, same criterion

theta_hat <- unlist(results$dairy$REML$theta)
t_chol_setup <- timed({
    lf_chol <- relmat_lformula(form, dat, list(additive = A), REML = TRUE)
    devfun_chol <- do.call(mkLmerDevfun, lf_chol)
})
stopifnot(identical(names(lf_chol$reTrms$cnms), names(theta_hat)),
          identical(levels(lf_chol$reTrms$flist$additive), cows))
t_chol_eval <- timed(crit_chol <- devfun_chol(unname(theta_hat) + 0))
results$relfactor_check <- list(
    theta = as.list(theta_hat),
    criterion_pedigree_factor = results$dairy$REML$criterion,
    criterion_chol_A_cows = crit_chol,
    difference = crit_chol - results$dairy$REML$criterion,
    nnz_Zt_pedigree_factor = length(lfs$REML$reTrms$Zt@x),
    nnz_Zt_chol_A_cows = length(lf_chol$reTrms$Zt@x))
cat(sprintf(paste("chol(A[cows, cows]) model at the REML optimum: criterion - reference =",
                  "%.2e (Zt nonzeros %d vs %d; setup %.1f s, one evaluation %.1f s)\n"),
            results$relfactor_check$difference, results$relfactor_check$nnz_Zt_chol_A_cows,
            results$relfactor_check$nnz_Zt_pedigree_factor, t_chol_setup$elapsed,
            t_chol_eval$elapsed))
stopifnot(abs(results$relfactor_check$difference) < 1e-6)

## ------------------------------------------------------------------- output

n_lact <- table(factor(tapply(rec$lactation, rec$id, length), levels = 1:5))
results$data <- list(
    nobs = nrow(rec),
    n_cows = length(cows),
    n_herds = length(unique(rec$herd)),
    records_per_cow = as.list(setNames(as.integer(n_lact), names(n_lact))),
    records_per_lactation = as.list(table(rec$lactation)),
    n_animals = nrow(ped),
    n_founders = sum(is.na(ped$sire) & is.na(ped$dam)),
    n_sire_only = sum(!is.na(ped$sire) & is.na(ped$dam)),
    n_dam_only = sum(is.na(ped$sire) & !is.na(ped$dam)),
    n_cows_and_ancestors = n_anc,
    n_inbred = sum(F > 0),
    max_inbreeding = max(F),
    A_cows_diag_mean = mean(diag(A_cows)),
    A_cows_offdiag_mean = mean(A_cows[upper.tri(A_cows)]),
    LLt_minus_A = LLt_minus_A
)
results$timing <- list(
    note = paste("seconds, elapsed (wall clock) and cpu (user + system), on the machine",
                 "that ran the script (not reproducible)"),
    relationship_matrix = t_A,
    fit_REML = t_fit,
    fit_REML_evaluations = as.integer(opt0$feval),
    evaluation = t_eval,
    multi_fit_REML = t_multi$REML,
    multi_fit_ML = t_multi$ML,
    chol_A_setup = t_chol_setup,
    chol_A_evaluation = t_chol_eval
)
results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    Matrix_version = as.character(packageVersion("Matrix")),
    minqa_version = as.character(packageVersion("minqa")),
    command = "Rscript tests/results/lme4_dairy.R"
)

write_exact_json(results, out_file)
cat(sprintf("wrote %s (%.1f s)\n", out_file, proc.time()[["elapsed"]] - t_start))
