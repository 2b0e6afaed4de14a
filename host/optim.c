/* optim.c: host wrappers for kernels/optim.cl. */
#include "optim.h"
#include "elementwise.h"

#include <math.h>

clg_adam clg_adam_default(void) {
    clg_adam a = {2e-4f, 0.5f, 0.999f, 1e-8f, 0.0f, 0};
    return a;
}

/* p, g and the state tensors must share buffer layout: same offset. */
static clg_status check_parallel(const char *op, const clg_tensor *p, const clg_tensor *g,
                                 const clg_tensor *m, const clg_tensor *v) {
    CLG_TRY(clg_check_numel(op, p, g));
    CLG_TRY(clg_check_numel(op, p, m));
    if (v) CLG_TRY(clg_check_numel(op, p, v));
    if (g->off != p->off || m->off != p->off || (v && v->off != p->off))
        return clg_fail(CLG_ERR_INVALID_ARG,
                        "%s: parameters, gradients and moments must sit at the same offset "
                        "of parallel blocks",
                        op);
    return CLG_OK;
}

clg_status clg_adam_step(clg_ctx *ctx, clg_adam *opt, const clg_tensor *p, const clg_tensor *g,
                         const clg_tensor *m, const clg_tensor *v) {
    CLG_TRY(check_parallel("adam", p, g, m, v));
    if (!(opt->lr > 0) || !(opt->beta1 >= 0 && opt->beta1 < 1) ||
        !(opt->beta2 >= 0 && opt->beta2 < 1) || !(opt->eps > 0))
        return clg_fail(CLG_ERR_INVALID_ARG, "adam: bad settings lr=%g beta1=%g beta2=%g eps=%g",
                        opt->lr, opt->beta1, opt->beta2, opt->eps);
    opt->step++;
    double t = (double)opt->step;
    cl_float step_size = (cl_float)(opt->lr / (1.0 - pow(opt->beta1, t)));
    cl_float bc2 = (cl_float)sqrt(1.0 - pow(opt->beta2, t));
    cl_float b1 = opt->beta1, b2 = opt->beta2, eps = opt->eps, wd = opt->weight_decay;
    cl_uint n = (cl_uint)clg_tensor_numel(p);
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, "optim", NULL, "adam_step", &k));
    /* One offset for all four (check_parallel). */
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(p->buf), CLG_ARG(g->buf), CLG_ARG(m->buf), CLG_ARG(v->buf),
                         CLG_TENSOR_OFF(p), CLG_ARG(n), CLG_ARG(step_size), CLG_ARG(b1),
                         CLG_ARG(b2), CLG_ARG(eps), CLG_ARG(bc2), CLG_ARG(wd)));
    return clg_launch_flat(ctx, k, n, NULL);
}

clg_status clg_sgd_step(clg_ctx *ctx, const clg_tensor *p, const clg_tensor *g,
                        const clg_tensor *buf, float lr, float mu, float weight_decay) {
    CLG_TRY(check_parallel("sgd", p, g, buf, NULL));
    cl_float flr = lr, fmu = mu, fwd = weight_decay;
    cl_uint n = (cl_uint)clg_tensor_numel(p);
    cl_kernel k;
    CLG_TRY(clg_kernel_get(ctx, "optim", NULL, "sgd_step", &k));
    CLG_TRY(CLG_SET_ARGS(k, CLG_ARG(p->buf), CLG_ARG(g->buf), CLG_ARG(buf->buf), CLG_TENSOR_OFF(p),
                         CLG_ARG(n), CLG_ARG(flr), CLG_ARG(fmu), CLG_ARG(fwd)));
    return clg_launch_flat(ctx, k, n, NULL);
}
