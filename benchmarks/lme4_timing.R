## Time one lme4 fit (REML, lme4's default optimizer, the modular route of lme4qtl /
## pedigreemm) of a model of benchmarks/bench_components.py, in the same run as ours.
##
##   Rscript benchmarks/lme4_timing.R bluetit REAL_DATA_DIR
##   Rscript benchmarks/lme4_timing.R seed_household SEED_DATA_DIR
##   Rscript benchmarks/lme4_timing.R dairy
##
## Prints one line of JSON: {"model": ..., "elapsed": seconds of the fit (formula to merMod:
## lFormula, the relationship factor, mkLmerDevfun, optimizeLmer, mkMerMod; the relationship
## matrix itself excluded), "criterion": REML criterion, "nfev": number of deviance
## evaluations}. The blue tit and seed models use lme4qtl's route (chol of the relationship
## matrix of the phenotyped individuals, relmat_lformula()); the dairy herd, where that factor
## is dense and about 50 times slower, pedigreemm's sparse factor of the whole pedigree.
suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
})
invisible(Sys.setlocale("LC_COLLATE", "C"))
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- dirname(normalizePath(script_file))
results_dir <- file.path(dirname(script_dir), "tests", "results")
source(file.path(results_dir, "kinship_lmm.R"))

args <- commandArgs(trailingOnly = TRUE)
which <- args[1]

fit_once <- function(formula, data, relmats) {
    start <- proc.time()[["elapsed"]]
    lf <- relmat_lformula(formula, data, relmats, REML = TRUE)
    devfun <- do.call(mkLmerDevfun, lf)
    opt <- optimizeLmer(devfun, calc.derivs = FALSE)
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    elapsed <- proc.time()[["elapsed"]] - start
    list(elapsed = elapsed, criterion = REMLcrit(fit),
         nfev = if (is.null(opt$feval)) NA else opt$feval)
}

if (which == "bluetit") {
    dir <- file.path(args[2], "bluetit")
    bt <- read.csv(file.path(dir, "BTdata.csv"), stringsAsFactors = FALSE)
    ped <- read.csv(file.path(dir, "BTped.csv"), stringsAsFactors = FALSE)
    bt$sex <- factor(bt$sex)
    A <- relationship_matrix(ped$animal, ped$dam, ped$sire)
    out <- fit_once(tarsus ~ sex + (1 | animal) + (1 | fosternest), bt, list(animal = A))
} else if (which == "seed_household") {
    seed <- read_seed_data(args[2])
    hh <- jsonlite::fromJSON(file.path(results_dir, "lme4_seed_household.json"))$data
    d <- data.frame(y = seed$y, SNP1 = seed$D[, 1], SNP3 = seed$D[, 3], SNP5 = seed$D[, 5],
                    kinship = factor(hh$id, levels = hh$id), household = factor(hh$household))
    K <- seed$K
    dimnames(K) <- list(hh$id, hh$id)
    out <- fit_once(y ~ SNP1 + SNP3 + SNP5 + (1 | kinship) + (1 | household), d,
                    list(kinship = K))
} else if (which == "dairy") {
    ## lme4 with the pedigree's sparse factor (pedigreemm's relfactor(); pedigree_factor()
    ## and pedigree_lformula() in kinship_lmm.R, as lme4_dairy.R), default optimizer
    rec <- read.csv(file.path(results_dir, "lme4_dairy_records.csv"),
                    colClasses = c("character", "character", "integer", "numeric"))
    ped <- read.csv(file.path(results_dir, "lme4_dairy_pedigree.csv"), colClasses = "character")
    ped$sire[ped$sire == "0"] <- NA
    ped$dam[ped$dam == "0"] <- NA
    L <- pedigree_factor(ped, rec$id)$L
    dat <- data.frame(yield = rec$yield, lactation = factor(rec$lactation),
                      additive = rec$id, permanent = rec$id, herd = rec$herd)
    start <- proc.time()[["elapsed"]]
    lf <- pedigree_lformula(yield ~ lactation + (1 | additive) + (1 | permanent) + (1 | herd),
                            dat, L, REML = TRUE)
    devfun <- do.call(mkLmerDevfun, lf)
    opt <- optimizeLmer(devfun, calc.derivs = FALSE)
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    out <- list(elapsed = proc.time()[["elapsed"]] - start, criterion = REMLcrit(fit),
                nfev = opt$feval)
} else {
    stop("model must be bluetit, seed_household or dairy")
}
cat(sprintf('{"model": "%s", "elapsed": %.4f, "criterion": %.10f, "nfev": %s}\n', which,
            out$elapsed, out$criterion, ifelse(is.na(out$nfev), "null", out$nfev)))
