/* Error codes, the error message of the last failure, and the macros that pass them up. */
#ifndef DP_ERR_H
#define DP_ERR_H

#include <stddef.h>

/* Status of an operation; the process exit status follows from it (dp_err_exit_status). */
typedef enum {
    DP_OK = 0,
    DP_ERR_USAGE,    /* bad command line or job file: exit 2 */
    DP_ERR_IO,       /* a file could not be opened, read or written: exit 1 */
    DP_ERR_DATA,     /* the data does not suit the job (shape, type, values): exit 1 */
    DP_ERR_NOMEM,    /* an allocation failed: exit 1 */
    DP_ERR_MPI,      /* an MPI call failed: exit 1 */
    DP_ERR_INTERNAL, /* a broken invariant: exit 3 */
    DP_ERR_STOPPED,  /* stopped by SIGUSR1 or SIGTERM, after a checkpoint where there is one: 4 */
} dp_status_t;

enum { DP_ERR_MSG_MAX = 1024 };

/* Records the message of a failure (printf-style) with the source location that set it and
 * returns code, so that `return dp_err_set(...)` both records and propagates. Local. */
dp_status_t dp_err_at(const char *file, int line, dp_status_t code, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
#define dp_err_set(code, ...) dp_err_at(__FILE__, __LINE__, (code), __VA_ARGS__)

/* The message of the last recorded failure ("" when none). Local. */
const char *dp_err_msg(void);

/* "src/file.c:LINE" of the last recorded failure, for -v output. Local. */
const char *dp_err_where(void);

/* Replaces the recorded message (used when a message arrives from another rank). Local. */
void dp_err_replace(dp_status_t code, const char *msg);

/* The process exit status for a status code: 0, 1 (runtime failure), 2 (bad job), 3 (internal
 * error), 4 (stopped by a signal). Local. */
int dp_err_exit_status(dp_status_t code);

/* Evaluates a call returning dp_status_t and returns its status from the caller on failure. */
#define DP_CALL(expr)                                                                              \
    do {                                                                                           \
        dp_status_t dp_call_status_ = (expr);                                                      \
        if (dp_call_status_ != DP_OK)                                                              \
            return dp_call_status_;                                                                \
    } while (0)

/* Returns code with a message from the caller when cond is false. */
#define DP_CHECK(cond, code, ...)                                                                  \
    do {                                                                                           \
        if (!(cond))                                                                               \
            return dp_err_set((code), __VA_ARGS__);                                                \
    } while (0)

/* Turns off HDF5's automatic error printing: dproc reports errors itself. Local. */
void dp_h5_quiet(void);

/* Allocation that cannot fail softly: small bookkeeping only; aborts the job when out of
 * memory. Large data buffers use plain malloc and report DP_ERR_NOMEM. Local. */
void *dp_xmalloc(size_t n);
void *dp_xcalloc(size_t n, size_t size);
void *dp_xrealloc(void *p, size_t n);
char *dp_xstrdup(const char *s);

#endif
