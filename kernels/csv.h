/* A strict RFC 4180 record parser, and the automaton that says where records end: a quote opens
 * a quoted field only at the start of a field (elsewhere it is a stray quote that makes its row
 * bad, and the row still ends at its newline), and a newline ends a record unless it lies inside
 * a quoted field. dproc runs the same automaton to cut a file between ranks, so that every
 * record is parsed whole by exactly one rank. */
#ifndef DP_CSV_H
#define DP_CSV_H

#include <stddef.h>
#include <stdint.h>

/* States of the automaton: at the start of a field, inside an unquoted one, inside a quoted
 * one, just after a quote inside a quoted one (its end, or the first of a doubled quote). */
enum { DP_CSV_FIELD, DP_CSV_UNQUOTED, DP_CSV_QUOTED, DP_CSV_QUOTE };

/* The state after byte c in state s; a newline read in any state but DP_CSV_QUOTED ends a
 * record (and leads to DP_CSV_FIELD). Local. */
static inline int dp_csv_step(int s, unsigned char c, char delim)
{
    if (c == '"')
        return s == DP_CSV_FIELD || s == DP_CSV_QUOTE ? DP_CSV_QUOTED
               : s == DP_CSV_QUOTED                   ? DP_CSV_QUOTE
                                                      : DP_CSV_UNQUOTED;
    if (s == DP_CSV_QUOTED)
        return DP_CSV_QUOTED;
    if (c == '\n' || c == (unsigned char)delim)
        return DP_CSV_FIELD;
    return c == '\r' && s == DP_CSV_QUOTE ? DP_CSV_QUOTE : DP_CSV_UNQUOTED;
}

/* The automaton run from all four states at once: a state vector packs, 2 bits per start state
 * s, where a run that began in s is now; DP_CSV_IDENTITY is the vector of a run of no bytes. */
enum { DP_CSV_IDENTITY = 0xE4 };

typedef struct {
    char delim;
    uint8_t cls[256];     /* byte class: quote, delimiter, newline, carriage return, other */
    uint8_t next[5][256]; /* state vector after a byte of each class */
} dp_csv_machine_t;

/* Builds the automaton's tables for a delimiter. Local. */
void dp_csv_machine(dp_csv_machine_t *m, char delim);

/* The state vector after bytes p[0..n) from vector v; counts the newlines into *newlines.
 * Local. */
uint8_t dp_csv_run(const dp_csv_machine_t *m, const char *p, size_t n, uint8_t v,
                   int64_t *newlines);

/* Where a run that began in state s is, for state vector v. Local. */
static inline int dp_csv_apply(uint8_t v, int s)
{
    return (v >> (2 * s)) & 3;
}

typedef struct {
    const char **field; /* the fields of the last record, unquoted */
    size_t *len;
    int nfields, cap;
    char *buf; /* unquoted copies of fields that held doubled quotes */
    size_t bufcap;
    int64_t newlines; /* newlines the last record took, its terminator included */
    const char *why;  /* why the last record is bad */
} dp_csv_t;

typedef enum { DP_CSV_ROW, DP_CSV_BLANK, DP_CSV_BAD } dp_csv_kind_t;

/* Parses the record at p[*pos] of p[0..n) (which ends with whole records) and moves *pos past
 * it: DP_CSV_ROW with its fields in c, DP_CSV_BLANK for an empty line, DP_CSV_BAD with the
 * reason in c->why. Local. */
dp_csv_kind_t dp_csv_record(dp_csv_t *c, const char *p, size_t n, size_t *pos, char delim);

/* Frees the parser's buffers. Local. */
void dp_csv_free(dp_csv_t *c);

#endif
