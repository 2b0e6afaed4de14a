/* metrics.h: the numbers that judge a generator, computed on the host in
 * double: Inception Score from class probabilities, Fréchet distance between
 * feature statistics (matrix square roots by symmetric eigendecomposition),
 * and a linear L2-SVM (one-vs-rest, squared hinge, L2 regularised) for the
 * D-feature evaluation. The features and probabilities come from the
 * networks; nothing here touches the device. */
#ifndef CLG_METRICS_H
#define CLG_METRICS_H

#include "status.h"

#include <stddef.h>
#include <stdint.h>

/* IS = exp(E_x KL(p(y|x) || p(y))) over each of `splits` equal groups of the
 * n rows of probs (n x k, rows summing to 1); mean and standard deviation
 * over the groups (as Salimans et al.; population std, numpy's default). */
clg_status clg_inception_score(const float *probs, size_t n, int k, int splits, double *mean,
                               double *std);

/* Mean (d) and covariance (d x d, unbiased) of n feature rows (n x d). */
clg_status clg_feature_stats(const float *feats, size_t n, int d, double *mu, double *cov);

/* Fréchet distance ||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1^1/2 S2 S1^1/2)^1/2). */
clg_status clg_frechet_distance(const double *mu1, const double *cov1, const double *mu2,
                                const double *cov2, int d, double *fid);

/* Eigendecomposition of a symmetric d x d matrix (cyclic Jacobi):
 * a is destroyed; eigenvalues in w (d), eigenvectors as the columns of v. */
clg_status clg_symmetric_eigen(double *a, int d, double *w, double *v);

/* One-vs-rest linear L2-SVM: for each class c, minimise
 * 0.5 ||w_c||^2 + C sum_i max(0, 1 - y_ic (w_c . x_i + b_c))^2 (y_ic = +-1)
 * by dual coordinate descent (Hsieh et al. 2008, LIBLINEAR's L2-loss SVM),
 * with the bias as an extra constant feature. x: n x d; labels in [0, k). */
typedef struct {
    int k, d;
    double *w; /* k x (d + 1): weights, then the bias */
} clg_svm;

clg_status clg_svm_train(clg_svm *svm, const float *x, const unsigned char *labels, size_t n,
                         int d, int k, double c, int max_epochs);
/* Chooses C from grid[0..ngrid): trains on nine tenths of the rows (all but
 * every tenth, i % 10 == 9), scores on the tenth held out, and returns the C
 * with the best held-out accuracy (the first on ties) and that accuracy. */
clg_status clg_svm_select_c(const float *x, const unsigned char *labels, size_t n, int d, int k,
                            const double *grid, int ngrid, int max_epochs, double *best_c,
                            double *best_acc);
/* The class with the highest score. */
int clg_svm_predict(const clg_svm *svm, const float *x);
void clg_svm_free(clg_svm *svm);

#endif
