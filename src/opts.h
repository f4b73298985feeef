/* Option tables: one table per job-file section drives parsing, validation, --help-job text and
 * the job-file reference in docs/job-file.md. */
#ifndef DP_OPTS_H
#define DP_OPTS_H

#include "diag.h"
#include "kernel.h"
#include "ini.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Parses the keys of one section into dst according to table (terminated by a NULL key),
 * applying defaults, marking the entries it consumed as used and adding one diagnostic per bad
 * or missing value. Returns the number of diagnostics added. Local. */
int dp_opts_parse(const dp_opt_t *table, const char *section, dp_ini_t *ini, void *dst,
                  dp_diag_t *diag);

/* Parses value into dst as the row key of table would, but names it [section] as_key in
 * diagnostics: for a key of one section that configures another's (e.g. [map] then_reduce
 * giving [reduce] ops). Returns the number of diagnostics added. Local. */
int dp_opts_parse_as(const dp_opt_t *table, const char *key, const char *section,
                     const char *as_key, const char *value, dp_where_t where, void *dst,
                     dp_diag_t *diag);

/* Frees the strings dp_opts_parse stored in dst. Local. */
void dp_opts_free(const dp_opt_t *table, void *dst);

/* Where a key was set, else where its section starts, else the file: for diagnostics about
 * combinations of keys. Local. */
dp_where_t dp_opts_where(const dp_ini_t *ini, const char *section, const char *key);

/* Whether the key was given in the job (file or --set). Local. */
int dp_opts_given(const dp_ini_t *ini, const char *section, const char *key);

/* Parses "400,300" into a shape of 1..3 positive extents; returns 0 and sets *why on error.
 * Local. */
int dp_shape_parse(const char *text, dp_shape_t *shape, const char **why);

/* Formats a shape as "400x300" into buf. Local. */
const char *dp_shape_str(const dp_shape_t *shape, char *buf, size_t size);

/* The closest of the '|'-separated words in candidates to word, within an edit distance that
 * makes a typo plausible; NULL when none is close. The result points into a static buffer.
 * Local. */
const char *dp_opts_suggest(const char *word, const char *candidates);

/* Prints the table as Markdown rows: key, type, default, allowed values, meaning. Local. */
void dp_opts_print_markdown(const dp_opt_t *table, FILE *f);

/* Prints the table as man-page (troff) paragraphs: key, type, allowed values, default, meaning.
 * Local. */
void dp_opts_print_man(const dp_opt_t *table, FILE *f);

/* Prints text escaped for troff (backslashes, hyphens, a '.' or '\'' starting a line). Local. */
void dp_opts_print_troff(const char *text, FILE *f);

/* The index of the word b[0..len) in list ("a|b|c"), or -1. Local. */
int dp_opts_word_index(const char *list, const char *b, size_t len);

#endif
