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
##   fit_lmertest(y, X, K, REML)            the model by optimize() on theta, as an lmerTest
##                                          model (Satterthwaite's df; lmerTest loaded)
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

## ===================================================================================
## Several variance components (issue 10): functions added for lme4_bluetit.R and
## lme4_seed_household.R.  The model there is
##
##     y = X b + sum_j Z_j u_j + e,   u_j ~ N(0, sigma^2 theta_j^2 K_j),   e ~ N(0, sigma^2 I)
##
## with K_j a known relationship matrix over the levels of a grouping factor (the
## individuals) or K_j = I (an ordinary iid grouping factor: household, fosternest, dam).
## Each relationship term enters as in kinship_lformula(): the term's block of Zt (lme4
## stacks the terms' blocks, ordered by decreasing number of levels; the block of term j
## is rows Gp[j] + 1 .. Gp[j + 1], its levels those of flist[[name]]) is premultiplied by
## R_j = chol(K_j[levels, levels]), so that Cov(Z_j R_j^T b_j) = sigma^2 theta_j^2 Z_j K_j Z_j^T.
##
##   relationship_matrix(id, dam, sire)      A = 2 * kinship, tabular method; NA parent =
##                                           unknown (a phantom founder)
##   relmat_lformula(formula, data, relmats, REML)
##                                           lFormula() pieces with each relationship
##                                           term's Zt block premultiplied by chol(K_j)
##   multi_fit(lf, optimizers)               optimizeLmer() with each optimizer from lme4's
##                                           start, a tight bobyqa from the best, the merMod
##                                           at the lowest criterion
##   multi_summary(fit, lf)                  everything recorded for one fit
##   multi_at_theta(lf, theta)               the merMod at a given theta (no optimization)
## ===================================================================================

## Additive relationship matrix A (= 2 x kinship coefficient) of a pedigree whose parents
## precede their offspring, by the tabular method (Emik & Terrill 1949; Henderson 1976):
## for animal i with dam d and sire s (either may be NA = unknown, i.e. a phantom founder
## unrelated to everyone, contributing 0),
##     A[i, j] = A[j, i] = (A[j, d] + A[j, s]) / 2        for j < i,
##     A[i, i] = 1 + A[d, s] / 2                           (1 if a parent is unknown).
## Returns the dense matrix with dimnames = id.
relationship_matrix <- function(id, dam, sire) {
    id <- as.character(id)
    n <- length(id)
    di <- match(as.character(dam), id)
    si <- match(as.character(sire), id)
    stopifnot(!anyDuplicated(id),
              identical(is.na(di), is.na(dam)),            # known parents are in the pedigree
              identical(is.na(si), is.na(sire)),
              all(is.na(di) | di < seq_len(n)),            # ... and precede their offspring
              all(is.na(si) | si < seq_len(n)))
    A <- matrix(0, n, n, dimnames = list(id, id))
    for (i in seq_len(n)) {
        d <- di[i]
        s <- si[i]
        if (i > 1L) {
            j <- seq_len(i - 1L)
            a <- 0.5 * ((if (is.na(d)) 0 else A[d, j]) + (if (is.na(s)) 0 else A[s, j]))
            A[i, j] <- a
            A[j, i] <- a
        }
        A[i, i] <- 1 + (if (is.na(d) || is.na(s)) 0 else 0.5 * A[d, s])
    }
    A
}

## lFormula() pieces of `formula` (random terms (1 | g)), with the Zt block of every term
## named in `relmats` (a named list: grouping factor -> matrix with dimnames covering its
## levels) premultiplied by chol(K[levels, levels]).  Iid terms are left as lme4 builds them.
relmat_lformula <- function(formula, data, relmats, REML) {
    lf <- lFormula(formula, data = data, REML = REML, control = kinship_lmer_control())
    rt <- lf$reTrms
    terms <- names(rt$cnms)
    stopifnot(all(names(relmats) %in% terms), !anyDuplicated(terms),
              all(vapply(rt$cnms, identical, TRUE, "(Intercept)")))
    blocks <- lapply(seq_along(terms), function(k) {
        lev <- levels(rt$flist[[terms[k]]])
        rows <- (rt$Gp[k] + 1L):rt$Gp[k + 1L]
        stopifnot(length(rows) == length(lev), identical(rownames(rt$Zt)[rows], lev))
        if (terms[k] %in% names(relmats)) {
            K <- relmats[[terms[k]]]
            stopifnot(all(lev %in% rownames(K)), all(lev %in% colnames(K)))
            chol_sparse(K[lev, lev, drop = FALSE])
        } else {
            Diagonal(length(lev))
        }
    })
    M <- as(as(bdiag(blocks), "generalMatrix"), "CsparseMatrix")
    Zt <- as(M %*% rt$Zt, "CsparseMatrix")
    dimnames(Zt) <- dimnames(rt$Zt)
    lf$reTrms$Zt <- Zt
    lf$relmat_R <- setNames(blocks, terms)[names(relmats)]   # R_j, for the BLUPs
    lf
}

## Fit by each optimizer in `optimizers` (optimizeLmer() from lme4's start theta = 1, with
## lmer()'s restart_edge and boundary.tol), then a tight bobyqa (rhoend = 1e-10) from the
## best of them; the merMod is built at the lowest criterion found, after setting to 0
## (exactly, as lme4's check.boundary() does) any theta_j below boundary.tol = 5e-5 whose
## zeroing raises the criterion by less than 1e-10 (its noise level), so that a boundary
## estimate is reported as exactly 0.  Returns list(fit, optima, best, devfun).
## Every start is passed as a fresh copy (`+ 0`): optimizeLmer() overwrites its `start`
## vector in place with the optimum (lme4 1.1.31), so reusing one vector, e.g.
## lf$reTrms$theta, would start the second optimizer at the first one's optimum.
multi_fit <- function(lf, optimizers = c("bobyqa", "Nelder_Mead", "nloptwrap")) {
    devfun <- do.call(mkLmerDevfun, lf)
    ## lme4's start for (1 | g) terms, as a fresh vector (devfun() also overwrites
    ## lf$reTrms$theta in place, so it is not 1 any more once lf has been fitted)
    theta0 <- rep(1, length(lf$reTrms$theta))
    run <- function(optimizer, start, control = list()) {
        o <- optimizeLmer(devfun, optimizer = optimizer, start = unname(start) + 0,
                          restart_edge = TRUE, boundary.tol = 5e-5, control = control,
                          calc.derivs = FALSE)
        theta <- setNames(as.numeric(o$par) + 0, names(lf$reTrms$cnms))
        list(theta = theta, criterion = devfun(theta + 0), conv = o$conv,
             feval = if (is.null(o$feval)) NA_real_ else as.numeric(o$feval))
    }
    optima <- lapply(setNames(optimizers, optimizers), run, start = theta0)
    crit <- vapply(optima, `[[`, 0, "criterion")
    first <- names(which.min(crit))
    optima$bobyqa_tight <- run("bobyqa", optima[[first]]$theta,
                               control = list(rhobeg = 1e-3, rhoend = 1e-10, maxfun = 1e5))
    crit <- vapply(optima, `[[`, 0, "criterion")
    best <- names(which.min(crit))
    theta <- optima[[best]]$theta + 0
    near <- which(theta > 0 & theta < 5e-5)
    if (length(near) > 0) {
        theta_b <- theta
        theta_b[near] <- 0
        crit_b <- devfun(theta_b + 0)
        if (crit_b - crit[[best]] < 1e-10) {
            optima$boundary <- list(theta = theta_b, criterion = crit_b, from = best,
                                    set_to_zero = I(names(theta)[near]))
            best <- "boundary"
            theta <- theta_b
        }
    }
    opt <- kinship_opt(devfun, unname(theta) + 0, paste("theta from", best), best)
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    list(fit = fit, optima = optima, best = best, devfun = devfun)
}

## The merMod at a given theta (no optimization): criterion, sigma, fixef, vcov there.
multi_at_theta <- function(lf, theta) {
    devfun <- do.call(mkLmerDevfun, lf)
    opt <- kinship_opt(devfun, unname(theta), "fixed theta", "none")
    mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
}

## Everything recorded for one fit.  Variance components: sigma^2 theta_j^2 per term (for a
## relationship term the variance of u_j, whose covariance is that times K_j), and
## residual sigma^2.  BLUPs per level: for an iid term ranef(); for a relationship term
## R_j^T ranef() (the effect u_j itself, on the scale of K_j).
multi_summary <- function(fit, lf, blups = TRUE) {
    rt <- lf$reTrms
    terms <- names(rt$cnms)
    theta <- setNames(unname(getME(fit, "theta")), terms)
    sigma2 <- sigma(fit)^2
    b <- fixef(fit)
    V <- as.matrix(vcov(fit))
    dimnames(V) <- NULL
    ll <- logLik(fit)
    res <- list(
        REML = isREML(fit),
        criterion = if (isREML(fit)) REMLcrit(fit) else deviance(fit),
        logLik = as.numeric(ll),                                  # logLik(fit)
        df = attr(ll, "df"),
        AIC = AIC(fit), BIC = BIC(fit),
        deviance_ML = deviance(fit, REML = FALSE),                # ML deviance at these estimates
        terms = I(terms),                                         # lme4's order of theta
        theta = as.list(theta),                                   # getME(fit, "theta")
        sigma = sigma(fit),
        sigma2 = sigma2,
        vcomp = as.list(c(sigma2 * theta^2, residual = sigma2)),
        fixef_names = I(names(b)),
        fixef = as.list(b),                                       # fixef(fit)
        se = as.list(sqrt(diag(V))),                              # sqrt(diag(vcov(fit)))
        vcov = V,
        nobs = nobs(fit),
        ngrps = as.list(vapply(rt$flist[terms], nlevels, 0L)),
        relationship_terms = I(names(lf$relmat_R)),
        singular = isSingular(fit, tol = 1e-4)
    )
    names(res$se) <- names(b)
    if (blups) {
        re <- ranef(fit)
        res$blup <- lapply(setNames(terms, terms), function(tm) {
            v <- re[[tm]][["(Intercept)"]]
            lev <- rownames(re[[tm]])
            stopifnot(identical(lev, levels(rt$flist[[tm]])))
            if (tm %in% names(lf$relmat_R)) v <- as.vector(crossprod(lf$relmat_R[[tm]], v))
            list(level = I(lev), value = I(v))
        })
        res$fitted <- I(unname(fitted(fit)))                      # X b + sum_j Z_j u_j
    }
    res
}

## ------------------------------------------------------------ lmerTest fits

## The kinship model fitted by lme4's modular interface (theta by optimize() on [0, 20], to
## 1e-12) and turned into an lmerTest model, for Satterthwaite's df (lmertest_seed.R,
## lmertest_anova.R). Needs lmerTest loaded by the script.
fit_lmertest <- function(y, X, K, REML) {
    R_sp <- chol_sparse(K)                            # chol(K) as a dgCMatrix
    lf <- kinship_lformula(y, X, R_sp, REML)
    devfun <- do.call(mkLmerDevfun, lf)
    o <- optimize(devfun, c(0, 20), tol = 1e-12)
    stopifnot(o$minimum < 19)
    opt <- kinship_opt(devfun, o$minimum, "optimize")   # fval = devfun(theta)
    fit <- mkMerMod(environment(devfun), opt, lf$reTrms, fr = lf$fr)
    m <- lmerTest:::as_lmerModLT(fit, devfun)
    stopifnot(inherits(m, "lmerModLmerTest"))
    m
}


## The animals `ids` and their ancestors in a pedigree (data frame animal, sire, dam; NA
## unknown; parents before offspring), A over them by the tabular method
## (relationship_matrix()) and Henderson's factor A = L L^T, L = T D^1/2, T = (I - P)^-1
## (P holding 1/2 for each known parent; D the Mendelian sampling variances 1 - sum over the
## known parents of (1 + F_p) / 4, F_p = A_pp - 1): sparse and lower triangular, as
## pedigreemm's relfactor() of a whole pedigree.  Used by lme4_dairy.R and
## benchmarks/lme4_timing.R.
pedigree_factor <- function(ped, ids) {
    keep <- ped$animal %in% ids
    repeat {
        more <- keep | ped$animal %in% c(ped$sire[keep], ped$dam[keep])
        if (identical(more, keep)) break
        keep <- more
    }
    anc <- ped[keep, ]
    A <- relationship_matrix(anc$animal, anc$dam, anc$sire)
    n_anc <- nrow(anc)
    si <- match(anc$sire, anc$animal)
    di <- match(anc$dam, anc$animal)
    P <- sparseMatrix(i = c(which(!is.na(si)), which(!is.na(di))),
                      j = c(si[!is.na(si)], di[!is.na(di)]), x = 0.5, dims = c(n_anc, n_anc))
    F <- diag(A) - 1
    d <- 1 - ifelse(is.na(si), 0, (1 + F[pmax(si, 1L)]) / 4) -
        ifelse(is.na(di), 0, (1 + F[pmax(di, 1L)]) / 4)
    T_ped <- solve(as(as(Diagonal(n_anc) - P, "CsparseMatrix"), "triangularMatrix"))
    L <- as(as(T_ped %*% Diagonal(x = sqrt(d)), "generalMatrix"), "CsparseMatrix")
    dimnames(L) <- list(anc$animal, anc$animal)
    list(anc = anc, A = A, L = L, F = F)
}

## lFormula() pieces with the additive term over all animals of L (the cows' ancestors are
## levels without records) and its block of Zt premultiplied by R = L[lev, lev]^T, so that
## Cov = sigma^2 theta^2 R^T R = sigma^2 theta^2 A; lf$relmat_R as relmat_lformula() sets it
## (for multi_summary()'s BLUPs R^T u).
pedigree_lformula <- function(formula, data, L, REML) {
    lf <- lFormula(formula, data = data, REML = REML, control = kinship_lmer_control())
    lf$fr$additive <- factor(as.character(lf$fr$additive), levels = sort(rownames(L)))
    rt <- mkReTrms(findbars(formula), lf$fr, drop.unused.levels = FALSE)
    terms <- names(rt$cnms)
    stopifnot(identical(terms, c("additive", "permanent", "herd")),
              all(vapply(rt$cnms, identical, TRUE, "(Intercept)")))
    lev <- levels(rt$flist$additive)
    stopifnot(identical(rownames(rt$Zt)[(rt$Gp[1] + 1L):rt$Gp[2]], lev))
    R <- as(as(t(L[lev, lev]), "generalMatrix"), "CsparseMatrix")
    M <- bdiag(R, Diagonal(rt$Gp[3] - rt$Gp[2]), Diagonal(rt$Gp[4] - rt$Gp[3]))
    Zt <- as(as(as(M, "generalMatrix"), "CsparseMatrix") %*% rt$Zt, "CsparseMatrix")
    dimnames(Zt) <- dimnames(rt$Zt)
    rt$Zt <- Zt
    lf$reTrms <- rt
    lf$relmat_R <- list(additive = R)
    lf
}
