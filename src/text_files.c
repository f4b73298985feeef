#include "text.h"

#include "comm.h"
#include "fault.h"

#include <dirent.h>
#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static void add(dp_text_files_t *f, const char *path, int64_t size)
{
    f->path = dp_xrealloc(f->path, (size_t)(f->n + 1) * sizeof *f->path);
    f->size = dp_xrealloc(f->size, (size_t)(f->n + 1) * sizeof *f->size);
    f->path[f->n] = dp_xstrdup(path);
    f->size[f->n] = size;
    f->n++;
    f->total += size;
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static dp_status_t list_dir(dp_text_files_t *f, const char *dir)
{
    DIR *d = opendir(dir);
    DP_CHECK(d, DP_ERR_IO, "cannot list directory '%s'", dir);
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *e; (e = readdir(d)) != NULL;) {
        if (e->d_name[0] == '.')
            continue;
        names = dp_xrealloc(names, (n + 1) * sizeof *names);
        names[n++] = dp_xstrdup(e->d_name);
    }
    closedir(d);
    qsort(names, n, sizeof *names, by_name);
    const size_t dl = strlen(dir);
    for (size_t i = 0; i < n; i++) {
        char *p = dp_xmalloc(dl + strlen(names[i]) + 2);
        sprintf(p, "%s%s%s", dir, dl && dir[dl - 1] == '/' ? "" : "/", names[i]);
        struct stat s;
        if (stat(p, &s) == 0 && S_ISREG(s.st_mode))
            add(f, p, (int64_t)s.st_size);
        free(p);
        free(names[i]);
    }
    free(names);
    return DP_OK;
}

dp_status_t dp_text_files_expand(dp_text_files_t *f, const char *pattern)
{
    struct stat s;
    if (stat(pattern, &s) == 0) {
        if (S_ISDIR(s.st_mode)) {
            DP_CALL(list_dir(f, pattern));
            DP_CHECK(f->n > 0, DP_ERR_IO, "directory '%s' holds no regular file", pattern);
            return DP_OK;
        }
        DP_CHECK(S_ISREG(s.st_mode), DP_ERR_IO, "'%s' is not a regular file", pattern);
        add(f, pattern, (int64_t)s.st_size);
        return DP_OK;
    }
    glob_t g;
    const int rc = glob(pattern, GLOB_ERR, NULL, &g);
    for (size_t i = 0; rc == 0 && i < g.gl_pathc; i++)
        if (stat(g.gl_pathv[i], &s) == 0 && S_ISREG(s.st_mode))
            add(f, g.gl_pathv[i], (int64_t)s.st_size);
    globfree(&g); /* glibc's frees what there is, also after a failure */
    DP_CHECK(rc != GLOB_NOSPACE, DP_ERR_NOMEM, "out of memory expanding '%s'", pattern);
    DP_CHECK(rc != GLOB_ABORTED, DP_ERR_IO,
             "a directory on the way to '%s' cannot be read (every match must be seen)", pattern);
    DP_CHECK(f->n > 0, DP_ERR_IO, "no file matches '%s'", pattern);
    return DP_OK;
}

/* Broadcasts the list from rank 0. */
static void share(dp_text_files_t *f, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    MPI_Bcast(&f->n, 1, MPI_INT, 0, comm);
    if (rank != 0) {
        f->path = dp_xcalloc((size_t)f->n, sizeof *f->path);
        f->size = dp_xcalloc((size_t)f->n, sizeof *f->size);
    }
    MPI_Bcast(f->size, f->n, MPI_INT64_T, 0, comm);
    f->total = 0;
    for (int i = 0; i < f->n; i++) {
        int len = rank == 0 ? (int)strlen(f->path[i]) + 1 : 0;
        MPI_Bcast(&len, 1, MPI_INT, 0, comm);
        if (rank != 0)
            f->path[i] = dp_xmalloc((size_t)len);
        MPI_Bcast(f->path[i], len, MPI_CHAR, 0, comm);
        f->total += f->size[i];
    }
}

dp_status_t dp_text_files_open(dp_text_files_t *f, const char *pattern, MPI_Comm comm)
{
    int rank;
    MPI_Comm_rank(comm, &rank);
    *f = (dp_text_files_t){0};
    dp_status_t st = rank == 0 ? dp_text_files_expand(f, pattern) : DP_OK;
    DP_CALL(dp_comm_agree(st, comm));
    share(f, comm);
    st = DP_OK; /* every rank may read any file: check them all, then agree once */
    for (int i = 0; i < f->n && st == DP_OK; i++)
        if (access(f->path[i], R_OK) != 0)
            st = dp_err_set(DP_ERR_IO, "cannot read input '%s': %s", f->path[i], strerror(errno));
        else if (dp_fault_hit(DP_FAULT_OPEN))
            st = dp_err_set(DP_ERR_IO, "cannot read input '%s': injected fault (DPROC_FAULT)",
                            f->path[i]);
    return dp_comm_agree(st, comm);
}

void dp_text_files_free(dp_text_files_t *f)
{
    for (int i = 0; i < f->n; i++)
        free(f->path[i]);
    free(f->path);
    free(f->size);
    *f = (dp_text_files_t){0};
}
