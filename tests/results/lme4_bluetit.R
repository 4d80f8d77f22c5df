## Reference fits from R's lme4 for the animal model with several variance components on
## the blue tit cross-fostering data (../shared/real-data/bluetit, see its README.md;
## MCMCglmm's BTdata / BTped, Hadfield et al. 2007):
##
##     y = X b + a + f [+ m] [+ h] + e,   a ~ N(0, s_a^2 A)   (additive genetic, per chick)
##                                        f ~ N(0, s_f^2 I)   (fosternest, 104 nests)
##                                        m ~ N(0, s_m^2 I)   (dam, 106 genetic mothers)
##                                        h ~ N(0, s_h^2 I)   (hatch date, 18 days)
##                                        e ~ N(0, s_e^2 I)
##
## A is the additive relationship matrix (2 x kinship) of the 828 chicks, taken from A of the
## whole 1,040-bird pedigree BTped (relationship_matrix() in kinship_lmm.R: the tabular
## method, a missing parent being an unknown phantom founder).  In lme4 conventions theta_j
## is the relative SD of term j (s_j^2 = sigma^2 theta_j^2), sigma^2 = s_e^2.
##
## Fitted through lme4's modular interface as lme4qtl's relmatLmer() does it:
## lFormula(tarsus ~ sex + (1 | animal) + (1 | fosternest) ...), the animal term's block of
## the stacked Zt (rows Gp[k] + 1 .. Gp[k + 1], k the term named "animal", levels
## levels(flist$animal)) premultiplied by chol(A[levels, levels]) (relmat_lformula() in
## kinship_lmm.R), then mkLmerDevfun(), optimizeLmer() with bobyqa, Nelder_Mead and
## nloptwrap from lme4's start (theta = 1), a tight bobyqa (rhoend = 1e-10) from the best,
## and mkMerMod() at the lowest criterion (multi_fit()).
##
## Fits (each REML and ML):
##   tarsus_af     tarsus ~ sex + additive + fosternest                 (the main reference)
##   back_af       back   ~ sex + additive + fosternest                 (a second trait)
##   tarsus_adf    tarsus ~ sex + additive + dam + fosternest           (NOT identified: in
##                 these data every dam has chicks by one sire, all parents are unrelated
##                 founders and only chicks have records, so A is block diagonal by full-sib
##                 family with 1 on the diagonal and 1/2 within a family: s_a^2 and s_m^2
##                 only enter V through s_a^2 + s_m^2 + s_e^2 (a chick's variance) and
##                 s_a^2 / 2 + s_m^2 (covariance of full sibs); the criterion is exactly
##                 constant along the segment s_m^2 = t, s_a^2 = s_a0^2 - 2 t,
##                 s_e^2 = s_e0^2 + t, 0 <= t <= s_a0^2 / 2, where s_a0^2, s_e0^2 are the
##                 tarsus_af estimates.  Recorded: the fit lme4 returns, the criterion at
##                 points of that segment computed exactly (no optimization), a profile over
##                 theta_dam with the other thetas optimized, and points beyond the segment's
##                 end, where the criterion rises.)
##   tarsus_afh    tarsus ~ sex + additive + fosternest + hatch date   (a boundary fit: lme4
##                 estimates s_h^2 = 0 exactly, the criterion equals tarsus_af's; recorded
##                 with a profile of the criterion over theta_hatchdate > 0.)
##                 The hatch-date factor is `hatchday`, the rank of the standardised
##                 `hatchdate` among its 18 distinct values, labelled d01..d18 (the label of
##                 every row is in the JSON).
##   at_theta      tarsus_af and tarsus_afh by REML at fixed theta (no optimization):
##                 an exact implementation should agree to ~1e-10 there.
##
## Also: toy_pedigree, A of a small pedigree with one-parent animals and inbreeding, checked
## against values worked by hand (for the Python pedigree code's phantom-parent rule).
##
## Usage:
##   Rscript tests/results/lme4_bluetit.R [REAL_DATA_DIR [OUTPUT_JSON]]
## REAL_DATA_DIR (the folder holding bluetit/, or bluetit/ itself) defaults to
## $KINSHIP_REAL_DATA; OUTPUT_JSON to lme4_bluetit.json beside this script.

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(jsonlite)
})

## factor levels (the order of each term's block of Zt, of theta's random effects and of
## the BLUPs in the JSON) sort byte-wise, as Python's sorted() does, whatever the locale
invisible(Sys.setlocale("LC_COLLATE", "C"))

## this script's folder: kinship_lmm.R (shared with the other scripts) and the output
script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))

args <- commandArgs(trailingOnly = TRUE)
data_dir <- if (length(args) >= 1) args[1] else Sys.getenv("KINSHIP_REAL_DATA")
if (nzchar(data_dir) && !file.exists(file.path(data_dir, "BTdata.csv")))
    data_dir <- file.path(data_dir, "bluetit")
if (!file.exists(file.path(data_dir, "BTdata.csv")))
    stop("give the real-data folder (holding bluetit/) as first argument or in $KINSHIP_REAL_DATA")
data_dir <- normalizePath(data_dir)
out_file <- if (length(args) >= 2) args[2] else file.path(script_dir, "lme4_bluetit.json")

## --------------------------------------------------------------------- data

bt <- read.csv(file.path(data_dir, "BTdata.csv"), stringsAsFactors = FALSE)
ped <- read.csv(file.path(data_dir, "BTped.csv"), stringsAsFactors = FALSE)
stopifnot(nrow(bt) == 828L, nrow(ped) == 1040L, !anyNA(bt),
          all(bt$animal %in% ped$animal), !anyDuplicated(bt$animal))

## sex: factor with R's default (alphabetical) levels, Fem the baseline
bt$sex <- factor(bt$sex)
stopifnot(identical(levels(bt$sex), c("Fem", "Male", "UNK")))
## hatch date as a grouping factor: rank among its distinct values, labelled d01..d18
hd <- sort(unique(bt$hatchdate))
bt$hatchday <- factor(sprintf("d%02d", match(bt$hatchdate, hd)))

## A of the whole pedigree (tabular method, kinship_lmm.R), then the chicks' rows/columns
t_A <- proc.time()[["elapsed"]]
A <- relationship_matrix(ped$animal, ped$dam, ped$sire)
t_A <- proc.time()[["elapsed"]] - t_A
A_chicks <- A[bt$animal, bt$animal]

## facts about the pedigree that make dam and additive non-separable (see the header)
chick_ped <- ped[match(bt$animal, ped$animal), ]
stopifnot(identical(chick_ped$dam, bt$dam))
sires_per_dam <- tapply(chick_ped$sire, chick_ped$dam, function(s) length(unique(s)))
pedigree_facts <- list(
    n_birds = nrow(ped),
    n_founders = sum(is.na(ped$dam) & is.na(ped$sire)),
    n_one_parent_known = sum(xor(is.na(ped$dam), is.na(ped$sire))),
    n_chicks = nrow(bt),
    n_chicks_with_both_parents = sum(!is.na(chick_ped$dam) & !is.na(chick_ped$sire)),
    n_dams = length(unique(bt$dam)),
    n_sires = length(unique(chick_ped$sire)),
    max_sires_per_dam = max(sires_per_dam),
    parents_are_founders = all(is.na(ped$dam[ped$animal %in% c(ped$dam, ped$sire)])),
    max_inbreeding = max(diag(A)) - 1,
    A_chicks_diag_mean = mean(diag(A_chicks)),
    A_chicks_offdiag_values = I(sort(unique(A_chicks[upper.tri(A_chicks)])))
)
cat(sprintf(paste("pedigree: %d birds, %d founders, %d with one known parent; %d chicks,",
                  "%d dams, %d sires, at most %d sire(s) per dam; A in %.2f s\n"),
            pedigree_facts$n_birds, pedigree_facts$n_founders,
            pedigree_facts$n_one_parent_known, pedigree_facts$n_chicks,
            pedigree_facts$n_dams, pedigree_facts$n_sires,
            pedigree_facts$max_sires_per_dam, t_A))

relmats <- list(animal = A)      # relmat_lformula() takes the chicks' levels from A

## ------------------------------------------------------------------ the fits

formulas <- list(
    tarsus_af = tarsus ~ sex + (1 | animal) + (1 | fosternest),
    back_af = back ~ sex + (1 | animal) + (1 | fosternest),
    tarsus_adf = tarsus ~ sex + (1 | animal) + (1 | dam) + (1 | fosternest),
    tarsus_afh = tarsus ~ sex + (1 | animal) + (1 | fosternest) + (1 | hatchday)
)

t_start <- proc.time()[["elapsed"]]
models <- list()       # lf, devfun and the merMod per fit, for the profiles below
results <- list()
for (name in names(formulas)) {
    for (method in c("REML", "ML")) {
        t0 <- proc.time()[["elapsed"]]
        lf <- relmat_lformula(formulas[[name]], bt, relmats, REML = (method == "REML"))
        m <- multi_fit(lf)
        res <- multi_summary(m$fit, lf, blups = TRUE)
        res$formula <- paste(deparse(formulas[[name]]), collapse = " ")
        res$optimizer <- m$best
        res$optima <- m$optima
        crit <- vapply(m$optima, `[[`, 0, "criterion")
        thetas <- do.call(rbind, lapply(m$optima, `[[`, "theta"))
        res$optimizer_spread <- list(
            criterion = max(crit) - min(crit),
            theta = max(apply(thetas, 2, function(x) max(x) - min(x))))
        seconds <- proc.time()[["elapsed"]] - t0      # printed only: the JSON is reproducible
        results[[name]][[method]] <- res
        models[[name]][[method]] <- list(lf = lf, devfun = m$devfun, fit = m$fit)
        cat(sprintf("%-10s %-4s crit %.10f  theta %s  vc %s  [%s; spread crit %.1e theta %.1e; %.2f s]\n",
                    name, method, res$criterion,
                    paste(sprintf("%.7f", unlist(res$theta)), collapse = " "),
                    paste(sprintf("%s=%.6f", names(res$vcomp), unlist(res$vcomp)), collapse = " "),
                    m$best, res$optimizer_spread$criterion, res$optimizer_spread$theta,
                    seconds))
    }
}

## --------------------------------------- the additive / dam ridge (tarsus_adf)

## Minimise devfun over the thetas other than `fixed` (held at value), from `start`.
profile_point <- function(devfun, p, fixed, value, start) {
    free <- setdiff(seq_len(p), fixed)
    f <- function(x) { th <- numeric(p); th[fixed] <- value; th[free] <- x; devfun(th) }
    o <- minqa::bobyqa(start[free], f, lower = rep(0, length(free)),
                       control = list(rhobeg = 0.05, rhoend = 1e-10, maxfun = 1e5))
    th <- numeric(p); th[fixed] <- value; th[free] <- o$par
    list(theta = th, criterion = devfun(th))
}

ridge <- list()
for (method in c("REML", "ML")) {
    af <- results$tarsus_af[[method]]
    mod <- models$tarsus_adf[[method]]
    devfun <- mod$devfun
    terms <- names(mod$lf$reTrms$cnms)                  # lme4's order: animal, dam, fosternest
    stopifnot(identical(terms, c("animal", "dam", "fosternest")))
    s_a0 <- af$vcomp$animal
    s_e0 <- af$vcomp$residual
    s_f <- af$vcomp$fosternest
    t_end <- s_a0 / 2                                   # s_a^2 = 0 at the segment's end
    fractions <- c(0, 0.1, 0.25, 0.5, 0.75, 0.9, 1)
    ## theta at the point t = fraction * t_end of the segment (sigma^2 = s_e0^2 + t)
    theta_at <- function(t) {
        s2 <- s_e0 + t
        c(animal = sqrt(max(s_a0 - 2 * t, 0) / s2), dam = sqrt(t / s2),
          fosternest = sqrt(s_f / s2))
    }
    crit_af <- af$criterion
    exact <- lapply(fractions, function(fr) {
        th <- theta_at(fr * t_end)
        cr <- devfun(unname(th))
        list(fraction = fr, theta = as.list(th),
             vcomp = list(animal = s_a0 - 2 * fr * t_end, dam = fr * t_end,
                          fosternest = s_f, residual = s_e0 + fr * t_end),
             criterion = cr, minus_af_optimum = cr - crit_af)
    })
    ## profile over theta_dam (others optimised), on and beyond the segment
    prof_fr <- c(0, 0.25, 0.5, 0.75, 1, 1.25, 1.5, 2)
    prof <- lapply(prof_fr, function(fr) {
        tdam <- sqrt(fr * t_end / (s_e0 + fr * t_end))
        start <- theta_at(min(fr, 1) * t_end)
        pp <- profile_point(devfun, 3L, 2L, tdam, unname(start))
        list(fraction = fr, theta_dam = tdam, theta = as.list(setNames(pp$theta, terms)),
             criterion = pp$criterion, minus_af_optimum = pp$criterion - crit_af)
    })
    lme4_fit <- results$tarsus_adf[[method]]
    t_lme4 <- lme4_fit$vcomp$dam / t_end               # where on the segment lme4 stopped
    ridge[[method]] <- list(
        af_optimum = list(criterion = crit_af, vcomp = af$vcomp),
        segment_end_t = t_end,
        lme4_fit_fraction = t_lme4,
        lme4_fit_minus_af_optimum = lme4_fit$criterion - crit_af,
        exact_points = exact,
        profile_theta_dam = prof
    )
    cat(sprintf("ridge %-4s: lme4 stopped at fraction %.4f of the segment; exact points: criterion - optimum in [%.1e, %.1e]; profile beyond the end (1.25, 1.5, 2): %s\n",
                method, t_lme4,
                min(vapply(exact, `[[`, 0, "minus_af_optimum")),
                max(vapply(exact, `[[`, 0, "minus_af_optimum")),
                paste(sprintf("%.4g", vapply(prof, `[[`, 0, "minus_af_optimum")[6:8]),
                      collapse = ", ")))
}
results$tarsus_adf$ridge <- ridge

## ------------------------------------------- the hatch-date boundary (tarsus_afh)

boundary <- list()
for (method in c("REML", "ML")) {
    mod <- models$tarsus_afh[[method]]
    terms <- names(mod$lf$reTrms$cnms)
    k <- which(terms == "hatchday")
    fit_res <- results$tarsus_afh[[method]]
    start <- unlist(fit_res$theta)
    prof <- lapply(c(0.01, 0.03, 0.1, 0.3), function(v) {
        pp <- profile_point(mod$devfun, length(terms), k, v, unname(start))
        list(theta_hatchday = v, theta = as.list(setNames(pp$theta, terms)),
             criterion = pp$criterion, minus_optimum = pp$criterion - fit_res$criterion)
    })
    boundary[[method]] <- list(
        theta_hatchday = fit_res$theta$hatchday,
        minus_af_optimum = fit_res$criterion - results$tarsus_af[[method]]$criterion,
        profile_theta_hatchday = prof)
    cat(sprintf("boundary %-4s: theta_hatchday = %g, criterion - tarsus_af's = %.2e; profile at theta_h = 0.01, 0.03, 0.1, 0.3: %s\n",
                method, fit_res$theta$hatchday, boundary[[method]]$minus_af_optimum,
                paste(sprintf("%.4g", vapply(prof, `[[`, 0, "minus_optimum")), collapse = ", ")))
}
results$tarsus_afh$boundary <- boundary

## --------------------------------------------------------- fixed theta (REML)

at_theta <- list()
for (spec in list(list(name = "tarsus_af", theta = c(animal = 1.1, fosternest = 0.45)),
                  list(name = "tarsus_af", theta = c(animal = 0.5, fosternest = 1)),
                  list(name = "tarsus_afh", theta = c(animal = 1.1, fosternest = 0.45,
                                                      hatchday = 0.2)))) {
    lf <- models[[spec$name]]$REML$lf
    stopifnot(identical(names(lf$reTrms$cnms), names(spec$theta)))
    fit <- multi_at_theta(lf, spec$theta)
    res <- multi_summary(fit, lf, blups = FALSE)
    res$formula <- results[[spec$name]]$REML$formula
    at_theta[[length(at_theta) + 1L]] <- res
}
results$at_theta <- at_theta

## -------------------------------------------------------------- toy pedigree

## One-parent animals (the missing parent a phantom founder) and inbreeding, checked
## against hand-worked values of A = 2 x kinship.
toy <- data.frame(
    id   = c("a", "b", "c", "d", "e", "f", "g"),
    dam  = c(NA,  NA,  "a", "a", NA,  "c", "f"),
    sire = c(NA,  NA,  "b", NA,  "c", "d", "e"),
    stringsAsFactors = FALSE)
A_toy <- relationship_matrix(toy$id, toy$dam, toy$sire)
## c: full child of a, b; d: half-sib of c (dam a, sire unknown); e: child of c (dam unknown);
## f: child of half-sibs c x d, F_f = A[c, d] / 2 = 1/8; g: child of f and e
stopifnot(A_toy["c", "d"] == 0.25, A_toy["d", "d"] == 1, A_toy["e", "e"] == 1,
          A_toy["e", "c"] == 0.5, A_toy["e", "a"] == 0.25,
          A_toy["f", "f"] == 1.125, A_toy["f", "a"] == 0.5, A_toy["f", "c"] == 0.625,
          A_toy["g", "g"] == 1 + A_toy["e", "f"] / 2, A_toy["e", "f"] == 0.3125)
results$toy_pedigree <- list(id = I(toy$id), dam = I(toy$dam), sire = I(toy$sire),
                             A = unname(A_toy))

## ------------------------------------------------------------------- output

results$data <- list(
    n = nrow(bt),
    animal = I(bt$animal),                     # row order of the data (= BTdata.csv)
    hatchday = I(as.character(bt$hatchday)),   # the hatch-date factor of tarsus_afh, per row
    sex_levels = I(levels(bt$sex)),
    pedigree = pedigree_facts
)
results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    Matrix_version = as.character(packageVersion("Matrix")),
    minqa_version = as.character(packageVersion("minqa")),
    command = "Rscript tests/results/lme4_bluetit.R /path/to/real-data"
)

write_exact_json(results, out_file)
cat(sprintf("wrote %s (%.1f s)\n", out_file, proc.time()[["elapsed"]] - t_start))
