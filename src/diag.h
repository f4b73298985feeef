/* A list of diagnostics about a job: every problem found, each formatted as
 * "WHERE: [section] key: what is wrong (what is allowed)", printed by rank 0. */
#ifndef DP_DIAG_H
#define DP_DIAG_H

#include <stddef.h>
#include <stdio.h>

typedef struct {
    char **msg;
    int *line; /* the job-file line of each message; 0: none (an override, the whole file) */
    size_t n, cap;
} dp_diag_t;

/* Where a setting came from: a job file line or a --set override. */
typedef struct {
    const char *file; /* job file name as given on the command line */
    int line;         /* 1-based line in file; 0 when the setting has no line */
    const char *set;  /* "section.key=value" when the setting came from --set, else NULL */
    int col;          /* 1-based column in the line that a message points at; 0: the line */
} dp_where_t;

/* Appends one diagnostic "WHERE: [section] key: message", WHERE being FILE:LINE (FILE:LINE:COL
 * when where.col is set), "--set ..." or FILE. key may be NULL (section-level),
 * section may be NULL (file-level). Local. */
void dp_diag_add(dp_diag_t *d, dp_where_t where, const char *section, const char *key,
                 const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* Appends a diagnostic already formatted (by dp_diag_add elsewhere) about job-file line line
 * (0: none). Local. */
void dp_diag_add_text(dp_diag_t *d, int line, const char *text);

/* Prints every diagnostic, one per line, to f: those of job-file lines in line order first,
 * then the others in the order they were found. Local. */
void dp_diag_print(const dp_diag_t *d, FILE *f);

/* Frees the list and leaves it empty. Local. */
void dp_diag_free(dp_diag_t *d);

#endif
