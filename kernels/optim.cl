/* optim.cl: optimiser steps over a whole parameter block in one launch.
 *
 * adam_step: PyTorch's Adam (L2 weight decay added to the gradient):
 *   g' = g + wd p;  m = b1 m + (1 - b1) g';  v = b2 v + (1 - b2) g'^2
 *   p -= step_size * m / (sqrt(v) / bc2_sqrt + eps)
 * with step_size = lr / (1 - b1^t) and bc2_sqrt = sqrt(1 - b2^t) from the host.
 * sgd_step: PyTorch's SGD with momentum (no dampening):
 *   g' = g + wd p;  buf = mu buf + g';  p -= lr buf
 * One element per work-item (grid-stride); p, g, m, v share one offset
 * because they are parallel blocks of the same layout. */

__kernel void adam_step(__global float *p, __global const float *g, __global float *m,
                        __global float *v, uint off, uint n, float step_size, float b1,
                        float b2, float eps, float bc2_sqrt, float wd) {
    CLG_FOR_EACH(i, n) {
        const uint k = off + i;
        const float gi = g[k] + wd * p[k];
        const float mi = b1 * m[k] + (1.0f - b1) * gi;
        const float vi = b2 * v[k] + (1.0f - b2) * gi * gi;
        m[k] = mi;
        v[k] = vi;
        p[k] -= step_size * mi / (sqrt(vi) / bc2_sqrt + eps);
    }
}

__kernel void sgd_step(__global float *p, __global const float *g, __global float *buf,
                       uint off, uint n, float lr, float mu, float wd) {
    CLG_FOR_EACH(i, n) {
        const uint k = off + i;
        const float gi = g[k] + wd * p[k];
        const float bi = mu * buf[k] + gi;
        buf[k] = bi;
        p[k] -= lr * bi;
    }
}
