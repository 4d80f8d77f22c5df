## Reference predictions from R's lme4 for people without phenotypes (issue 11): BLUPs of the
## kinship effect of every person of the pedigree, their conditional variances, the household
## BLUPs and the conditional predictions of held-out records.
##
## Data: lme4_prediction_data.csv beside this script, written by lme4_prediction.py from the
## project's data/ (1200 people in 100 families of 12; 300 households): one child per family
## (100 people, `held_out` = 1) is treated as unphenotyped; the fits use the other 1100
## records.  Models (REML), with K the kinship coefficients (diag 0.5) of the whole pedigree:
##
##   kinship:            trait = X b + Z g + e,          g ~ N(0, s_g^2 K)
##   kinship_household:  trait = X b + Z g + W h + e,    g ~ N(0, s_g^2 K), h ~ N(0, s_h^2 I)
##
## X = (1, SNP1, SNP3, SNP5, SNP11), Z maps the 1100 records to the 1200 people, W to the 300
## households, e ~ N(0, s_e^2 I).  In lme4's conventions s_g^2 = sigma^2 theta_id^2 and
## s_h^2 = sigma^2 theta_household^2.
##
## K is computed here by the tabular method (relationship_matrix() of kinship_lmm.R, / 2),
## independently of the Python package.  The kinship term is (1 | id) with id a factor over
## ALL 1200 people (sorted, byte-wise), so lme4's random-effects vector has a level for each
## person, the 100 held-out people being levels without records (their columns of Z are 0);
## its block of Zt is premultiplied by R = chol(K) (upper triangular, K = R^T R) as lme4qtl
## does, so that g = R^T u_id and Cov(g) = s_g^2 K.  lFormula() would drop the levels without
## records, so reTrms is rebuilt by mkReTrms(drop.unused.levels = FALSE), as
## pedigree_lformula() in kinship_lmm.R does.
##
## Recorded per model (multi_fit()/multi_summary() of kinship_lmm.R for the fit itself):
##   blup_id:      level (person), held_out, value = R^T ranef(fit)$id (the BLUP of g, given
##                 b at its estimate), condvar = Var(g | y) with b and theta fixed at their
##                 estimates: sigma^2 R^T [Lambda (Lambda^T Z^T Z Lambda + I)^-1 Lambda^T]_id R,
##                 from the merMod's L (getME(fit, "L"), solve(L, I, system = "A")) and
##                 Lambda (getME(fit, "Lambdat")).  (ranef(fit, condVar = TRUE)'s postVar is
##                 the diagonal of the bracket, for u_id, not g: it is checked against the
##                 bracket's diagonal, `checks$postVar_id`, but is not Var(g | y).)
##   blup_household: level, value = ranef(fit)$household, condvar = its postVar
##                 (attr(ranef(fit, condVar = TRUE)$household, "postVar") = Var(h | y)).
##   held_out:     the held-out rows: individual, household, fixed = predict(fit, newdata,
##                 re.form = NA) (= x'b), mean = fixed + g_t (+ h of the row's household),
##                 var_b_known = Var(g_t (+ h) | y) with b fixed (the conditional covariance of
##                 g and h from the same matrix).  predict(fit, newdata, re.form = NULL) is
##                 NOT this: lme4 rebuilds Z for newdata from the formula without R and adds
##                 ranef(fit)$id (the coefficient u_t, not g_t = (R^T u)_t); its values are
##                 stored as `predict_re_form_NULL` with their difference from x'b + u_t (+ h)
##                 to document that.
##   checks:       the same BLUPs and conditional variances by dense Henderson formulas in R
##                 (V = sigma^2 (theta_id^2 Z K Z^T + theta_h^2 W W^T + I); BLUP of g =
##                 s_g^2 K Z^T V^-1 (y - X b), Var(g | y, b) = s_g^2 K - s_g^4 K Z^T V^-1 Z K),
##                 max abs differences; and dense_pev_b_estimated: the PEV of g_t including
##                 the uncertainty of the GLS b (Henderson's C^22 block: the b-known value plus
##                 m' (X^T V^-1 X)^-1 m, m = X^T V^-1 Z K s_g^2 e_t), for the held-out people,
##                 and the same for the held-out rows' mean (x - m)' (X^T V^-1 X)^-1 (x - m).
##                 These last numbers are Henderson's formula evaluated in R, not an lme4
##                 output.
##
## Usage (from the repository root):
##   python tests/results/lme4_prediction.py      # writes lme4_prediction_data.csv
##   Rscript tests/results/lme4_prediction.R [OUTPUT_JSON]
## OUTPUT_JSON defaults to lme4_prediction.json beside this script.  Needs Matrix, lme4 and
## jsonlite; about 30 s.

suppressPackageStartupMessages({
    library(Matrix)
    library(lme4)
    library(jsonlite)
})

## factor levels (the order of Zt's rows and of the BLUPs in the JSON) sort byte-wise, as
## Python's sorted() does, whatever the locale
invisible(Sys.setlocale("LC_COLLATE", "C"))

script_file <- sub("^--file=", "", grep("^--file=", commandArgs(FALSE), value = TRUE))
script_dir <- if (length(script_file) == 1) dirname(normalizePath(script_file)) else getwd()
source(file.path(script_dir, "kinship_lmm.R"))
args <- commandArgs(trailingOnly = TRUE)
out_file <- if (length(args) >= 1) args[1] else file.path(script_dir, "lme4_prediction.json")
t_start <- proc.time()[["elapsed"]]

## --------------------------------------------------------------------- data

tab <- read.csv(file.path(script_dir, "lme4_prediction_data.csv"),
                colClasses = c(rep("character", 5), "integer", "numeric", rep("integer", 4)))
stopifnot(identical(names(tab), c("individual", "family", "father", "mother", "household",
                                  "held_out", "trait", "SNP1", "SNP3", "SNP5", "SNP11")),
          nrow(tab) == 1200L, !anyDuplicated(tab$individual), !anyNA(tab),
          sum(tab$held_out) == 100L, all(tab$father[tab$held_out == 1L] != "0"))
father <- ifelse(tab$father == "0", NA, tab$father)
mother <- ifelse(tab$mother == "0", NA, tab$mother)
K_ped <- relationship_matrix(tab$individual, mother, father) / 2   # kinship coefficients
ids <- sort(tab$individual)
K <- K_ped[ids, ids]
stopifnot(all(diag(K) == 0.5))
R <- chol_sparse(K)                                  # K = R^T R, block diagonal by family
stopifnot(max(abs(as.matrix(crossprod(R)) - K)) < 1e-12)

tab$id <- tab$individual
dat <- tab[tab$held_out == 0L, ]
held <- tab[tab$held_out == 1L, ]
stopifnot(all(held$household %in% dat$household))   # every held-out household has records

## lFormula() pieces with the id term over all people of K (levels without records kept)
## and its block of Zt premultiplied by R; other terms iid.  lf$relmat_R as
## relmat_lformula() sets it, for multi_summary()'s BLUPs R^T u.
full_relmat_lformula <- function(formula, data, K, R, REML) {
    lf <- lFormula(formula, data = data, REML = REML, control = kinship_lmer_control())
    lf$fr$id <- factor(as.character(lf$fr$id), levels = rownames(K))
    rt <- mkReTrms(findbars(formula), lf$fr, drop.unused.levels = FALSE)
    terms <- names(rt$cnms)
    stopifnot(terms[1] == "id", all(vapply(rt$cnms, identical, TRUE, "(Intercept)")),
              identical(levels(rt$flist$id), rownames(K)),
              identical(rownames(rt$Zt)[(rt$Gp[1] + 1L):rt$Gp[2]], rownames(K)))
    blocks <- c(list(R), lapply(seq_along(terms)[-1], function(k)
        Diagonal(rt$Gp[k + 1L] - rt$Gp[k])))
    M <- as(as(bdiag(blocks), "generalMatrix"), "CsparseMatrix")
    Zt <- as(M %*% rt$Zt, "CsparseMatrix")
    dimnames(Zt) <- dimnames(rt$Zt)
    rt$Zt <- Zt
    lf$reTrms <- rt
    lf$relmat_R <- list(id = R)
    lf
}

## Var(M^T b | y) with b = Lambda u the merMod's random effects (Zt's row space) and
## M = bdiag(R, I): sigma^2 M^T Lambda (Lambda^T Z^T Z Lambda + I)^-1 Lambda^T M, dense
## (q = 1200 + 300); and Lambda (..)^-1 Lambda^T (for the postVar check)
conditional_covariance <- function(fit, lf) {
    rt <- lf$reTrms
    q <- nrow(rt$Zt)
    Lt <- getME(fit, "Lambdat")
    Ainv <- solve(getME(fit, "L"), Diagonal(q), system = "A")
    B <- as.matrix(crossprod(Lt, Ainv %*% Lt))           # Lambda A^-1 Lambda^T
    k <- rt$Gp[2]
    Mt <- as.matrix(bdiag(c(list(t(lf$relmat_R$id)),
                            if (q > k) list(Diagonal(q - k)))))
    list(cov = sigma(fit)^2 * Mt %*% B %*% t(Mt), B = B)
}

formulas <- list(
    kinship = trait ~ SNP1 + SNP3 + SNP5 + SNP11 + (1 | id),
    kinship_household = trait ~ SNP1 + SNP3 + SNP5 + SNP11 + (1 | id) + (1 | household))

## dense design pieces for the checks
Zd <- outer(dat$id, ids, "==") * 1                        # 1100 x 1200
X <- cbind(1, as.matrix(dat[, c("SNP1", "SNP3", "SNP5", "SNP11")]))
Xh <- cbind(1, as.matrix(held[, c("SNP1", "SNP3", "SNP5", "SNP11")]))
y <- dat$trait

results <- list()
for (name in names(formulas)) {
    form <- formulas[[name]]
    lf <- full_relmat_lformula(form, dat, K, R, REML = TRUE)
    m <- multi_fit(lf)
    fit <- m$fit
    res <- multi_summary(fit, lf, blups = TRUE)
    res$formula <- paste(deparse(form), collapse = " ")
    res$optimizer <- m$best
    rt <- lf$reTrms
    terms <- names(rt$cnms)
    k <- rt$Gp[2]
    stopifnot(k == 1200L, identical(as.character(res$blup$id$level), ids))

    ## conditional covariance of (g, h) given y, b and theta fixed
    cc <- conditional_covariance(fit, lf)
    C <- cc$cov
    g <- res$blup$id$value
    re <- ranef(fit, condVar = TRUE)
    pv_id <- as.vector(attr(re$id, "postVar"))
    res$blup_id <- list(level = I(ids), held_out = I(as.integer(ids %in% held$id)),
                        value = I(g), condvar = I(diag(C)[1:k]))
    res$blup <- NULL                                     # in blup_id / blup_household
    checks <- list(postVar_id = max(abs(pv_id - sigma(fit)^2 * diag(cc$B)[1:k])))

    ti <- match(held$id, ids)                            # held-out people among the levels
    fixed <- unname(predict(fit, newdata = held, re.form = NA))        # x'b
    stopifnot(max(abs(fixed - Xh %*% fixef(fit))) < 1e-10)
    mean <- fixed + g[ti]
    var_b_known <- diag(C)[ti]
    u_id <- re$id[["(Intercept)"]]
    naive <- fixed + u_id[ti]
    if ("household" %in% terms) {
        h <- re$household[["(Intercept)"]]
        hlev <- rownames(re$household)
        hi <- match(held$household, hlev)
        stopifnot(!anyNA(hi), rt$Gp[3] == k + length(hlev))
        res$blup_household <- list(
            level = I(hlev), value = I(h),
            condvar = I(as.vector(attr(re$household, "postVar"))))
        checks$postVar_household <- max(abs(res$blup_household$condvar -
                                            diag(C)[(k + 1):rt$Gp[3]]))
        mean <- mean + h[hi]
        var_b_known <- var_b_known + diag(C)[k + hi] + 2 * C[cbind(ti, k + hi)]
        naive <- naive + h[hi]
    }
    pr <- unname(predict(fit, newdata = held, re.form = NULL))
    res$held_out <- list(individual = I(held$id), household = I(held$household),
                         fixed = I(fixed), mean = I(mean), var_b_known = I(var_b_known),
                         predict_re_form_NULL = I(pr),
                         predict_re_form_NULL_minus_fixed_plus_u = max(abs(pr - naive)))

    ## dense Henderson formulas at lme4's estimates
    vc <- unlist(res$vcomp)
    s2 <- vc[["residual"]]
    V <- vc[["id"]] * Zd %*% K %*% t(Zd) + s2 * diag(nrow(dat))
    if ("household" %in% terms) {
        W <- outer(dat$household, hlev, "==") * 1
        V <- V + vc[["household"]] * tcrossprod(W)
    }
    Vi <- solve(V)
    b <- fixef(fit)
    r <- y - X %*% b
    Cg <- vc[["id"]] * K %*% t(Zd)                       # Cov(g, y), 1200 x 1100
    g_dense <- as.vector(Cg %*% Vi %*% r)
    pev_dense <- vc[["id"]] * diag(K) - rowSums((Cg %*% Vi) * Cg)
    checks$dense_blup_id <- max(abs(g_dense - g))
    checks$dense_condvar_id <- max(abs(pev_dense - res$blup_id$condvar))
    XtViX_inv <- solve(t(X) %*% Vi %*% X)
    Cc <- Cg[ti, , drop = FALSE]                         # Cov(g_t (+ h), y) of held-out rows
    v_t <- vc[["id"]] * diag(K)[ti]
    if ("household" %in% terms) {
        Ch <- vc[["household"]] * t(W)                   # Cov(h, y)
        h_dense <- as.vector(Ch %*% Vi %*% r)
        checks$dense_blup_household <- max(abs(h_dense - h))
        checks$dense_condvar_household <- max(abs(
            vc[["household"]] - rowSums((Ch %*% Vi) * Ch) - res$blup_household$condvar))
        Cc <- Cc + Ch[hi, , drop = FALSE]
        v_t <- v_t + vc[["household"]]                   # g and h independent a priori
    }
    var_known_dense <- v_t - rowSums((Cc %*% Vi) * Cc)
    checks$dense_var_b_known_held_out <- max(abs(var_known_dense - var_b_known))
    mg <- t(X) %*% Vi %*% t(Cg[ti, , drop = FALSE])      # p x 100, for g_t alone
    res$held_out$dense_pev_b_estimated <- I(pev_dense[ti] +
                                            colSums(mg * (XtViX_inv %*% mg)))
    mm <- t(Xh) - t(X) %*% Vi %*% t(Cc)                 # x - m, p x 100, for the mean
    res$held_out$dense_var_mean_b_estimated <- I(var_known_dense +
                                                 colSums(mm * (XtViX_inv %*% mm)))
    res$checks <- checks
    results[[name]] <- res
    cat(sprintf("%-18s crit %.10f  vc %s  [%s]\n", name, res$criterion,
                paste(sprintf("%s=%.7f", names(res$vcomp), unlist(res$vcomp)),
                      collapse = " "), m$best))
    cat(sprintf("  checks: %s\n", paste(sprintf("%s %.1e", names(checks), unlist(checks)),
                                       collapse = ", ")))
    cat(sprintf("  predict(re.form = NULL) - (x'b + u_t (+ h)) max %.1e; - mean max %.2e\n",
                res$held_out$predict_re_form_NULL_minus_fixed_plus_u, max(abs(pr - mean))))
}

## ------------------------------------------------------------------- output

results$data <- list(
    n_people = nrow(tab), nobs = nrow(dat), n_held_out = nrow(held),
    n_households = length(unique(dat$household)),
    held_out = I(held$id),
    K_sum = sum(K), K_offdiag_nonzero = sum(K != 0) - nrow(K)
)
results$meta <- list(
    R_version = R.version.string,
    lme4_version = as.character(packageVersion("lme4")),
    Matrix_version = as.character(packageVersion("Matrix")),
    command = "Rscript tests/results/lme4_prediction.R"
)

write_exact_json(results, out_file)
cat(sprintf("wrote %s (%.1f s)\n", out_file, proc.time()[["elapsed"]] - t_start))
