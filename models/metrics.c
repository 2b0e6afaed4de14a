/* metrics.c: Inception Score, Fréchet distance, eigendecomposition, L2-SVM. */
#include "metrics.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

clg_status clg_inception_score(const float *probs, size_t n, int k, int splits, double *mean,
                               double *std) {
    if (k < 1 || splits < 1 || n < (size_t)splits)
        return clg_fail(CLG_ERR_INVALID_ARG, "inception score: %zu rows, %d classes, %d splits",
                        n, k, splits);
    double *py = malloc((size_t)k * sizeof *py), *scores = malloc((size_t)splits * sizeof *scores);
    if (!py || !scores) {
        free(py), free(scores);
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    }
    for (int s = 0; s < splits; s++) {
        size_t a = n * (size_t)s / (size_t)splits, b = n * (size_t)(s + 1) / (size_t)splits;
        memset(py, 0, (size_t)k * sizeof *py);
        for (size_t i = a; i < b; i++)
            for (int j = 0; j < k; j++) py[j] += probs[i * (size_t)k + j];
        for (int j = 0; j < k; j++) py[j] /= (double)(b - a);
        double kl = 0;
        for (size_t i = a; i < b; i++)
            for (int j = 0; j < k; j++) {
                double p = probs[i * (size_t)k + j];
                if (p > 0) kl += p * (log(p) - log(py[j]));
            }
        scores[s] = exp(kl / (double)(b - a));
    }
    double m = 0, v = 0;
    for (int s = 0; s < splits; s++) m += scores[s];
    m /= splits;
    for (int s = 0; s < splits; s++) v += (scores[s] - m) * (scores[s] - m);
    *mean = m;
    *std = sqrt(v / splits);
    free(py), free(scores);
    return CLG_OK;
}

clg_status clg_feature_stats(const float *feats, size_t n, int d, double *mu, double *cov) {
    if (n < 2 || d < 1)
        return clg_fail(CLG_ERR_INVALID_ARG, "feature statistics need 2 rows, have %zu", n);
    memset(mu, 0, (size_t)d * sizeof *mu);
    for (size_t i = 0; i < n; i++)
        for (int j = 0; j < d; j++) mu[j] += feats[i * (size_t)d + j];
    for (int j = 0; j < d; j++) mu[j] /= (double)n;
    memset(cov, 0, (size_t)d * d * sizeof *cov);
    double *row = malloc((size_t)d * sizeof *row);
    if (!row) return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory");
    for (size_t i = 0; i < n; i++) {
        for (int j = 0; j < d; j++) row[j] = feats[i * (size_t)d + j] - mu[j];
        for (int a = 0; a < d; a++)
            for (int b = a; b < d; b++) cov[(size_t)a * d + b] += row[a] * row[b];
    }
    for (int a = 0; a < d; a++)
        for (int b = a; b < d; b++) {
            cov[(size_t)a * d + b] /= (double)(n - 1);
            cov[(size_t)b * d + a] = cov[(size_t)a * d + b];
        }
    free(row);
    return CLG_OK;
}

clg_status clg_symmetric_eigen(double *a, int d, double *w, double *v) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) v[(size_t)i * d + j] = i == j;
    for (int sweep = 0; sweep < 100; sweep++) {
        double off = 0, total = 0;
        for (int i = 0; i < d; i++)
            for (int j = 0; j < d; j++) {
                double x = a[(size_t)i * d + j] * a[(size_t)i * d + j];
                total += x;
                if (i != j) off += x;
            }
        if (off <= 1e-30 * (total > 0 ? total : 1)) break;
        for (int p = 0; p < d - 1; p++)
            for (int q = p + 1; q < d; q++) {
                double apq = a[(size_t)p * d + q];
                if (fabs(apq) < 1e-300) continue;
                double app = a[(size_t)p * d + p], aqq = a[(size_t)q * d + q];
                double theta = (aqq - app) / (2 * apq);
                double t = (theta >= 0 ? 1.0 : -1.0) / (fabs(theta) + sqrt(theta * theta + 1));
                double c = 1 / sqrt(t * t + 1), s = t * c;
                for (int k = 0; k < d; k++) { /* columns p, q */
                    double akp = a[(size_t)k * d + p], akq = a[(size_t)k * d + q];
                    a[(size_t)k * d + p] = c * akp - s * akq;
                    a[(size_t)k * d + q] = s * akp + c * akq;
                }
                for (int k = 0; k < d; k++) { /* rows p, q */
                    double apk = a[(size_t)p * d + k], aqk = a[(size_t)q * d + k];
                    a[(size_t)p * d + k] = c * apk - s * aqk;
                    a[(size_t)q * d + k] = s * apk + c * aqk;
                }
                for (int k = 0; k < d; k++) {
                    double vkp = v[(size_t)k * d + p], vkq = v[(size_t)k * d + q];
                    v[(size_t)k * d + p] = c * vkp - s * vkq;
                    v[(size_t)k * d + q] = s * vkp + c * vkq;
                }
            }
    }
    for (int i = 0; i < d; i++) w[i] = a[(size_t)i * d + i];
    return CLG_OK;
}

/* out = V diag(f(w)) V^T. */
static void rebuild(const double *v, const double *w, int d, double *out) {
    memset(out, 0, (size_t)d * d * sizeof *out);
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double acc = 0;
            for (int k = 0; k < d; k++) acc += v[(size_t)i * d + k] * w[k] * v[(size_t)j * d + k];
            out[(size_t)i * d + j] = acc;
        }
}

static void matmul(const double *x, const double *y, int d, double *out) {
    for (int i = 0; i < d; i++)
        for (int j = 0; j < d; j++) {
            double acc = 0;
            for (int k = 0; k < d; k++) acc += x[(size_t)i * d + k] * y[(size_t)k * d + j];
            out[(size_t)i * d + j] = acc;
        }
}

clg_status clg_frechet_distance(const double *mu1, const double *cov1, const double *mu2,
                                const double *cov2, int d, double *fid) {
    if (d < 1) return clg_fail(CLG_ERR_INVALID_ARG, "FID of %d features", d);
    size_t dd = (size_t)d * d;
    double *a = malloc(dd * sizeof *a), *v = malloc(dd * sizeof *v), *w = malloc((size_t)d * sizeof *w);
    double *s1h = malloc(dd * sizeof *s1h), *t = malloc(dd * sizeof *t), *m = malloc(dd * sizeof *m);
    if (!a || !v || !w || !s1h || !t || !m) {
        free(a), free(v), free(w), free(s1h), free(t), free(m);
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory for a %dx%d FID", d, d);
    }
    /* S1^1/2, then M = S1^1/2 S2 S1^1/2 (symmetric PSD): Tr sqrt(M) is the
     * sum of the square roots of its eigenvalues. Tiny negative eigenvalues
     * from rounding are clamped to 0. */
    memcpy(a, cov1, dd * sizeof *a);
    clg_symmetric_eigen(a, d, w, v);
    for (int i = 0; i < d; i++) w[i] = sqrt(w[i] > 0 ? w[i] : 0);
    rebuild(v, w, d, s1h);
    matmul(s1h, cov2, d, t);
    matmul(t, s1h, d, m);
    for (int i = 0; i < d; i++) /* symmetrise away rounding */
        for (int j = i + 1; j < d; j++)
            m[(size_t)i * d + j] = m[(size_t)j * d + i] =
                0.5 * (m[(size_t)i * d + j] + m[(size_t)j * d + i]);
    clg_symmetric_eigen(m, d, w, v);
    double tr_sqrt = 0, tr1 = 0, tr2 = 0, dmu = 0;
    for (int i = 0; i < d; i++) {
        tr_sqrt += sqrt(w[i] > 0 ? w[i] : 0);
        tr1 += cov1[(size_t)i * d + i];
        tr2 += cov2[(size_t)i * d + i];
        dmu += (mu1[i] - mu2[i]) * (mu1[i] - mu2[i]);
    }
    *fid = dmu + tr1 + tr2 - 2 * tr_sqrt;
    free(a), free(v), free(w), free(s1h), free(t), free(m);
    return CLG_OK;
}

/* w . x over d features, four partial sums (independent add chains). */
static double dot_wx(const double *w, const float *x, int d) {
    double a0 = 0, a1 = 0, a2 = 0, a3 = 0;
    int j = 0;
    for (; j + 4 <= d; j += 4) {
        a0 += w[j] * x[j];
        a1 += w[j + 1] * x[j + 1];
        a2 += w[j + 2] * x[j + 2];
        a3 += w[j + 3] * x[j + 3];
    }
    for (; j < d; j++) a0 += w[j] * x[j];
    return (a0 + a1) + (a2 + a3);
}

/* Trains on the rows `rows[0..n)` of x (all rows 0..n-1 when rows is NULL).
 * The k one-vs-rest problems share each epoch's pass over the data (a row
 * stays in cache while every class updates on it); each stops on its own
 * once its largest projected gradient is below the tolerance. */
static clg_status svm_train_rows(clg_svm *svm, const float *x, const unsigned char *labels,
                                 const size_t *rows, size_t n, int d, int k, double c,
                                 int max_epochs) {
    memset(svm, 0, sizeof *svm);
    if (n == 0 || d < 1 || k < 2 || !(c > 0))
        return clg_fail(CLG_ERR_INVALID_ARG, "svm: %zu samples, %d features, %d classes, C %g", n,
                        d, k, c);
    int dp = d + 1; /* bias as a constant feature of value 1 */
    svm->k = k;
    svm->d = d;
    svm->w = calloc((size_t)k * dp, sizeof *svm->w);
    double *alpha = calloc(n * (size_t)k, sizeof *alpha), *qii = malloc(n * sizeof *qii);
    double *maxpg = malloc((size_t)k * sizeof *maxpg);
    size_t *order = malloc(n * sizeof *order);
    int *active = malloc((size_t)k * sizeof *active);
    if (!svm->w || !alpha || !qii || !order || !maxpg || !active) {
        free(alpha), free(qii), free(order), free(maxpg), free(active);
        clg_svm_free(svm);
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory for the SVM");
    }
    const double diag = 1.0 / (2.0 * c); /* the L2 loss's term in the dual */
    for (size_t t = 0; t < n; t++) {
        const float *xi = x + (rows ? rows[t] : t) * d;
        double s = 1.0;
        for (int j = 0; j < d; j++) s += (double)xi[j] * xi[j];
        qii[t] = s + diag;
        order[t] = t;
    }
    for (int cls = 0; cls < k; cls++) active[cls] = 1;
    uint64_t rng = 0x9E3779B97F4A7C15ULL;
    int left = k;
    for (int ep = 0; ep < max_epochs && left > 0; ep++) {
        for (size_t i = n - 1; i > 0; i--) { /* a fixed-seed shuffle per epoch */
            rng ^= rng << 13, rng ^= rng >> 7, rng ^= rng << 17;
            size_t j = (size_t)(rng % (i + 1)), tmp = order[i];
            order[i] = order[j], order[j] = tmp;
        }
        for (int cls = 0; cls < k; cls++) maxpg[cls] = 0;
        for (size_t t = 0; t < n; t++) {
            size_t i = order[t], row = rows ? rows[i] : i;
            const float *xi = x + row * d;
            for (int cls = 0; cls < k; cls++) {
                if (!active[cls]) continue;
                double *w = svm->w + (size_t)cls * dp, *a = alpha + i * (size_t)k + cls;
                double y = labels[row] == cls ? 1.0 : -1.0;
                double wx = w[d] + dot_wx(w, xi, d);
                double g = y * wx - 1.0 + diag * *a;
                double pg = *a == 0 ? (g < 0 ? g : 0) : g;
                if (fabs(pg) > maxpg[cls]) maxpg[cls] = fabs(pg);
                if (pg == 0) continue;
                double old = *a;
                *a = fmax(*a - g / qii[i], 0.0);
                double delta = (*a - old) * y;
                for (int j = 0; j < d; j++) w[j] += delta * xi[j];
                w[d] += delta;
            }
        }
        for (int cls = 0; cls < k; cls++)
            if (active[cls] && maxpg[cls] < 1e-3) /* LIBLINEAR's default tolerance scale */
                active[cls] = 0, left--;
    }
    free(alpha), free(qii), free(order), free(maxpg), free(active);
    return CLG_OK;
}

clg_status clg_svm_train(clg_svm *svm, const float *x, const unsigned char *labels, size_t n,
                         int d, int k, double c, int max_epochs) {
    return svm_train_rows(svm, x, labels, NULL, n, d, k, c, max_epochs);
}

clg_status clg_svm_select_c(const float *x, const unsigned char *labels, size_t n, int d, int k,
                            const double *grid, int ngrid, int max_epochs, double *best_c,
                            double *best_acc) {
    if (n < 10 || ngrid < 1)
        return clg_fail(CLG_ERR_INVALID_ARG, "svm: choosing C needs >= 10 rows and a grid (%zu, %d)",
                        n, ngrid);
    size_t nval = n / 10, nfit = n - nval;
    size_t *fit = malloc(nfit * sizeof *fit), *val = malloc(nval * sizeof *val);
    if (!fit || !val) {
        free(fit), free(val);
        return clg_fail(CLG_ERR_OUT_OF_MEMORY, "out of host memory for the SVM");
    }
    size_t a = 0, b = 0;
    for (size_t i = 0; i < n; i++) {
        if (i % 10 == 9 && b < nval) val[b++] = i;
        else fit[a++] = i;
    }
    clg_status rc = CLG_OK;
    *best_acc = -1.0;
    for (int g = 0; g < ngrid && rc == CLG_OK; g++) {
        clg_svm svm;
        rc = svm_train_rows(&svm, x, labels, fit, nfit, d, k, grid[g], max_epochs);
        if (rc != CLG_OK) break;
        size_t right = 0;
        for (size_t t = 0; t < nval; t++)
            right += clg_svm_predict(&svm, x + val[t] * d) == labels[val[t]];
        clg_svm_free(&svm);
        double acc = (double)right / (double)nval;
        if (acc > *best_acc) *best_acc = acc, *best_c = grid[g]; /* ties keep the earlier C */
    }
    free(fit), free(val);
    return rc;
}

int clg_svm_predict(const clg_svm *svm, const float *x) {
    int best = 0;
    double best_s = -INFINITY;
    for (int c = 0; c < svm->k; c++) {
        const double *w = svm->w + (size_t)c * (svm->d + 1);
        double s = w[svm->d] + dot_wx(w, x, svm->d);
        if (s > best_s) best_s = s, best = c;
    }
    return best;
}

void clg_svm_free(clg_svm *svm) {
    free(svm->w);
    memset(svm, 0, sizeof *svm);
}
