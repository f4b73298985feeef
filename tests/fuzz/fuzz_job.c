/* libFuzzer target: job-file parsing and validation (INI syntax, every section's option table,
 * kernel checks, --set overrides) on arbitrary bytes. Built with clang under AddressSanitizer and
 * UndefinedBehaviorSanitizer by tests/fuzz/run.sh; any input that crashes, leaks or trips a
 * sanitizer is a bug, and is kept in tests/fuzz/regressions/ once fixed. */
#include "diag.h"
#include "job.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The input is the job text; when it holds a line "--set x" after a NUL byte, the part after
 * the NUL is also tried as overrides, one per line. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    const char *nul = memchr(text, '\0', size);
    char *sets[4];
    int nsets = 0;
    char *tail = NULL;
    if (nul && (size_t)(nul - text) + 1 < size) {
        const size_t n = size - (size_t)(nul - text) - 1;
        tail = malloc(n + 1);
        memcpy(tail, nul + 1, n);
        tail[n] = '\0';
        for (char *s = strtok(tail, "\n"); s && nsets < 4; s = strtok(NULL, "\n"))
            sets[nsets++] = s;
    }
    dp_job_t job;
    dp_diag_t diag = {0};
    dp_job_parse(&job, "fuzz.ini", text, size, sets, nsets, &diag);
    size_t total = 0; /* every message is a complete string */
    for (size_t i = 0; i < diag.n; i++)
        total += strlen(diag.msg[i]);
    (void)total;
    dp_diag_free(&diag);
    dp_job_free(&job);
    free(tail);
    return 0;
}
