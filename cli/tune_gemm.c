/* tune_gemm.c: `clgan tune --gemm`: time CLBlast's GEMM with the current
 * Xgemm parameters (CLBlast's own, or those stored before) and with each
 * candidate of host/gemm_tune.h on the GEMM shapes clgan runs, and store
 * the candidate with the best geometric-mean speed-up if it beats the
 * current parameters by more than 5%. */
#include "bench.h"
#include "elementwise.h"
#include "gemm.h"
#include "gemm_tune.h"

#include <math.h>
#include <stdio.h>

typedef struct {
    const char *what;
    int ta, tb;
    size_t m, n, k;
} gemm_shape;

/* Minibatch discrimination as host/mbd.c calls it (N 64, A 8192, B x C =
 * 500; both operands transposed): M^T = T^T f^T, df += dM T^T, dT += f^T dM;
 * the classifier's linear layer; the SGEMM roofline. */
static const gemm_shape shapes[] = {
    {"mbd M", 1, 1, 500, 64, 8192},
    {"mbd df", 1, 1, 64, 8192, 500},
    {"mbd dT", 1, 1, 8192, 500, 64},
    {"linear 256x1024->128", 0, 1, 256, 128, 1024},
    {"sgemm 1024", 0, 0, 1024, 1024, 1024},
};
#define NSHAPE (int)(sizeof shapes / sizeof shapes[0])

typedef struct {
    const gemm_shape *s;
    clg_tensor a, b, c;
} gemm_arg;

static clg_status gemm_op(clg_ctx *ctx, void *p) {
    gemm_arg *g = p;
    const gemm_shape *s = g->s;
    return clg_gemm(ctx, s->ta, s->tb, s->m, s->n, s->k, 1.0f, &g->a, s->ta ? s->m : s->k, &g->b,
                    s->tb ? s->k : s->n, 0.0f, &g->c, s->n, NULL);
}

/* Time every shape with the parameters in force; ms[i] per shape. */
static clg_status time_shapes(bench_state *st, gemm_arg *args, double *ms) {
    for (int i = 0; i < NSHAPE; i++) CLG_TRY(bench_time(st, gemm_op, &args[i], &ms[i]));
    return CLG_OK;
}

clg_status tune_gemm(bench_state *st) {
    clg_ctx *ctx = st->ctx;
    gemm_arg args[NSHAPE] = {{0}};
    double base[NSHAPE], ms[NSHAPE], best_score = 1.0;
    int best = -1;
    char text[96];
    clg_status rc = CLG_OK;
    for (int i = 0; i < NSHAPE; i++) {
        const gemm_shape *s = &shapes[i];
        args[i].s = s;
        CLG_TRY_GOTO(clg_tensor_create(ctx, &args[i].a, 1, (int)(s->m * s->k), 1, 1, "tune A"), done);
        CLG_TRY_GOTO(clg_tensor_create(ctx, &args[i].b, 1, (int)(s->k * s->n), 1, 1, "tune B"), done);
        CLG_TRY_GOTO(clg_tensor_create(ctx, &args[i].c, 1, (int)(s->m * s->n), 1, 1, "tune C"), done);
        CLG_TRY_GOTO(clg_fill(ctx, &args[i].a, 0.5f), done);
        CLG_TRY_GOTO(clg_fill(ctx, &args[i].b, 0.25f), done);
    }
    CLG_TRY_GOTO(time_shapes(st, args, base), done);
    printf("gemm %-26s", "current parameters");
    for (int i = 0; i < NSHAPE; i++) printf(" %9.3f", base[i]);
    printf(" ms  (%s", shapes[0].what);
    for (int i = 1; i < NSHAPE; i++) printf(" | %s", shapes[i].what);
    printf(")\n");
    for (int c = 0; c < clg_gemm_candidate_count(); c++) {
        const clg_gemm_params *p = clg_gemm_candidate(c);
        clg_gemm_params_format(p, text, sizeof text);
        if ((size_t)p->mdimc * (size_t)p->ndimc > ctx->dev.max_wg) {
            printf("gemm %-26s skipped: %d work-items per group, the device takes %zu\n", text,
                   p->mdimc * p->ndimc, ctx->dev.max_wg);
            continue;
        }
        CLG_TRY_GOTO(clg_gemm_override(ctx, p), done);
        if (time_shapes(st, args, ms) != CLG_OK) { /* e.g. CLBlast cannot build it here */
            printf("gemm %-26s skipped: %s\n", text, clg_last_error());
            clg_clear_error();
            continue;
        }
        double logsum = 0;
        for (int i = 0; i < NSHAPE; i++) logsum += log(base[i] / ms[i]);
        double score = exp(logsum / NSHAPE);
        printf("gemm %-26s", text);
        for (int i = 0; i < NSHAPE; i++) printf(" %9.3f", ms[i]);
        printf(" ms  %.2fx\n", score);
        fflush(stdout);
        if (score > best_score) best_score = score, best = c;
    }
    if (best >= 0 && best_score > 1.05) {
        const clg_gemm_params *p = clg_gemm_candidate(best);
        clg_gemm_params_format(p, text, sizeof text);
        printf("gemm -> Xgemm %s (%.2fx the current parameters)\n", text, best_score);
        CLG_TRY_GOTO(clg_gemm_override(ctx, p), done);
        CLG_TRY_GOTO(clg_gemm_tune_store(ctx, p), done);
    } else {
        printf("gemm -> keeping the current parameters (no candidate 5%% faster)\n");
        /* Candidates were applied while timing: put the current ones back. */
        int applied;
        CLG_TRY_GOTO(clg_gemm_tune_apply(ctx, &applied), done);
        if (!applied)
            printf("gemm    (CLBlast's defaults return in the next process)\n");
    }
done:
    for (int i = 0; i < NSHAPE; i++) {
        clg_tensor_free(ctx, &args[i].a);
        clg_tensor_free(ctx, &args[i].b);
        clg_tensor_free(ctx, &args[i].c);
    }
    return rc;
}
