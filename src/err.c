#include "err.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err_msg[DP_ERR_MSG_MAX];
static char err_where[256];
static dp_status_t err_code;

dp_status_t dp_err_at(const char *file, int line, dp_status_t code, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err_msg, sizeof err_msg, fmt, ap);
    va_end(ap);
    snprintf(err_where, sizeof err_where, "%s:%d", file, line);
    err_code = code;
    return code;
}

const char *dp_err_msg(void)
{
    return err_msg;
}

const char *dp_err_where(void)
{
    return err_where;
}

void dp_err_replace(dp_status_t code, const char *msg)
{
    snprintf(err_msg, sizeof err_msg, "%s", msg);
    err_where[0] = '\0';
    err_code = code;
}

int dp_err_exit_status(dp_status_t code)
{
    switch (code) {
    case DP_OK:
        return 0;
    case DP_ERR_USAGE:
        return 2;
    case DP_ERR_INTERNAL:
        return 3;
    case DP_ERR_STOPPED:
        return 4;
    default:
        return 1;
    }
}

static void out_of_memory(size_t n)
{
    fprintf(stderr, "dproc: out of memory allocating %zu bytes\n", n);
    MPI_Abort(MPI_COMM_WORLD, 1);
    abort();
}

void *dp_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);
    if (!p)
        out_of_memory(n);
    return p;
}

void *dp_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p)
        out_of_memory(n * size);
    return p;
}

void *dp_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);
    if (!q)
        out_of_memory(n);
    return q;
}

char *dp_xstrdup(const char *s)
{
    size_t n = strlen(s) + 1;
    char *p = dp_xmalloc(n);
    memcpy(p, s, n);
    return p;
}
