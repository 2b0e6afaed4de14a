/* status.c: status names, OpenCL error names and the last-error message. */
#include "status.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Build logs can be long; keep the whole of a typical one. */
#define CLG_ERRMSG_MAX 16384
static _Thread_local char clg_errmsg[CLG_ERRMSG_MAX];

const char *clg_status_to_string(clg_status s) {
    switch (s) {
    case CLG_OK: return "CLG_OK";
    case CLG_ERR_OPENCL: return "CLG_ERR_OPENCL";
    case CLG_ERR_CLBLAST: return "CLG_ERR_CLBLAST";
    case CLG_ERR_BUILD: return "CLG_ERR_BUILD";
    case CLG_ERR_NO_DEVICE: return "CLG_ERR_NO_DEVICE";
    case CLG_ERR_INVALID_ARG: return "CLG_ERR_INVALID_ARG";
    case CLG_ERR_OUT_OF_MEMORY: return "CLG_ERR_OUT_OF_MEMORY";
    case CLG_ERR_IO: return "CLG_ERR_IO";
    case CLG_ERR_FORMAT: return "CLG_ERR_FORMAT";
    case CLG_ERR_UNSUPPORTED: return "CLG_ERR_UNSUPPORTED";
    case CLG_ERR_DIVERGED: return "CLG_ERR_DIVERGED";
    case CLG_ERR_COMM: return "CLG_ERR_COMM";
    case CLG_STATUS_COUNT: break;
    }
    return "CLG_ERR_UNKNOWN";
}

const char *clg_cl_error_name(cl_int code) {
    switch (code) {
#define N(c) case c: return #c
    N(CL_SUCCESS); N(CL_DEVICE_NOT_FOUND); N(CL_DEVICE_NOT_AVAILABLE);
    N(CL_COMPILER_NOT_AVAILABLE); N(CL_MEM_OBJECT_ALLOCATION_FAILURE);
    N(CL_OUT_OF_RESOURCES); N(CL_OUT_OF_HOST_MEMORY);
    N(CL_PROFILING_INFO_NOT_AVAILABLE); N(CL_MEM_COPY_OVERLAP);
    N(CL_IMAGE_FORMAT_MISMATCH); N(CL_IMAGE_FORMAT_NOT_SUPPORTED);
    N(CL_BUILD_PROGRAM_FAILURE); N(CL_MAP_FAILURE);
    N(CL_MISALIGNED_SUB_BUFFER_OFFSET);
    N(CL_EXEC_STATUS_ERROR_FOR_EVENTS_IN_WAIT_LIST);
    N(CL_COMPILE_PROGRAM_FAILURE); N(CL_LINKER_NOT_AVAILABLE);
    N(CL_LINK_PROGRAM_FAILURE); N(CL_DEVICE_PARTITION_FAILED);
    N(CL_KERNEL_ARG_INFO_NOT_AVAILABLE);
    N(CL_INVALID_VALUE); N(CL_INVALID_DEVICE_TYPE); N(CL_INVALID_PLATFORM);
    N(CL_INVALID_DEVICE); N(CL_INVALID_CONTEXT); N(CL_INVALID_QUEUE_PROPERTIES);
    N(CL_INVALID_COMMAND_QUEUE); N(CL_INVALID_HOST_PTR); N(CL_INVALID_MEM_OBJECT);
    N(CL_INVALID_IMAGE_FORMAT_DESCRIPTOR); N(CL_INVALID_IMAGE_SIZE);
    N(CL_INVALID_SAMPLER); N(CL_INVALID_BINARY); N(CL_INVALID_BUILD_OPTIONS);
    N(CL_INVALID_PROGRAM); N(CL_INVALID_PROGRAM_EXECUTABLE);
    N(CL_INVALID_KERNEL_NAME); N(CL_INVALID_KERNEL_DEFINITION);
    N(CL_INVALID_KERNEL); N(CL_INVALID_ARG_INDEX); N(CL_INVALID_ARG_VALUE);
    N(CL_INVALID_ARG_SIZE); N(CL_INVALID_KERNEL_ARGS);
    N(CL_INVALID_WORK_DIMENSION); N(CL_INVALID_WORK_GROUP_SIZE);
    N(CL_INVALID_WORK_ITEM_SIZE); N(CL_INVALID_GLOBAL_OFFSET);
    N(CL_INVALID_EVENT_WAIT_LIST); N(CL_INVALID_EVENT); N(CL_INVALID_OPERATION);
    N(CL_INVALID_GL_OBJECT); N(CL_INVALID_BUFFER_SIZE); N(CL_INVALID_MIP_LEVEL);
    N(CL_INVALID_GLOBAL_WORK_SIZE); N(CL_INVALID_PROPERTY);
    N(CL_INVALID_IMAGE_DESCRIPTOR); N(CL_INVALID_COMPILER_OPTIONS);
    N(CL_INVALID_LINKER_OPTIONS); N(CL_INVALID_DEVICE_PARTITION_COUNT);
#undef N
    default: return "CL_UNKNOWN_ERROR";
    }
}

clg_status clg_fail(clg_status s, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(clg_errmsg, sizeof clg_errmsg, fmt, ap);
    va_end(ap);
    return s;
}

void clg_error_context(const char *fmt, ...) {
    size_t len = strlen(clg_errmsg);
    if (len + 3 >= sizeof clg_errmsg) return;
    memcpy(clg_errmsg + len, " (", 3);
    len += 2;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(clg_errmsg + len, sizeof clg_errmsg - len, fmt, ap);
    va_end(ap);
    len = strlen(clg_errmsg);
    if (len + 2 <= sizeof clg_errmsg) memcpy(clg_errmsg + len, ")", 2);
}

const char *clg_last_error(void) { return clg_errmsg[0] ? clg_errmsg : "no error recorded"; }
void clg_clear_error(void) { clg_errmsg[0] = '\0'; }
