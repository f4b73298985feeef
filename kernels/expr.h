/* Element-wise expressions such as `sqrt(x*x + 1) * a`, compiled once into a small register
 * program whose every instruction is one operation over a vector of DP_EXPR_VEC doubles, then
 * run over arrays of any length: no per-element walk of a tree.
 *
 * The language (text of at most DP_EXPR_MAX_LEN characters):
 *   numbers    C decimal literals: 1  2.5  .5  1e-3  1.5E+10
 *   names      x: the input value; i: the global row-major index of the element (a double);
 *              the caller's named constants; pi, e, inf, nan. A caller's constant wins over
 *              pi, e, inf and nan; x and i always mean the variables.
 *   operators  from tightest: ^ and ** (power, right-associative, tighter than unary minus:
 *              -x^2 = -(x^2)); unary - + ! not; * / % (% is fmod); + -; < <= > >=; == !=;
 *              && and; || or. Comparisons and logic give 1 or 0 and follow C: NaN compares
 *              false except with !=; !NaN is 0; && and || count NaN as true.
 *   functions  where(c, a, b): a where c is not 0 (NaN counts as true, as numpy.where), else b;
 *              of one argument sqrt cbrt exp exp2 expm1 log log2 log10 log1p sin cos tan asin
 *              acos atan sinh cosh tanh asinh acosh atanh erf erfc tgamma lgamma fabs abs floor
 *              ceil round trunc rint; of two pow atan2 hypot fmod fmin fmax min max copysign
 *              fdim (abs, min and max are fabs, fmin and fmax).
 *
 * Results are those of the same formula written as a C loop: + - * / and comparisons are
 * bit-identical (no contraction into fused multiply-adds), functions call the same <math.h>
 * function per element (glibc documents at most a few ulp for those not correctly rounded;
 * an expression gives the same bits as the C loop on the same machine). Subtrees of constants
 * are computed once at compile time by the same code; x^2 is computed as x*x (as gcc compiles
 * pow(x, 2)). NaN values keep their NaN-ness but not necessarily their sign or payload. */
#ifndef DP_EXPR_H
#define DP_EXPR_H

#include <stdint.h>

enum {
    DP_EXPR_VEC = 256,      /* doubles per register: one pass of an instruction */
    DP_EXPR_MAX_LEN = 4096, /* characters of an expression */
    DP_EXPR_MAX_DEPTH = 64, /* nested parentheses, calls and unary operators */
    DP_EXPR_MAX_REGS = 8,   /* scratch vectors of a program (16 KiB of the caller's stack) */
};

typedef struct dp_expr dp_expr_t;

/* Where and why an expression was refused: column is 1-based, in bytes of the text; message
 * says what is wrong without the position. */
typedef struct {
    int column;
    char message[200];
} dp_expr_error_t;

/* Compiles text, with nnames named constants names[j] = values[j] (the caller keeps them
 * unique and distinct from x and i). Returns the program (dp_expr_free it), or NULL with err
 * filled when the text is not a valid expression or does not fit the limits above. Local. */
dp_expr_t *dp_expr_compile(const char *text, const char *const *names, const double *values,
                           int nnames, dp_expr_error_t *err);

/* y[k] = the expression at x = x[k], i = start + k (exact below 2^53), for 0 <= k < n. x and
 * y are the same array or do not overlap. Keeps its scratch vectors on the stack: several threads
 * may evaluate one program at once. Local, one thread (the caller shares the work out). */
void dp_expr_eval(const dp_expr_t *e, const double *x, double *y, int64_t n, int64_t start);

/* Whether the text mentions name (x, i or one of the constants), even where constant folding
 * took it out of the program (as in 0*x). Local. */
int dp_expr_uses(const dp_expr_t *e, const char *name);

/* Number of instructions of the program: each is one pass over a vector, so this measures its
 * cost; an expression of constants compiles to 1. Local. */
int dp_expr_length(const dp_expr_t *e);

/* Frees a program (NULL is fine). Local. */
void dp_expr_free(dp_expr_t *e);

#endif
