/* A strict RFC 4180 record parser. A record ends at a newline outside quotes, where "outside"
 * means an even number of '"' since the start of the record: the same rule dproc uses to cut a
 * file between ranks, so that every record is parsed whole by exactly one rank. */
#ifndef DP_CSV_H
#define DP_CSV_H

#include <stddef.h>
#include <stdint.h>

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
