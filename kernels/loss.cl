/* loss.cl: losses on logits, as forward (mean loss + a logging statistic)
 * and backward (gradient of the mean loss) kernels.
 *
 * BCE with logits, target t (1 real, 0 fake, 0.9 for one-sided smoothing):
 *   l = max(x, 0) - x t + log(1 + exp(-|x|))      dl/dx = sigmoid(x) - t
 * Softmax cross-entropy over K classes with integer labels:
 *   l = logsumexp(x) - x[label]                   dl/dx = softmax(x) - onehot
 * Forward kernels run as ONE work-group (power-of-two local size) that loops
 * over the rows and reduces with clg_group_sum; losses are batch means, so
 * the rows are few (a minibatch). Backward kernels are one row or element
 * per work-item. */

float clg_sigmoid(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    const float e = exp(x);
    return e / (1.0f + e);
}

/* stats[0..1] = the work-group's sums of a and b, each divided by n: the
 * forward kernels' batch means (every work-item calls it: barriers). */
void write_means(__global float *stats, uint off, float a, float b, uint n,
                 __local float *scratch) {
    a = clg_group_sum(a, scratch);
    b = clg_group_sum(b, scratch);
    if (get_local_id(0) == 0) {
        stats[off] = a / (float)n;
        stats[off + 1] = b / (float)n;
    }
}

/* stats[0] = mean loss, stats[1] = mean sigmoid(x) (D's mean output). */
__kernel void bce_logits_fwd(__global float *stats, uint stats_off, __global const float *x,
                             uint x_off, uint n, float target, __local float *scratch) {
    float l = 0.0f, p = 0.0f;
    for (uint i = (uint)get_local_id(0); i < n; i += (uint)get_local_size(0)) {
        const float xi = x[x_off + i];
        l += fmax(xi, 0.0f) - xi * target + log1p(exp(-fabs(xi)));
        p += clg_sigmoid(xi);
    }
    write_means(stats, stats_off, l, p, n, scratch);
}

/* dx = (sigmoid(x) - target) / n: the gradient of the mean loss. */
__kernel void bce_logits_bwd(__global float *dx, uint dx_off, __global const float *x,
                             uint x_off, uint n, float target) {
    CLG_FOR_EACH(i, n) dx[dx_off + i] = (clg_sigmoid(x[x_off + i]) - target) / (float)n;
}

/* Row i of (n, k) logits: its max and log-sum-exp. */
void row_lse(__global const float *x, uint k, float *mx, float *lse) {
    float m = x[0];
    for (uint j = 1; j < k; j++) m = fmax(m, x[j]);
    float s = 0.0f;
    for (uint j = 0; j < k; j++) s += exp(x[j] - m);
    *mx = m;
    *lse = m + log(s);
}

/* stats[0] = mean cross-entropy, stats[1] = accuracy (argmax == label). */
__kernel void xent_fwd(__global float *stats, uint stats_off, __global const float *x,
                       uint x_off, __global const int *labels, uint y_off, uint n, uint k,
                       __local float *scratch) {
    float l = 0.0f, hits = 0.0f;
    for (uint i = (uint)get_local_id(0); i < n; i += (uint)get_local_size(0)) {
        __global const float *row = x + x_off + (size_t)i * k;
        float mx, lse;
        row_lse(row, k, &mx, &lse);
        const int y = labels[y_off + i];
        if (y < 0 || (uint)y >= k) continue; /* the host checks labels; never read outside */
        l += lse - row[y];
        uint arg = 0;
        for (uint j = 1; j < k; j++)
            if (row[j] > row[arg]) arg = j;
        hits += (arg == (uint)y) ? 1.0f : 0.0f;
    }
    write_means(stats, stats_off, l, hits, n, scratch);
}

/* dx = (softmax(x) - onehot(label)) / n, one row per work-item. */
__kernel void xent_bwd(__global float *dx, uint dx_off, __global const float *x, uint x_off,
                       __global const int *labels, uint y_off, uint n, uint k) {
    CLG_FOR_EACH(i, n) {
        __global const float *row = x + x_off + (size_t)i * k;
        __global float *drow = dx + dx_off + (size_t)i * k;
        float mx, lse;
        row_lse(row, k, &mx, &lse);
        const int y = labels[y_off + i];
        for (uint j = 0; j < k; j++)
            drow[j] = (exp(row[j] - lse) - ((int)j == y ? 1.0f : 0.0f)) / (float)n;
    }
}

/* The K+1 discriminator of Salimans et al. (semi-supervised learning): K
 * class logits l, class K+1's fixed at 0, so D(x) = Z / (Z + 1) with
 * Z = sum_k exp(l_k), i.e. D(x) = sigmoid(lse(l)). Its binary cross-entropy
 * against target t (1: a real unlabelled image, 0: a generated one) is
 *   softplus(lse) - t lse       d/dl_k = (sigmoid(lse) - t) softmax_k,
 * stable for logits of any size: lse from the row's max, softplus as
 * max(s, 0) + log1p(exp(-|s|)). stats[0] = mean loss, stats[1] = mean D(x). */
__kernel void lse_bce_fwd(__global float *stats, uint stats_off, __global const float *x,
                          uint x_off, uint n, uint k, float target, __local float *scratch) {
    float l = 0.0f, p = 0.0f;
    for (uint i = (uint)get_local_id(0); i < n; i += (uint)get_local_size(0)) {
        float mx, lse;
        row_lse(x + x_off + (size_t)i * k, k, &mx, &lse);
        l += fmax(lse, 0.0f) + log1p(exp(-fabs(lse))) - target * lse;
        p += clg_sigmoid(lse);
    }
    write_means(stats, stats_off, l, p, n, scratch);
}

/* dx = scale (sigmoid(lse) - target) softmax(x) / n, one row per work-item:
 * the gradient of scale x the mean loss. */
__kernel void lse_bce_bwd(__global float *dx, uint dx_off, __global const float *x, uint x_off,
                          uint n, uint k, float target, float scale) {
    CLG_FOR_EACH(i, n) {
        __global const float *row = x + x_off + (size_t)i * k;
        __global float *drow = dx + dx_off + (size_t)i * k;
        float mx, lse;
        row_lse(row, k, &mx, &lse);
        const float g = scale * (clg_sigmoid(lse) - target) / (float)n;
        for (uint j = 0; j < k; j++) drow[j] = g * exp(row[j] - lse);
    }
}
