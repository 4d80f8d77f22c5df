## Shared pieces of the R reference scripts in this folder (lme4_seed.R, lme4_lrt.R,
## lmertest_seed.R, lme4_scan.R).  Functions only: sourcing this file defines them and
## does nothing else.  Each script finds its own folder and sources it with
##
##     script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
##     script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
##     source(file.path(script_dir, "kinship_lmm.R"))
##
## The model of all four scripts is the kinship linear mixed model
##
##     y = X b + g + e,   g ~ N(0, sigma^2 theta^2 K),   e ~ N(0, sigma^2 I)
##
## fitted through lme4's modular interface the way lme4qtl's relmatLmer() does it: one
## random intercept per individual, whose Z^T is premultiplied by R = chol(K) (upper
## triangular, K = R^T R), so that Cov(Z Lambda u) = sigma^2 theta^2 R^T R = sigma^2
## theta^2 K.  How theta is optimised differs between the scripts and stays in each.
##
##   script_arguments(script_dir, output)   the command line: SEED_DATA_DIR (default
##                                          $KINSHIP_SEED_DATA) and OUTPUT_JSON (default
##                                          `output` beside the script)
##   read_seed_data(data_dir)               y, D (genotypes 0/1/2, columns SNP1..SNP130)
##                                          and K from the seed data's three CSV files
##   family_kinship()                       kinship matrix of one nuclear family (two
##                                          unrelated parents, two children)
##   chol_sparse(K)                         R = chol(K) as a sparse dgCMatrix
##   kinship_lmer_control()                 lmerControl() for one level per observation
##   kinship_lformula(y, X, R_sp, REML)     lFormula() pieces with Zt replaced by R %*% Zt
##   kinship_opt(devfun, theta, message)    an optimum as optwrap() returns it, for
##                                          mkMerMod()
##   write_exact_json(results, out_file)    the JSON file, every double written with the
##                                          fewest digits (15 to 17) that read back to it
##
## Needs the packages Matrix, lme4 and jsonlite (loaded by the scripts).

## ----------------------------------------------------------- command line

## Usage of every script: Rscript tests/results/<script>.R [SEED_DATA_DIR [OUTPUT_JSON]].
## Returns list(data_dir = the seed-data folder (normalised), out_file).
script_arguments <- function(script_dir, output) {
    args <- commandArgs(trailingOnly = TRUE)
    data_dir <- if (length(args) >= 1) args[1] else Sys.getenv("KINSHIP_SEED_DATA")
    if (!nzchar(data_dir) || !dir.exists(data_dir))
        stop("give the seed-data folder as first argument or in $KINSHIP_SEED_DATA")
    list(data_dir = normalizePath(data_dir),
         out_file = if (length(args) >= 2) args[2] else file.path(script_dir, output))
}

## ------------------------------------------------------------------- data

## The seed study (../shared/seed-data, see its README.md): 1200 people, 130 SNPs.
## phenotype.csv is one value a line; design_matrix.csv (1200 x 130) and
## kinship_matrix.csv (1200 x 1200) are comma-separated rows without a header.
read_seed_data <- function(data_dir) {
    n <- 1200L
    n_snp <- 130L
    y <- scan(file.path(data_dir, "phenotype.csv"), quiet = TRUE)
    D <- matrix(scan(file.path(data_dir, "design_matrix.csv"), sep = ",", quiet = TRUE),
                nrow = n, ncol = n_snp, byrow = TRUE)
    K <- matrix(scan(file.path(data_dir, "kinship_matrix.csv"), sep = ",", quiet = TRUE),
                nrow = n, ncol = n, byrow = TRUE)
    stopifnot(length(y) == n, all(D %in% 0:2), isSymmetric(K), all(diag(K) == 0.5))
    colnames(D) <- paste0("SNP", seq_len(n_snp))
    list(y = y, D = D, K = K)
}

## Kinship coefficients of a nuclear family: two unrelated parents, two children
## (the small data set of lme4_lrt.R has K = kronecker(I_40, family_kinship())).
family_kinship <- function() {
    matrix(c(0.50, 0.00, 0.25, 0.25,
             0.00, 0.50, 0.25, 0.25,
             0.25, 0.25, 0.50, 0.25,
             0.25, 0.25, 0.25, 0.50), 4, 4)
}

## ------------------------------------------------------------------ model

## R = chol(K), upper triangular with K = R^T R, as a sparse general (dgC) matrix
## (K is block diagonal by family, and so is R).
chol_sparse <- function(K) {
    as(as(Matrix(chol(K), sparse = TRUE), "generalMatrix"), "CsparseMatrix")
}

## lFormula() checks that would stop a model with one level per observation.
kinship_lmer_control <- function() {
    lmerControl(check.nobs.vs.nlev = "ignore",
                check.nobs.vs.nRE = "ignore",
                check.nobs.vs.rankZ = "ignore")
}

## The lme4 model pieces (lFormula()) of y ~ 0 + X + (1 | id), one level of id per
## observation, with Zt replaced by R_sp %*% Zt (lme4qtl style; R_sp from chol_sparse).
kinship_lformula <- function(y, X, R_sp, REML) {
    n <- length(y)
    id <- factor(seq_len(n), levels = seq_len(n))   # level i <-> row i of K
    lf <- lFormula(y ~ 0 + X + (1 | id), data = list(y = y, X = X, id = id),
                   REML = REML, control = kinship_lmer_control())
    Zt <- lf$reTrms$Zt
    ## Zt must be the identity with rows in individual order, so that
    ## R %*% Zt puts row i of R on individual i
    stopifnot(identical(rownames(Zt), as.character(seq_len(n))),
              identical(Zt@i, 0:(n - 1L)), identical(Zt@p, 0:n), all(Zt@x == 1))
    lf$reTrms$Zt <- as(R_sp %*% Zt, "CsparseMatrix")
    stopifnot(is(lf$reTrms$Zt, "dgCMatrix"))
    lf
}

## Optimum list in the form lme4's optwrap() returns it, for
## mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr).
## REMLcrit()/deviance() of the merMod return opt$fval, so it must be
## devfun(theta) evaluated last (this also leaves devfun's state at theta).
kinship_opt <- function(devfun, theta, message, optimizer = "optimize") {
    structure(list(par = theta, fval = devfun(theta), conv = 0L, message = message),
              optimizer = optimizer, control = list(), warnings = list(),
              derivs = NULL)
}

## ----------------------------------------------------------------- output

## Numbers are written with the fewest significant digits (15 to 17) that read
## back to the same double (jsonlite's digits = NA stops at 15); NA as null.
## Checked once against Python's json module: identical doubles to writing every
## number with %.17g.
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

## Doubles as verbatim JSON: a plain length-1 double as a number, other vectors (and
## I() ones of length 1) as arrays, matrices as arrays of rows.
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

write_exact_json <- function(results, out_file) {
    writeLines(toJSON(exact_numbers(results), auto_unbox = TRUE, json_verbatim = TRUE,
                      pretty = TRUE), out_file)
}
