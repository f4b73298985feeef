/* The program of an expression, shared by expr_parse.c, which writes it, and expr_eval.c, which
 * runs it; expr.h is the whole interface for the rest of dproc. */
#ifndef DP_EXPR_PROG_H
#define DP_EXPR_PROG_H

#include "expr.h"

#include <stdint.h>

/* Functions of <math.h>: op, name in formulas, the C function that computes it, and whether the
 * loop may be vectorised (the compiler inlines the function as exact instructions) or calls
 * libm per element. lgamma is computed by lgamma_r: lgamma writes the global signgam, a data
 * race between threads. */
#define DP_EXPR_FUNCS1(F)                                                                          \
    F(SQRT, sqrt, sqrt, SIMD)                                                                      \
    F(CBRT, cbrt, cbrt, CALL)                                                                      \
    F(EXP, exp, exp, CALL)                                                                         \
    F(EXP2, exp2, exp2, CALL)                                                                      \
    F(EXPM1, expm1, expm1, CALL)                                                                   \
    F(LOG, log, log, CALL)                                                                         \
    F(LOG2, log2, log2, CALL)                                                                      \
    F(LOG10, log10, log10, CALL)                                                                   \
    F(LOG1P, log1p, log1p, CALL)                                                                   \
    F(SIN, sin, sin, CALL)                                                                         \
    F(COS, cos, cos, CALL)                                                                         \
    F(TAN, tan, tan, CALL)                                                                         \
    F(ASIN, asin, asin, CALL)                                                                      \
    F(ACOS, acos, acos, CALL)                                                                      \
    F(ATAN, atan, atan, CALL)                                                                      \
    F(SINH, sinh, sinh, CALL)                                                                      \
    F(COSH, cosh, cosh, CALL)                                                                      \
    F(TANH, tanh, tanh, CALL)                                                                      \
    F(ASINH, asinh, asinh, CALL)                                                                   \
    F(ACOSH, acosh, acosh, CALL)                                                                   \
    F(ATANH, atanh, atanh, CALL)                                                                   \
    F(ERF, erf, erf, CALL)                                                                         \
    F(ERFC, erfc, erfc, CALL)                                                                      \
    F(TGAMMA, tgamma, tgamma, CALL)                                                                \
    F(LGAMMA, lgamma, dp_expr_lgamma, CALL)                                                        \
    F(FABS, fabs, fabs, SIMD)                                                                      \
    F(FLOOR, floor, floor, SIMD)                                                                   \
    F(CEIL, ceil, ceil, SIMD)                                                                      \
    F(ROUND, round, round, SIMD)                                                                   \
    F(TRUNC, trunc, trunc, SIMD)                                                                   \
    F(RINT, rint, rint, SIMD)
#define DP_EXPR_FUNCS2(F)                                                                          \
    F(POW, pow, pow, CALL)                                                                         \
    F(ATAN2, atan2, atan2, CALL)                                                                   \
    F(HYPOT, hypot, hypot, CALL)                                                                   \
    F(FMOD, fmod, fmod, CALL)                                                                      \
    F(FMIN, fmin, fmin, CALL)                                                                      \
    F(FMAX, fmax, fmax, CALL)                                                                      \
    F(COPYSIGN, copysign, copysign, SIMD)                                                          \
    F(FDIM, fdim, fdim, CALL)

#define DP_EXPR_OP_ENUM(op, name, fn, kind) DP_EXPR_##op,
typedef enum {
    DP_EXPR_COPY,  /* r = a */
    DP_EXPR_FILL,  /* r = k[0] */
    DP_EXPR_INDEX, /* r = i */
    DP_EXPR_NEG,   /* r = -a */
    DP_EXPR_NOT,   /* r = !a */
    DP_EXPR_ADD,   /* r = a + b, and so on */
    DP_EXPR_SUB,
    DP_EXPR_MUL,
    DP_EXPR_DIV,
    DP_EXPR_LT,
    DP_EXPR_LE,
    DP_EXPR_GT,
    DP_EXPR_GE,
    DP_EXPR_EQ,
    DP_EXPR_NE,
    DP_EXPR_AND,
    DP_EXPR_OR,
    DP_EXPR_WHERE,  /* r = a != 0 ? b : c */
    DP_EXPR_MULADD, /* r = a * b + k[2], two roundings: a multiply and an add fused in one pass */
    DP_EXPR_FUNCS1(DP_EXPR_OP_ENUM) DP_EXPR_FUNCS2(DP_EXPR_OP_ENUM) DP_EXPR_NOPS
} dp_expr_op_t;

/* lgamma(x) without writing signgam. Local, thread-safe. */
double dp_expr_lgamma(double x);

enum { DP_EXPR_X = -1, DP_EXPR_OUT = -2 }; /* operand: the input x; destination: the output y */

/* One instruction: r = op(a, b, c) over a vector, r a register or the output, each operand a
 * register, the input x, or (bit j of konst) the constant k[j]; unused operands are x. */
typedef struct {
    int8_t op;
    uint8_t konst;
    int8_t dst;
    int8_t src[3];
    double k[3];
} dp_expr_ins_t;

struct dp_expr {
    int nins;
    dp_expr_ins_t *ins;
    int uses_x, uses_i;
    char *consts; /* the constants the text mentions, each followed by '\0', then a '\0' */
};

#endif
