/* A strict INI reader: exact line numbers, no line-length limit, duplicates refused. */
#ifndef DP_INI_H
#define DP_INI_H

#include "diag.h"

#include <stddef.h>

typedef struct {
    char *section;
    char *key;
    char *value;
    dp_where_t where;
    int col;  /* 1-based column of the value's first character in its line; 0: from --set */
    int used; /* set by the consumer when the key is recognised */
} dp_ini_entry_t;

typedef struct {
    char *name;
    dp_where_t where;
} dp_ini_section_t;

typedef struct {
    const char *file;
    dp_ini_entry_t *e;
    size_t n, cap;
    dp_ini_section_t *sec;
    size_t nsec, capsec;
    size_t bad_lines; /* lines refused by the parser: a key on one of them is not "missing" */
} dp_ini_t;

/* Parses len bytes of INI text (named file in diagnostics) into ini. Syntax errors are added
 * to diag (one per bad line); parsing continues after them. Accepts a UTF-8 byte order mark,
 * CRLF line ends, comments starting with ';' or '#' (also after a value, when preceded by a
 * blank), and double-quoted values. Local. */
void dp_ini_parse(dp_ini_t *ini, const char *file, const char *text, size_t len, dp_diag_t *diag);

/* Applies an override "section.key=value" (from --set): replaces the key or adds it (and its
 * section). A malformed override is added to diag. Local. */
void dp_ini_override(dp_ini_t *ini, const char *set, dp_diag_t *diag);

/* Finds a key; NULL when absent. Local. */
dp_ini_entry_t *dp_ini_find(const dp_ini_t *ini, const char *section, const char *key);

/* Finds a section; NULL when absent. Local. */
const dp_ini_section_t *dp_ini_section(const dp_ini_t *ini, const char *section);

/* Frees everything held by ini. Local. */
void dp_ini_free(dp_ini_t *ini);

#endif
