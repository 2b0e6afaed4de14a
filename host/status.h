/* status.h: the status enum every clgan library function returns, and the
 * last-error message that says what failed and where.
 *
 * Library code (host/, models/) never prints or exits: it returns a status and
 * leaves a message (with the OpenCL/CLBlast code's name, the call and
 * file:line) for the caller, which is the CLI or a test. */
#ifndef CLG_STATUS_H
#define CLG_STATUS_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>

typedef enum {
    CLG_OK = 0,
    CLG_ERR_OPENCL,        /* an OpenCL call failed; the message names the code */
    CLG_ERR_CLBLAST,       /* a CLBlast call failed */
    CLG_ERR_BUILD,         /* a kernel program failed to build; message has the log */
    CLG_ERR_NO_DEVICE,     /* no OpenCL device, or none matches the request */
    CLG_ERR_INVALID_ARG,   /* a caller passed something out of range */
    CLG_ERR_OUT_OF_MEMORY, /* host or device allocation failed */
    CLG_ERR_IO,            /* a file could not be read or written */
    CLG_ERR_FORMAT,        /* a file is corrupt or not what it claims */
    CLG_ERR_UNSUPPORTED,   /* the device lacks something the call needs */
    CLG_ERR_DIVERGED,      /* training produced a non-finite loss */
    CLG_ERR_COMM,          /* a collective of the process group (MPI) failed */
    CLG_STATUS_COUNT
} clg_status;

const char *clg_status_to_string(clg_status s);
const char *clg_cl_error_name(cl_int code);

/* Record a message for the last error and return `s` (so callers write
 * `return clg_fail(CLG_ERR_IO, "cannot open %s", path);`). */
clg_status clg_fail(clg_status s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Append more context to the current message ("while building conv.cl"). */
void clg_error_context(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
const char *clg_last_error(void);
void clg_clear_error(void);

/* Check an OpenCL call; on failure record the expression, the code's name and
 * file:line, set rc and jump to the function's single cleanup label. */
#define CL_CHECK_GOTO(expr, label)                                              \
    do {                                                                        \
        cl_int clg_err_ = (expr);                                               \
        if (clg_err_ != CL_SUCCESS) {                                           \
            rc = clg_fail(clg_err_ == CL_MEM_OBJECT_ALLOCATION_FAILURE ||       \
                                  clg_err_ == CL_OUT_OF_HOST_MEMORY             \
                              ? CLG_ERR_OUT_OF_MEMORY : CLG_ERR_OPENCL,         \
                          "%s in %s at %s:%d", clg_cl_error_name(clg_err_),     \
                          #expr, __FILE__, __LINE__);                           \
            goto label;                                                         \
        }                                                                       \
    } while (0)

/* Same, returning the status directly (for functions with nothing to undo). */
#define CL_CHECK(expr)                                                          \
    do {                                                                        \
        cl_int clg_err_ = (expr);                                               \
        if (clg_err_ != CL_SUCCESS)                                             \
            return clg_fail(clg_err_ == CL_MEM_OBJECT_ALLOCATION_FAILURE ||     \
                                    clg_err_ == CL_OUT_OF_HOST_MEMORY           \
                                ? CLG_ERR_OUT_OF_MEMORY : CLG_ERR_OPENCL,       \
                            "%s in %s at %s:%d", clg_cl_error_name(clg_err_),   \
                            #expr, __FILE__, __LINE__);                         \
    } while (0)

/* Propagate a clgan status. */
#define CLG_TRY(expr)                                                           \
    do {                                                                        \
        clg_status clg_s_ = (expr);                                             \
        if (clg_s_ != CLG_OK) return clg_s_;                                    \
    } while (0)
#define CLG_TRY_GOTO(expr, label)                                               \
    do {                                                                        \
        rc = (expr);                                                            \
        if (rc != CLG_OK) goto label;                                           \
    } while (0)

#endif
