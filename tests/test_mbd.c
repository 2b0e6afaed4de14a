/* test_mbd.c: minibatch discrimination against a plain C reference in
 * double.
 *
 * Forward: M = f T, o[i,b] = sum_{j != i} exp(-||M_ib - M_jb||_1) + bias[b],
 * out = [f, o], on batch 1 (o = bias), odd sizes, N not a multiple of the
 * kernel's vector width, the reference sizes (B, C) = (100, 5) and (300, 50),
 * C = 70 (above the backward's register sums), and batch 256. Identical rows must give o = N - 1 exactly, far-apart rows
 * o ~ 0.
 * Backward (loss = sum(w * out)): df, dT (accumulated onto non-zero values)
 * and dbias against central finite differences (h = 1e-9, so that no |.|
 * kink is crossed) of the double forward on small shapes, and against the
 * analytic double gradient (from the device's saved M) on the larger ones.
 * Tolerances, as max |got - ref| / max |ref| (clg_test_rel_err): forward
 * 2e-5; backward 1e-4. */
#include "testutil.h"
#include "elementwise.h"
#include "mbd.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    int n, a, b, c;
} mshape;

/* ---- double reference ---------------------------------------------------- */

static void ref_m(double *M, const double *f, const double *T, mshape s) {
    const int BC = s.b * s.c;
    for (int i = 0; i < s.n; i++)
        for (int k = 0; k < BC; k++) {
            double acc = 0.0;
            for (int a = 0; a < s.a; a++) acc += f[(size_t)i * s.a + a] * T[(size_t)a * BC + k];
            M[(size_t)i * BC + k] = acc;
        }
}

static double l1(const double *M, int i, int j, int b, mshape s) {
    const double *mi = M + ((size_t)i * s.b + b) * s.c, *mj = M + ((size_t)j * s.b + b) * s.c;
    double d = 0.0;
    for (int c = 0; c < s.c; c++) d += fabs(mi[c] - mj[c]);
    return d;
}

/* out (N, A+B); returns sum(w * out) when w is given. M: scratch (N, B*C). */
static double ref_forward(double *out, double *M, const double *f, const double *T,
                          const double *bias, const double *w, mshape s) {
    const int ld = s.a + s.b;
    ref_m(M, f, T, s);
    double loss = 0.0;
    for (int i = 0; i < s.n; i++) {
        for (int a = 0; a < s.a; a++) out[(size_t)i * ld + a] = f[(size_t)i * s.a + a];
        for (int b = 0; b < s.b; b++) {
            double o = bias ? bias[b] : 0.0;
            for (int j = 0; j < s.n; j++)
                if (j != i) o += exp(-l1(M, i, j, b, s));
            out[(size_t)i * ld + s.a + b] = o;
        }
        if (w)
            for (int k = 0; k < ld; k++) loss += w[(size_t)i * ld + k] * out[(size_t)i * ld + k];
    }
    return loss;
}

static double sgn(double x) { return (x > 0) - (x < 0); }

/* Analytic gradient of sum(w * out): df (N, A), dT (A, B*C), dbias (B), added
 * to. M is taken from `mdev` ((B*C, N), as the device's forward saved it):
 * |.| has kinks, and at batch 64 some pair of M values is closer than float
 * rounding, so a double M would take the other side of a kink there. */
static void ref_backward(double *df, double *dT, double *dbias, const double *f, const double *T,
                         const double *w, const float *mdev, mshape s) {
    const int BC = s.b * s.c, ld = s.a + s.b;
    double *M = calloc((size_t)s.n * BC, sizeof *M), *dM = calloc((size_t)s.n * BC, sizeof *dM);
    assert_non_null(M && dM);
    for (int i = 0; i < s.n; i++)
        for (int k = 0; k < BC; k++) M[(size_t)i * BC + k] = mdev[(size_t)k * s.n + i];
    for (int i = 0; i < s.n; i++)
        for (int b = 0; b < s.b; b++) {
            double doi = w[(size_t)i * ld + s.a + b];
            if (dbias) dbias[b] += doi;
            for (int j = 0; j < s.n; j++) {
                if (j == i) continue;
                double wt = (doi + w[(size_t)j * ld + s.a + b]) * exp(-l1(M, i, j, b, s));
                for (int c = 0; c < s.c; c++) {
                    size_t ki = ((size_t)i * s.b + b) * s.c + c, kj = ((size_t)j * s.b + b) * s.c + c;
                    dM[ki] -= wt * sgn(M[ki] - M[kj]);
                }
            }
        }
    for (int i = 0; i < s.n; i++)
        for (int a = 0; a < s.a; a++) {
            double acc = w[(size_t)i * ld + a];
            for (int k = 0; k < BC; k++) acc += dM[(size_t)i * BC + k] * T[(size_t)a * BC + k];
            df[(size_t)i * s.a + a] = acc;
        }
    for (int a = 0; a < s.a; a++)
        for (int k = 0; k < BC; k++) {
            double acc = 0.0;
            for (int i = 0; i < s.n; i++) acc += f[(size_t)i * s.a + a] * dM[(size_t)i * BC + k];
            dT[(size_t)a * BC + k] += acc;
        }
    free(M), free(dM);
}

/* ---- helpers ------------------------------------------------------------- */

static float *rand_floats(size_t n, uint64_t seed, float lo, float hi) {
    float *x = malloc(n * sizeof *x);
    assert_non_null(x);
    clg_test_fill_uniform(x, n, seed, lo, hi);
    return x;
}

static double *to_double(const float *x, size_t n) {
    double *d = malloc(n * sizeof *d);
    assert_non_null(d);
    for (size_t i = 0; i < n; i++) d[i] = x[i];
    return d;
}

static float *download(clg_ctx *ctx, const clg_tensor *t) {
    float *h = malloc(clg_tensor_bytes(t));
    assert_non_null(h);
    CLG_ASSERT_OK(clg_tensor_download(ctx, t, h));
    return h;
}

/* T scaled so that the L1 distances are O(1) whatever A and C. */
static float *make_t(mshape s, uint64_t seed) {
    float r = 2.0f / (sqrtf((float)s.a) * (float)s.c);
    return rand_floats((size_t)s.a * s.b * s.c, seed, -r, r);
}

/* Runs the forward on host f, T, bias (bias may be NULL); returns out. */
static float *run_forward(clg_ctx *ctx, mshape s, const float *f, const float *T,
                          const float *bias) {
    const int BC = s.b * s.c;
    clg_tensor tf = clg_test_tensor(ctx, s.n, s.a, 1, 1, f);
    clg_tensor tt = clg_test_tensor(ctx, s.a, BC, 1, 1, T);
    clg_tensor tb = clg_test_tensor(ctx, 1, s.b, 1, 1, bias);
    clg_tensor to = clg_test_tensor(ctx, s.n, s.a + s.b, 1, 1, NULL);
    clg_tensor tm = clg_test_tensor(ctx, BC, s.n, 1, 1, NULL);
    clg_tensor tmn = clg_test_tensor(ctx, s.n, BC, 1, 1, NULL);
    CLG_ASSERT_OK(clg_mbd_forward(ctx, &to, &tm, &tmn, &tf, &tt, bias ? &tb : NULL, s.b, s.c));
    float *out = download(ctx, &to);
    clg_tensor_free(ctx, &tf), clg_tensor_free(ctx, &tt), clg_tensor_free(ctx, &tb);
    clg_tensor_free(ctx, &to), clg_tensor_free(ctx, &tm), clg_tensor_free(ctx, &tmn);
    return out;
}

static void check_forward(clg_ctx *ctx, mshape s, int with_bias) {
    const size_t nf = (size_t)s.n * s.a, nt = (size_t)s.a * s.b * s.c;
    const size_t no = (size_t)s.n * (s.a + s.b);
    float *f = rand_floats(nf, 1 + nf, -1, 1), *T = make_t(s, 2 + nt);
    float *bias = rand_floats((size_t)s.b, 3, -0.5f, 0.5f);
    float *out = run_forward(ctx, s, f, T, with_bias ? bias : NULL);
    double *fd = to_double(f, nf), *Td = to_double(T, nt), *bd = to_double(bias, (size_t)s.b);
    double *ref = malloc(no * sizeof *ref), *M = malloc((size_t)s.n * s.b * s.c * sizeof *M);
    assert_non_null(ref && M);
    ref_forward(ref, M, fd, Td, with_bias ? bd : NULL, NULL, s);
    CLG_ASSERT_CLOSE(out, ref, no, 2e-5);
    free(f), free(T), free(bias), free(out), free(fd), free(Td), free(bd), free(ref), free(M);
}

static const mshape small_shapes[] = {
    {1, 3, 2, 1},   /* batch 1: o is the bias alone */
    {7, 5, 3, 5},   /* odd, N below the vector width */
    {13, 9, 4, 3},  /* one vector of examples and a tail */
    {16, 4, 2, 50}, /* C = 50 */
    {9, 3, 2, 70},  /* C above the backward's register sums (MBD_CMAX = 64) */
};

static void test_forward_shapes(void **state) {
    for (size_t i = 0; i < sizeof small_shapes / sizeof *small_shapes; i++) {
        check_forward(*state, small_shapes[i], 1);
        check_forward(*state, small_shapes[i], 0);
    }
}

static void test_forward_reference_sizes(void **state) {
    if (clg_test_small()) {
        check_forward(*state, (mshape){21, 8, 100, 5}, 1);
        return;
    }
    check_forward(*state, (mshape){64, 32, 100, 5}, 1);
    check_forward(*state, (mshape){37, 16, 300, 50}, 1);
    check_forward(*state, (mshape){256, 8, 100, 5}, 0);
}

/* Identical rows: every c_b = exp(0) = 1, so o = N - 1 exactly. */
static void test_identical_rows(void **state) {
    static const int ns[] = {1, 2, 19, 256};
    for (size_t k = 0; k < sizeof ns / sizeof *ns; k++) {
        if (clg_test_small() && ns[k] > 32) continue;
        mshape s = {ns[k], 6, 7, 5};
        float *row = rand_floats((size_t)s.a, 5, -1, 1);
        float *f = malloc((size_t)s.n * s.a * sizeof *f), *T = make_t(s, 6);
        assert_non_null(f);
        for (int i = 0; i < s.n; i++) memcpy(f + (size_t)i * s.a, row, (size_t)s.a * sizeof *f);
        float *out = run_forward(*state, s, f, T, NULL);
        for (int i = 0; i < s.n; i++) {
            for (int a = 0; a < s.a; a++) assert_true(out[(size_t)i * (s.a + s.b) + a] == row[a]);
            for (int b = 0; b < s.b; b++)
                assert_true(out[(size_t)i * (s.a + s.b) + s.a + b] == (float)(s.n - 1));
        }
        free(row), free(f), free(T), free(out);
    }
}

/* Far-apart rows: L1 distances in the hundreds, so o ~ 0. */
static void test_far_rows(void **state) {
    mshape s = {clg_test_small() ? 12 : 64, 4, 5, 5};
    float *f = calloc((size_t)s.n * s.a, sizeof *f), *T = malloc((size_t)s.a * s.b * s.c * sizeof *T);
    assert_non_null(f && T);
    for (int i = 0; i < s.n; i++) f[(size_t)i * s.a] = 100.0f * (float)i; /* feature 0 only */
    for (size_t k = 0; k < (size_t)s.a * s.b * s.c; k++) T[k] = 1.0f;
    float *out = run_forward(*state, s, f, T, NULL);
    for (int i = 0; i < s.n; i++)
        for (int b = 0; b < s.b; b++) {
            float o = out[(size_t)i * (s.a + s.b) + s.a + b];
            assert_true(o >= 0.0f && o < 1e-30f);
        }
    free(f), free(T), free(out);
}

/* ---- backward ------------------------------------------------------------ */

static void check_backward(clg_ctx *ctx, mshape s, int with_bias, int fd) {
    const int BC = s.b * s.c, ld = s.a + s.b;
    const size_t nf = (size_t)s.n * s.a, nt = (size_t)s.a * BC, no = (size_t)s.n * ld;
    float *f = rand_floats(nf, 11 + nf, -1, 1), *T = make_t(s, 12 + nt);
    float *bias = rand_floats((size_t)s.b, 13, -0.5f, 0.5f), *w = rand_floats(no, 14, -1, 1);
    float *dt0 = rand_floats(nt, 15, -0.1f, 0.1f), *db0 = rand_floats((size_t)s.b, 16, -1, 1);
    clg_tensor tf = clg_test_tensor(ctx, s.n, s.a, 1, 1, f), tt = clg_test_tensor(ctx, s.a, BC, 1, 1, T);
    clg_tensor tb = clg_test_tensor(ctx, 1, s.b, 1, 1, bias), tw = clg_test_tensor(ctx, s.n, ld, 1, 1, w);
    clg_tensor to = clg_test_tensor(ctx, s.n, ld, 1, 1, NULL), tm = clg_test_tensor(ctx, BC, s.n, 1, 1, NULL);
    clg_tensor tdm = clg_test_tensor(ctx, BC, s.n, 1, 1, NULL);
    clg_tensor tmn = clg_test_tensor(ctx, s.n, BC, 1, 1, NULL);
    clg_tensor tdf = clg_test_tensor(ctx, s.n, s.a, 1, 1, NULL);
    clg_tensor tdt = clg_test_tensor(ctx, s.a, BC, 1, 1, dt0);
    clg_tensor tdb = clg_test_tensor(ctx, 1, s.b, 1, 1, db0);
    const clg_tensor *pb = with_bias ? &tb : NULL, *pdb = with_bias ? &tdb : NULL;
    CLG_ASSERT_OK(clg_mbd_forward(ctx, &to, &tm, &tmn, &tf, &tt, pb, s.b, s.c));
    CLG_ASSERT_OK(
        clg_mbd_backward(ctx, &tdf, &tdt, pdb, &tdm, &tmn, &tw, &tf, &tt, &tm, s.b, s.c));
    float *df = download(ctx, &tdf), *dt = download(ctx, &tdt), *db = download(ctx, &tdb);

    double *fd_ = to_double(f, nf), *Td = to_double(T, nt), *bd = to_double(bias, (size_t)s.b);
    double *wd = to_double(w, no);
    double *rdf = calloc(nf, sizeof *rdf), *rdt = to_double(dt0, nt);
    double *rdb = to_double(db0, (size_t)s.b);
    assert_non_null(rdf);
    if (fd) {
        /* Central differences of sum(w * out) in double; a step this small
         * crosses no |.| kink on these shapes (1e-6 would, with C = 50). */
        const double h = 1e-9;
        double *out = malloc(no * sizeof *out), *M = malloc((size_t)s.n * BC * sizeof *M);
        assert_non_null(out && M);
        struct {
            double *v, *g;
            size_t n;
        } ps[] = {{fd_, rdf, nf}, {Td, rdt, nt}, {bd, rdb, with_bias ? (size_t)s.b : 0}};
        for (size_t p = 0; p < 3; p++)
            for (size_t i = 0; i < ps[p].n; i++) {
                double v0 = ps[p].v[i];
                ps[p].v[i] = v0 + h;
                double lp = ref_forward(out, M, fd_, Td, with_bias ? bd : NULL, wd, s);
                ps[p].v[i] = v0 - h;
                double lm = ref_forward(out, M, fd_, Td, with_bias ? bd : NULL, wd, s);
                ps[p].v[i] = v0;
                ps[p].g[i] += (lp - lm) / (2.0 * h);
            }
        free(out), free(M);
    } else {
        float *mdev = download(ctx, &tm);
        ref_backward(rdf, rdt, with_bias ? rdb : NULL, fd_, Td, wd, mdev, s);
        free(mdev);
    }
    CLG_ASSERT_CLOSE(df, rdf, nf, 1e-4);
    CLG_ASSERT_CLOSE(dt, rdt, nt, 1e-4);
    CLG_ASSERT_CLOSE(db, rdb, (size_t)s.b, 1e-4);
    clg_tensor *ts[] = {&tf, &tt, &tb, &tw, &to, &tm, &tdm, &tmn, &tdf, &tdt, &tdb};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
    free(f), free(T), free(bias), free(w), free(dt0), free(db0), free(df), free(dt), free(db);
    free(fd_), free(Td), free(bd), free(wd), free(rdf), free(rdt), free(rdb);
}

static void test_backward_fd(void **state) {
    for (size_t i = 0; i < sizeof small_shapes / sizeof *small_shapes; i++) {
        check_backward(*state, small_shapes[i], 1, 1);
        check_backward(*state, small_shapes[i], 0, 1);
    }
}

static void test_backward_reference_sizes(void **state) {
    if (clg_test_small()) {
        check_backward(*state, (mshape){21, 8, 100, 5}, 1, 0);
        return;
    }
    check_backward(*state, (mshape){64, 32, 100, 5}, 1, 0);
    check_backward(*state, (mshape){37, 16, 300, 50}, 1, 0);
    check_backward(*state, (mshape){256, 8, 100, 5}, 0, 0);
}

static void test_invalid_args(void **state) {
    clg_ctx *ctx = *state;
    clg_tensor f = clg_test_tensor(ctx, 4, 3, 1, 1, NULL), t = clg_test_tensor(ctx, 3, 10, 1, 1, NULL);
    clg_tensor out = clg_test_tensor(ctx, 4, 5, 1, 1, NULL), m = clg_test_tensor(ctx, 10, 4, 1, 1, NULL);
    clg_tensor bad = clg_test_tensor(ctx, 4, 4, 1, 1, NULL), mn = clg_test_tensor(ctx, 4, 10, 1, 1, NULL);
    CLG_ASSERT_OK(clg_fill(ctx, &f, 0.5f)); /* the valid call reads them */
    CLG_ASSERT_OK(clg_fill(ctx, &t, 0.25f));
    /* B = 2, C = 5 fits; out of the wrong width does not */
    CLG_ASSERT_OK(clg_mbd_forward(ctx, &out, &m, &mn, &f, &t, NULL, 2, 5));
    assert_int_equal(clg_mbd_forward(ctx, &bad, &m, &mn, &f, &t, NULL, 2, 5), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "out has"));
    /* T that does not match B*C */
    assert_int_equal(clg_mbd_forward(ctx, &out, &m, &mn, &f, &t, NULL, 2, 4), CLG_ERR_INVALID_ARG);
    /* a scratch of the wrong size */
    assert_int_equal(clg_mbd_forward(ctx, &out, &m, &bad, &f, &t, NULL, 2, 5), CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "mn has"));
    /* df sharing dout's buffer */
    clg_tensor df = clg_tensor_slice(&out, 0, 4, 3, 1, 1);
    assert_int_equal(clg_mbd_backward(ctx, &df, &t, NULL, &m, &mn, &out, &f, &t, &m, 2, 5),
                     CLG_ERR_INVALID_ARG);
    assert_non_null(strstr(clg_last_error(), "must not share"));
    clg_tensor *ts[] = {&f, &t, &out, &m, &bad, &mn};
    for (size_t i = 0; i < sizeof ts / sizeof *ts; i++) clg_tensor_free(ctx, ts[i]);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forward_shapes),  cmocka_unit_test(test_forward_reference_sizes),
        cmocka_unit_test(test_identical_rows),  cmocka_unit_test(test_far_rows),
        cmocka_unit_test(test_backward_fd),     cmocka_unit_test(test_backward_reference_sizes),
        cmocka_unit_test(test_invalid_args),
    };
    return cmocka_run_group_tests_name("mbd", tests, clg_test_group_setup,
                                       clg_test_group_teardown);
}
