/* softmax.cl: row-wise softmax and log-softmax of a (rows, cols) row-major
 * matrix (an NCHW tensor with rows = N, cols = C*H*W).
 *
 * One work-group per row; its work-items stride over the row's columns
 * (j = lid, lid + ls, ...), so rows of any length work with any local size
 * (a power of two, for clg_group_max / clg_group_sum). Passes over the row:
 *   1. m = max_j x[j]
 *   2. s = sum_j exp(x[j] - m)   (softmax also stores e = exp(x[j] - m) in y)
 *   3. softmax: y[j] = e * (1 / s); log-softmax: y[j] = (x[j] - m) - log(s)
 * Subtracting m keeps exp's argument <= 0: no overflow for any finite input.
 * Softmax stores e in pass 2 rather than calling exp twice (25-35% faster
 * on PoCL; one more read and write of a row that is usually in cache).
 * Each work-item touches only its own columns, and pass 1 ends in the
 * reduction's barrier before any write, so out == in (in place) is safe. */

__kernel void softmax_fwd(__global float *out, uint out_off,
                          __global const float *in, uint in_off,
                          uint cols, uint log_mode, __local float *scratch) {
    const uint lid = (uint)get_local_id(0), ls = (uint)get_local_size(0);
    /* uint is enough: the host checks offset + rows * cols < 2^32 */
    const uint row = (uint)get_group_id(0);
    __global const float *x = in + in_off + row * cols;
    __global float *y = out + out_off + row * cols;

    float m = -INFINITY;
    for (uint j = lid; j < cols; j += ls) m = fmax(m, x[j]);
    m = clg_group_max(m, scratch);

    float s = 0.0f;
    if (log_mode) {
        for (uint j = lid; j < cols; j += ls) s += exp(x[j] - m);
    } else {
        for (uint j = lid; j < cols; j += ls) {
            const float e = exp(x[j] - m);
            y[j] = e;
            s += e;
        }
    }
    s = clg_group_sum(s, scratch);

    if (log_mode) {
        const float lse = log(s);
        for (uint j = lid; j < cols; j += ls) y[j] = (x[j] - m) - lse;
    } else {
        const float inv = 1.0f / s;
        for (uint j = lid; j < cols; j += ls) y[j] *= inv;
    }
}
