/* gemm_tune.h: CLBlast's Xgemm parameters for this device, chosen by
 * `clgan tune` and applied by the CLI after it creates a context (the
 * runtime below knows nothing of CLBlast's parameters).
 *
 * CLBlast ships tuned parameters for the devices in its database; others
 * (PoCL's CPU device among them) get defaults meant for GPUs, which on PoCL
 * run the GEMM shapes of minibatch discrimination 2 to 3 times slower than
 * the best candidate below. A choice is stored per device under the cache
 * directory as gemm-tune-<key>.txt (program.h: clg_device_file), one line:
 *   Xgemm MWG NWG KWG MDIMC NDIMC VWM VWN KWI
 * The rest is fixed: no local-memory staging (SA = SB = 0), MDIMA = MDIMC,
 * NDIMB = NDIMC, KREG = 1, GEMMK = 0, STRM = STRN = 0. Overrides are
 * process-wide in CLBlast (per device), so they last until replaced. */
#ifndef CLG_GEMM_TUNE_H
#define CLG_GEMM_TUNE_H

#include "runtime.h"

typedef struct {
    int mwg, nwg, kwg, mdimc, ndimc, vwm, vwn, kwi;
} clg_gemm_params;

/* The tuner's candidates (each valid for CLBlast's Xgemm constraints). */
int clg_gemm_candidate_count(void);
const clg_gemm_params *clg_gemm_candidate(int i);
void clg_gemm_params_format(const clg_gemm_params *p, char *buf, size_t cap);

/* Parse one "Xgemm MWG ..." line: 1 and *p when it parses and meets
 * Xgemm's constraints, else 0 (*p untouched). */
int clg_gemm_params_parse(const char *line, clg_gemm_params *p);

/* Make CLBlast compile single-precision Xgemm with p on ctx's device. */
clg_status clg_gemm_override(clg_ctx *ctx, const clg_gemm_params *p);

/* Store p as the device's choice (the file is rewritten atomically). */
clg_status clg_gemm_tune_store(clg_ctx *ctx, const clg_gemm_params *p);
/* Read the stored choice: *found = 0 when there is none (or no cache, or
 * an unparseable line: ignored). */
clg_status clg_gemm_tune_lookup(clg_ctx *ctx, clg_gemm_params *p, int *found);
/* Apply the stored choice, if any (the CLI's cli_ctx_create calls this
 * after clg_ctx_create). */
clg_status clg_gemm_tune_apply(clg_ctx *ctx, int *applied);

#endif
