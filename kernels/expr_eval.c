/* The interpreter of compiled expressions: each instruction is one plain loop over a vector of
 * at most DP_EXPR_VEC doubles in L1 cache. Compiled with -ffp-contract=off: a * b + c stays two
 * roundings, as in the C loop the results are promised to match. */
#include "expr_prog.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* The loops: SIMD ones for operations the compiler turns into exact vector instructions, CALL
 * ones calling libm per element. Formatting is off: clang-format would fold pragma and loop. */
// clang-format off
#define LOOP_SIMD(body)                                                                            \
    _Pragma("omp simd")                                                                            \
    for (int j = 0; j < n; j++) {                                                                  \
        body;                                                                                      \
    }
#define LOOP_CALL(body)                                                                            \
    for (int j = 0; j < n; j++) {                                                                  \
        body;                                                                                      \
    }
// clang-format on

/* r = e(a, b) with a or b a vector or the constant of the instruction. */
#define BINARY(op, kind, e)                                                                        \
    case op:                                                                                       \
        if (in->konst & 1) {                                                                       \
            const double a = in->k[0];                                                             \
            LOOP_##kind(const double b = B[j]; R[j] = (e))                                         \
        } else if (in->konst & 2) {                                                                \
            const double b = in->k[1];                                                             \
            LOOP_##kind(const double a = A[j]; R[j] = (e))                                         \
        } else {                                                                                   \
            LOOP_##kind(const double a = A[j]; const double b = B[j]; R[j] = (e))                  \
        }                                                                                          \
        break;
#define FUNC1(op, name, f, kind)                                                                   \
    case DP_EXPR_##op:                                                                             \
        LOOP_##kind(R[j] = f(A[j])) break;
#define FUNC2(op, name, f, kind) BINARY(DP_EXPR_##op, kind, f(a, b))

double dp_expr_lgamma(double x)
{
    int sign;
    return lgamma_r(x, &sign);
}

/* Runs one instruction over n <= DP_EXPR_VEC values: x and y at the vector's first value, i of
 * that value start. */
static void run(const dp_expr_ins_t *in, const double *x, double *y, double (*reg)[DP_EXPR_VEC],
                int n, int64_t start)
{
    double *R = in->dst == DP_EXPR_OUT ? y : reg[in->dst];
    const double *A = in->src[0] == DP_EXPR_X ? x : reg[in->src[0]];
    const double *B = in->src[1] == DP_EXPR_X ? x : reg[in->src[1]];
    const double *C = in->src[2] == DP_EXPR_X ? x : reg[in->src[2]];
    switch ((dp_expr_op_t)in->op) {
    case DP_EXPR_COPY:
        if (R != A)
            memcpy(R, A, (size_t)n * sizeof *R);
        break;
    case DP_EXPR_FILL: {
        const double k = in->k[0];
        LOOP_SIMD(R[j] = k)
        break;
    }
    case DP_EXPR_INDEX: { /* exact below 2^53 */
        const double i0 = (double)start;
        LOOP_SIMD(R[j] = i0 + j)
        break;
    }
    case DP_EXPR_NEG:
        LOOP_SIMD(R[j] = -A[j])
        break;
    case DP_EXPR_NOT:
        LOOP_SIMD(R[j] = A[j] == 0)
        break;
        BINARY(DP_EXPR_ADD, SIMD, a + b)
        BINARY(DP_EXPR_SUB, SIMD, a - b)
        BINARY(DP_EXPR_MUL, SIMD, a * b)
        BINARY(DP_EXPR_DIV, SIMD, a / b)
        BINARY(DP_EXPR_LT, SIMD, a < b)
        BINARY(DP_EXPR_LE, SIMD, a <= b)
        BINARY(DP_EXPR_GT, SIMD, a > b)
        BINARY(DP_EXPR_GE, SIMD, a >= b)
        BINARY(DP_EXPR_EQ, SIMD, a == b)
        BINARY(DP_EXPR_NE, SIMD, a != b)
        BINARY(DP_EXPR_AND, SIMD, (a != 0) & (b != 0))
        BINARY(DP_EXPR_OR, SIMD, (a != 0) | (b != 0))
    case DP_EXPR_WHERE: { /* the condition is never a constant: the compiler folds it */
        const double kb = in->k[1], kc = in->k[2];
        switch (in->konst) { /* both values loaded, unconditionally: a vector blend */
        case 0:
            LOOP_SIMD(const double b = B[j]; const double c = C[j]; R[j] = A[j] != 0 ? b : c)
            break;
        case 2:
            LOOP_SIMD(const double c = C[j]; R[j] = A[j] != 0 ? kb : c)
            break;
        case 4:
            LOOP_SIMD(const double b = B[j]; R[j] = A[j] != 0 ? b : kc)
            break;
        default:
            LOOP_SIMD(R[j] = A[j] != 0 ? kb : kc)
        }
        break;
    }
    case DP_EXPR_MULADD: { /* -ffp-contract=off: the product is rounded before the sum */
        const double kc = in->k[2];
        if (in->konst & 1) {
            const double a = in->k[0];
            LOOP_SIMD(R[j] = a * B[j] + kc)
        } else if (in->konst & 2) {
            const double b = in->k[1];
            LOOP_SIMD(R[j] = A[j] * b + kc)
        } else {
            LOOP_SIMD(R[j] = A[j] * B[j] + kc)
        }
        break;
    }
        DP_EXPR_FUNCS1(FUNC1)
        DP_EXPR_FUNCS2(FUNC2)
    case DP_EXPR_NOPS:
        break;
    }
}

void dp_expr_eval(const dp_expr_t *e, const double *x, double *y, int64_t n, int64_t start)
{
    double reg[DP_EXPR_MAX_REGS][DP_EXPR_VEC];
    for (int64_t off = 0; off < n; off += DP_EXPR_VEC) {
        const int m = n - off < DP_EXPR_VEC ? (int)(n - off) : DP_EXPR_VEC;
        if (e->nins > 1 && n - off > 3 * DP_EXPR_VEC) /* keep reads in flight across passes */
            for (int k = 0; k < DP_EXPR_VEC; k += 8)
                __builtin_prefetch(x + off + 2 * DP_EXPR_VEC + k, 0);
        for (int p = 0; p < e->nins; p++)
            run(&e->ins[p], x + off, y + off, reg, m, start + off);
    }
}

int dp_expr_uses(const dp_expr_t *e, const char *name)
{
    if (!strcmp(name, "x"))
        return e->uses_x;
    if (!strcmp(name, "i"))
        return e->uses_i;
    for (const char *c = e->consts; *c; c += strlen(c) + 1)
        if (!strcmp(c, name))
            return 1;
    return 0;
}

int dp_expr_length(const dp_expr_t *e)
{
    return e->nins;
}

void dp_expr_free(dp_expr_t *e)
{
    if (!e)
        return;
    free(e->ins);
    free(e->consts);
    free(e);
}
