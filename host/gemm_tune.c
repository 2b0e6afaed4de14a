/* gemm_tune.c: stored CLBlast Xgemm parameters (see gemm_tune.h). */
#include "gemm_tune.h"
#include "gemm.h"
#include "program.h"

#include <clblast_c.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* MWG NWG KWG MDIMC NDIMC VWM VWN KWI. MWG % (MDIMC VWM) = NWG % (NDIMC VWN)
 * = 0 and KWG divisible by MDIMC, NDIMC and KWI, as Xgemm requires. */
static const clg_gemm_params candidates[] = {
    {64, 64, 16, 8, 8, 4, 4, 2},    {64, 64, 32, 8, 8, 4, 4, 2},   {64, 64, 32, 8, 8, 8, 8, 2},
    {64, 32, 32, 8, 8, 8, 4, 2},    {64, 128, 32, 8, 16, 8, 8, 2}, {128, 64, 32, 16, 8, 8, 8, 2},
    {128, 128, 32, 16, 16, 8, 8, 2}, {32, 128, 32, 8, 16, 4, 8, 2},
};
#define NCAND (int)(sizeof candidates / sizeof candidates[0])

int clg_gemm_candidate_count(void) { return NCAND; }

const clg_gemm_params *clg_gemm_candidate(int i) {
    return i >= 0 && i < NCAND ? &candidates[i] : NULL;
}

void clg_gemm_params_format(const clg_gemm_params *p, char *buf, size_t cap) {
    snprintf(buf, cap, "%d %d %d %d %d %d %d %d", p->mwg, p->nwg, p->kwg, p->mdimc, p->ndimc,
             p->vwm, p->vwn, p->kwi);
}

static int valid(const clg_gemm_params *p) {
    const int *v = &p->mwg;
    for (int i = 0; i < 8; i++)
        if (v[i] < 1 || v[i] > 256) return 0;
    return p->mwg % (p->mdimc * p->vwm) == 0 && p->nwg % (p->ndimc * p->vwn) == 0 &&
           p->kwg % p->mdimc == 0 && p->kwg % p->ndimc == 0 && p->kwg % p->kwi == 0;
}

clg_status clg_gemm_override(clg_ctx *ctx, const clg_gemm_params *p) {
    char text[96];
    clg_gemm_params_format(p, text, sizeof text);
    if (!valid(p))
        return clg_fail(CLG_ERR_INVALID_ARG, "gemm: Xgemm parameters %s break its constraints",
                        text);
    static const char *names[16] = {"GEMMK", "KREG", "KWG",  "KWI", "MDIMA", "MDIMC",
                                    "MWG",   "NDIMB", "NDIMC", "NWG", "SA",    "SB",
                                    "STRM",  "STRN", "VWM",  "VWN"};
    const size_t values[16] = {0, 1, (size_t)p->kwg, (size_t)p->kwi, (size_t)p->mdimc,
                               (size_t)p->mdimc, (size_t)p->mwg, (size_t)p->ndimc,
                               (size_t)p->ndimc, (size_t)p->nwg, 0, 0, 0, 0,
                               (size_t)p->vwm, (size_t)p->vwn};
    CLBlastStatusCode st = CLBlastOverrideParameters(ctx->dev.device, "Xgemm",
                                                     CLBlastPrecisionSingle, 16, names, values);
    if (st != CLBlastSuccess)
        return clg_fail(CLG_ERR_CLBLAST, "%s overriding CLBlast's Xgemm parameters (%s) on %s",
                        clg_clblast_status_name(st), text, ctx->dev.name);
    return CLG_OK;
}

clg_status clg_gemm_tune_store(clg_ctx *ctx, const clg_gemm_params *p) {
    char path[4096], tmp[4200], text[96];
    CLG_TRY(clg_device_file(ctx, "gemm-tune", path, sizeof path));
    if (!path[0]) return CLG_OK; /* cache disabled */
    if (!valid(p)) return clg_fail(CLG_ERR_INVALID_ARG, "gemm: refusing to store invalid parameters");
    char dir[4000];
    CLG_TRY(clg_cache_dir(dir, sizeof dir));
    CLG_TRY(clg_mkdir_p(dir));
    clg_gemm_params_format(p, text, sizeof text);
    snprintf(tmp, sizeof tmp, "%s.tmp%ld", path, (long)getpid());
    FILE *f = fopen(tmp, "w");
    if (!f) return clg_fail(CLG_ERR_IO, "cannot write %s", tmp);
    int bad = fprintf(f, "Xgemm %s\n", text) < 0;
    bad |= fclose(f) != 0;
    if (bad || rename(tmp, path) != 0) {
        remove(tmp);
        return clg_fail(CLG_ERR_IO, "cannot write %s", path);
    }
    return CLG_OK;
}

int clg_gemm_params_parse(const char *line, clg_gemm_params *p) {
    clg_gemm_params q;
    if (sscanf(line, "Xgemm %d %d %d %d %d %d %d %d", &q.mwg, &q.nwg, &q.kwg, &q.mdimc,
               &q.ndimc, &q.vwm, &q.vwn, &q.kwi) != 8 || !valid(&q))
        return 0;
    *p = q;
    return 1;
}

clg_status clg_gemm_tune_lookup(clg_ctx *ctx, clg_gemm_params *p, int *found) {
    char path[4096], line[256];
    *found = 0;
    CLG_TRY(clg_device_file(ctx, "gemm-tune", path, sizeof path));
    if (!path[0]) return CLG_OK;
    FILE *f = fopen(path, "r");
    if (!f) return CLG_OK; /* nothing tuned */
    if (fgets(line, sizeof line, f) && clg_gemm_params_parse(line, p)) *found = 1;
    fclose(f);
    return CLG_OK;
}

clg_status clg_gemm_tune_apply(clg_ctx *ctx, int *applied) {
    clg_gemm_params p;
    int found;
    if (applied) *applied = 0;
    CLG_TRY(clg_gemm_tune_lookup(ctx, &p, &found));
    if (!found) return CLG_OK;
    CLG_TRY(clg_gemm_override(ctx, &p));
    if (applied) *applied = 1;
    return CLG_OK;
}
