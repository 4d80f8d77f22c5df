## Reference fits from R's lme4 for the kinship + household model on the seed data
## (../shared/seed-data, see its README.md):
##
##     y = X b + g + h + e,   g ~ N(0, s_k^2 K)   (K = kinship_matrix.csv, kinship coefficients)
##                            h ~ N(0, s_h^2 I)   (one effect per household, 300 households)
##                            e ~ N(0, s_e^2 I)
##
## with X = (1, SNP1, SNP3, SNP5) (columns 1, 3, 5 of design_matrix.csv: three of the four
## causal SNPs of the simulation).  In lme4 conventions theta_j is the relative SD of term j
## (s_j^2 = sigma^2 theta_j^2, sigma^2 = s_e^2), as in lme4_seed.R.
##
## Households, from the pedigree in seqsimla/data1.ped (family, individual, father, mother):
## a household is a couple (a father-mother pair that has children in the pedigree) with
## the children they have, and the rule is
##   1. a person who is a parent belongs to the household of the couple in which he or she
##      is a parent (founders who married in, and the grandparents, live with their
##      children only until those children found their own household: see 2);
##   2. otherwise a person belongs to the household of his or her parents (children living
##      with their parents);
##   3. a person in neither case gets a household of his or her own (none in these data);
##      a person who is a parent in two couples is an error (none in these data).
## Every family has the same 12-member pedigree (pedigree.jpeg): founders 1 and 2 with
## children 4 and 5; 4 and the founder 3 with children 7, 8, 9; 5 and the founder 6 with
## children 10, 11, 12.  So each family has three households: {1, 2} (the grandparents),
## {3, 4, 7, 8, 9} and {5, 6, 10, 11, 12}; 300 households of sizes 2, 5, 5 in all.  A
## household is labelled <family>_<father>x<mother> (e.g. DFAMS1_2x1, DFAMS1_3x4,
## DFAMS1_5x6); the JSON holds the label of each of the 1,200 people in row order.
## (SeqSIMLA's shared environment correlates spouses 0.8, parents and offspring 0.5,
## siblings 0.5; a single household factor is the usual approximation of it.)
##
## The kinship term enters as in lme4_seed.R (lme4qtl's relmatLmer(): one level per
## person, its Zt block premultiplied by chol(K)); the household term is an ordinary
## (1 | household).  relmat_lformula(), multi_fit(), multi_summary() are in kinship_lmm.R:
## bobyqa, Nelder_Mead and nloptwrap from lme4's start, a tight bobyqa from the best, the
## merMod at the lowest criterion.  The people are labelled <family>_<individual>
## (DFAMS1_1 ...), the kinship matrix's rows being data1.ped's rows (checked below: K equals
## the kinship computed from data1.ped by the tabular method); the kinship term's grouping
## factor is called `kinship` (one level per person), so the components are named
## kinship, household, residual.
##
## Fits (each REML and ML):
##   kinship_household   y ~ SNP1 + SNP3 + SNP5 + kinship + household   (the reference)
##   kinship             y ~ SNP1 + SNP3 + SNP5 + kinship               (no household)
##   household           y ~ SNP1 + SNP3 + SNP5 + household             (no kinship)
##   at_theta            kinship_household by REML at fixed theta (no optimization)
##
## Usage:
##   Rscript tests/results/lme4_seed_household.R [SEED_DATA_DIR [OUTPUT_JSON]]
## SEED_DATA_DIR defaults to $KINSHIP_SEED_DATA; OUTPUT_JSON to lme4_seed_household.json
## beside this script.

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
cmd <- script_arguments(script_dir, "lme4_seed_household.json")
out_file <- cmd$out_file

## --------------------------------------------------------------------- data

seed <- read_seed_data(cmd$data_dir)          # kinship_lmm.R: y, D (1200 x 130), K
y <- seed$y
D <- seed$D
K <- seed$K
n <- length(y)

## the pedigree: first four columns of data1.ped (0 = unknown parent)
ped <- read.table(file.path(cmd$data_dir, "seqsimla", "data1.ped"),
                  colClasses = "character")[, 1:4]
names(ped) <- c("family", "individual", "father", "mother")
stopifnot(nrow(ped) == n)
phe <- read.table(file.path(cmd$data_dir, "seqsimla", "data1.phe"), colClasses = "character")
stopifnot(identical(phe[[1]], ped$family), identical(phe[[2]], ped$individual),
          max(abs(as.numeric(phe[[3]]) - y)) < 1e-12)          # same row order, same trait
id <- paste(ped$family, ped$individual, sep = "_")
parent_id <- function(p) ifelse(p == "0", NA_character_, paste(ped$family, p, sep = "_"))
dam <- parent_id(ped$mother)
sire <- parent_id(ped$father)
stopifnot(!anyDuplicated(id))

## K's rows are data1.ped's rows: K = A / 2, A by the tabular method (kinship_lmm.R)
A <- relationship_matrix(id, dam, sire)
k_check <- max(abs(A / 2 - K))
stopifnot(k_check == 0)
cat(sprintf("kinship_matrix.csv = relationship_matrix(data1.ped) / 2: max |difference| = %g\n",
            k_check))
dimnames(K) <- list(id, id)

## households (rule in the header)
couple <- ifelse(is.na(dam) | is.na(sire), NA_character_,
                 sprintf("%s_%sx%s", ped$family, ped$father, ped$mother))
parent_in <- lapply(id, function(i) unique(couple[!is.na(couple) & (sire == i | dam == i)]))
stopifnot(all(lengths(parent_in) <= 1L))              # nobody is a parent in two couples
household <- ifelse(lengths(parent_in) == 1L, vapply(parent_in, `[`, "", 1L),   # rule 1
                    ifelse(!is.na(couple), couple,                              # rule 2
                           id))                                                 # rule 3
stopifnot(all(xor(is.na(dam), is.na(sire)) == FALSE))  # both parents known or both unknown
hh_sizes <- table(household)
hh_pattern <- tapply(ped$individual, household,
                     function(x) paste(sort(as.integer(x)), collapse = ","))
cat(sprintf("households: %d, sizes %s; member patterns: %s\n", length(hh_sizes),
            paste(names(table(hh_sizes)), table(hh_sizes), sep = " x ", collapse = ", "),
            paste(names(table(hh_pattern)), collapse = " | ")))
stopifnot(length(hh_sizes) == 300L,
          setequal(names(table(hh_pattern)), c("1,2", "3,4,7,8,9", "5,6,10,11,12")))

## the kinship term's grouping factor is named `kinship` (levels: the people's labels), so
## that the variance components are named kinship, household, residual as in the package
dat <- data.frame(y = y, SNP1 = D[, "SNP1"], SNP3 = D[, "SNP3"], SNP5 = D[, "SNP5"],
                  kinship = id, household = household, stringsAsFactors = FALSE)
relmats <- list(kinship = K)

## ------------------------------------------------------------------ the fits

formulas <- list(
    kinship_household = y ~ SNP1 + SNP3 + SNP5 + (1 | kinship) + (1 | household),
    kinship = y ~ SNP1 + SNP3 + SNP5 + (1 | kinship),
    household = y ~ SNP1 + SNP3 + SNP5 + (1 | household)
)

## shares of the phenotypic variance: s_j^2 m_j / (sum_j s_j^2 m_j + s_e^2), m_j the mean
## diagonal of the term's covariance matrix (0.5 for the kinship K here, 1 for households)
shares <- function(vcomp) {
    m <- c(kinship = mean(diag(K)), household = 1, residual = 1)[names(vcomp)]
    v <- unlist(vcomp) * m
    as.list(v / sum(v))
}

t_start <- proc.time()[["elapsed"]]
results <- list()
lfs <- list()
for (name in names(formulas)) {
    for (method in c("REML", "ML")) {
        t0 <- proc.time()[["elapsed"]]
        lf <- relmat_lformula(formulas[[name]], dat,
                              relmats[intersect(names(relmats), all.vars(formulas[[name]]))],
                              REML = (method == "REML"))
        m <- multi_fit(lf)
        res <- multi_summary(m$fit, lf, blups = TRUE)
        res$formula <- paste(deparse(formulas[[name]]), collapse = " ")
        res$shares <- shares(res$vcomp)
        res$optimizer <- m$best
        res$optima <- m$optima
        crit <- vapply(m$optima, `[[`, 0, "criterion")
        thetas <- do.call(rbind, lapply(m$optima, `[[`, "theta"))
        res$optimizer_spread <- list(
            criterion = max(crit) - min(crit),
            theta = max(apply(thetas, 2, function(x) max(x) - min(x))))
        seconds <- proc.time()[["elapsed"]] - t0      # printed only: the JSON is reproducible
        results[[name]][[method]] <- res
        lfs[[name]][[method]] <- lf
        cat(sprintf("%-17s %-4s crit %.10f  theta %s  vc %s  shares %s  [%s; spread crit %.1e theta %.1e; %.2f s]\n",
                    name, method, res$criterion,
                    paste(sprintf("%.7f", unlist(res$theta)), collapse = " "),
                    paste(sprintf("%s=%.6f", names(res$vcomp), unlist(res$vcomp)), collapse = " "),
                    paste(sprintf("%.4f", unlist(res$shares)), collapse = " "),
                    m$best, res$optimizer_spread$criterion, res$optimizer_spread$theta,
                    seconds))
    }
}

## --------------------------------------------------------- fixed theta (REML)

at_theta <- list()
for (theta in list(c(kinship = 1.5, household = 1), c(kinship = 2.5, household = 0.5))) {
    lf <- lfs$kinship_household$REML
    stopifnot(identical(names(lf$reTrms$cnms), names(theta)))
    fit <- multi_at_theta(lf, theta)
    res <- multi_summary(fit, lf, blups = FALSE)
    res$formula <- results$kinship_household$REML$formula
    at_theta[[length(at_theta) + 1L]] <- res
}
results$at_theta <- at_theta

## ------------------------------------------------------------------- output

results$data <- list(
    n = n,
    id = I(id),                      # row order of every seed file
    household = I(household),        # household label of each person, same order
    n_households = length(hh_sizes),
    household_rule = paste(
        "a household is a father-mother couple with children in data1.ped, labelled",
        "<family>_<father>x<mother>; a person who is a parent belongs to the household of",
        "that couple; otherwise to the household of his or her parents; otherwise to a",
        "household of his or her own (none here)"),
    kinship_equals_pedigree_kinship = (k_check == 0),
    kinship_mean_diagonal = mean(diag(K))
)
results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    Matrix_version = as.character(packageVersion("Matrix")),
    minqa_version = as.character(packageVersion("minqa")),
    command = "Rscript tests/results/lme4_seed_household.R /path/to/seed-data"
)

write_exact_json(results, out_file)
cat(sprintf("wrote %s (%.1f s)\n", out_file, proc.time()[["elapsed"]] - t_start))
