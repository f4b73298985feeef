/* A thin runner over CUnit's basic interface shared by the unit tests. */
#ifndef DP_TEST_H
#define DP_TEST_H

#include <CUnit/CUnit.h>

typedef struct {
    const char *name;
    void (*fn)(void);
} dp_test_case_t;

/* Runs the NULL-terminated cases as one suite in verbose mode; returns 0 when all passed. */
int dp_test_main(const char *suite, const dp_test_case_t *cases);

#endif
