/* The compiler of expressions: a tokenizer and a recursive-descent parser build a tree, folding
 * each node of constants into a constant as it is made (by running its instruction once, so
 * that folded values are the bits the program would compute); the tree is then emitted as
 * register code, each operand a register, the input x or a constant, registers allocated as a
 * stack with the hungrier operand first (Sethi-Ullman), the root writing the output. */
#include "expr_prog.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_END, T_NUM, T_NAME, T_OP } tok_kind_t;

typedef struct {
    tok_kind_t kind;
    int col, len; /* 1-based column and length in the text */
    const char *s;
    char op[3]; /* T_OP: the operator, with and, or, not as &&, ||, ! */
    double v;   /* T_NUM */
} tok_t;

typedef enum { N_CONST, N_X, N_I, N_OP } node_kind_t;

typedef struct {
    node_kind_t kind;
    int op, nargs, arg[3];
    int need; /* registers to compute it (Sethi-Ullman number) */
    double v; /* N_CONST */
} node_t;

typedef struct {
    const char *text;
    int pos;
    tok_t t;
    node_t *nodes;
    int nn;
    const char *const *names;
    const double *values;
    int nnames;
    unsigned char *mentioned; /* per constant of the caller */
    int uses_x, uses_i, depth, failed;
    dp_expr_error_t *err;
} parser_t;

#define FUNC_ROW1(op, name, fn, kind) {#name, DP_EXPR_##op, 1},
#define FUNC_ROW2(op, name, fn, kind) {#name, DP_EXPR_##op, 2},
static const struct {
    const char *name;
    int op, nargs;
} funcs[] = {
    DP_EXPR_FUNCS1(FUNC_ROW1) DP_EXPR_FUNCS2(FUNC_ROW2){"abs", DP_EXPR_FABS, 1},
    {"min", DP_EXPR_FMIN, 2},
    {"max", DP_EXPR_FMAX, 2},
    {"where", DP_EXPR_WHERE, 3},
};
enum { NFUNCS = sizeof funcs / sizeof funcs[0] };

static const struct {
    const char *name;
    double v;
} builtins[] = {
    {"pi", 3.14159265358979323846}, {"e", 2.71828182845904523536}, {"inf", INFINITY}, {"nan", NAN}};
enum { NBUILTINS = sizeof builtins / sizeof builtins[0] };

/* Binary operators by level, loosest first: the token and its operation. */
enum { NLEVELS = 6 };
static const struct {
    const char *tok;
    int op;
} levels[NLEVELS][5] = {
    {{"||", DP_EXPR_OR}},
    {{"&&", DP_EXPR_AND}},
    {{"==", DP_EXPR_EQ}, {"!=", DP_EXPR_NE}},
    {{"<", DP_EXPR_LT}, {"<=", DP_EXPR_LE}, {">", DP_EXPR_GT}, {">=", DP_EXPR_GE}},
    {{"+", DP_EXPR_ADD}, {"-", DP_EXPR_SUB}},
    {{"*", DP_EXPR_MUL}, {"/", DP_EXPR_DIV}, {"%", DP_EXPR_FMOD}},
};

/* Records the first error; returns -1, the failed node. */
__attribute__((format(printf, 3, 4))) static int fail(parser_t *p, int col, const char *fmt, ...)
{
    if (!p->failed) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->err->message, sizeof p->err->message, fmt, ap);
        va_end(ap);
        p->err->column = col;
        p->failed = 1;
    }
    p->t.kind = T_END;
    return -1;
}

/* Whether token t is the name name. */
static int named(const tok_t *t, const char *name)
{
    return t->len == (int)strlen(name) && !strncmp(t->s, name, (size_t)t->len);
}

/* Reads the next token into p->t. */
static void next(parser_t *p)
{
    static const char *const ops2[] = {"**", "<=", ">=", "==", "!=", "&&", "||"};
    const char *s = p->text;
    while (isspace((unsigned char)s[p->pos]))
        p->pos++;
    const int at = p->pos;
    tok_t t = {.col = at + 1, .s = s + at};
    const char c = s[at];
    if (!c) {
        t.kind = T_END;
    } else if (isdigit((unsigned char)c) || (c == '.' && isdigit((unsigned char)s[at + 1]))) {
        int k = at;
        while (isdigit((unsigned char)s[k]))
            k++;
        if (s[k] == '.')
            for (k++; isdigit((unsigned char)s[k]);)
                k++;
        if (s[k] == 'e' || s[k] == 'E') {
            int d = k + 1 + (s[k + 1] == '+' || s[k + 1] == '-');
            if (!isdigit((unsigned char)s[d])) {
                fail(p, t.col, "malformed number '%.*s'", d - at, t.s);
                return;
            }
            for (k = d; isdigit((unsigned char)s[k]);)
                k++;
        }
        char buf[DP_EXPR_MAX_LEN + 1];
        memcpy(buf, t.s, (size_t)(k - at));
        buf[k - at] = '\0';
        t.kind = T_NUM;
        t.v = strtod(buf, NULL);
        t.len = k - at;
    } else if (isalpha((unsigned char)c) || c == '_') {
        int k = at;
        while (isalnum((unsigned char)s[k]) || s[k] == '_')
            k++;
        t.kind = T_NAME;
        t.len = k - at;
        static const char *const words[][2] = {{"and", "&&"}, {"or", "||"}, {"not", "!"}};
        for (int w = 0; w < 3; w++)
            if (named(&t, words[w][0])) {
                t.kind = T_OP;
                strcpy(t.op, words[w][1]);
            }
    } else {
        t.kind = T_OP;
        for (int k = 0; k < 7 && !t.len; k++)
            if (!strncmp(t.s, ops2[k], 2))
                t.len = 2;
        if (!t.len && strchr("+-*/%^(),<>!", c))
            t.len = 1;
        if (!t.len) {
            const char *hint = c == '='   ? " (compare with '==')"
                               : c == '&' ? " (logical and is '&&')"
                               : c == '|' ? " (logical or is '||')"
                                          : "";
            if (isprint((unsigned char)c))
                fail(p, t.col, "unexpected character '%c'%s", c, hint);
            else
                fail(p, t.col, "unexpected byte 0x%02x", (unsigned char)c);
            return;
        }
        memcpy(t.op, t.s, (size_t)t.len);
    }
    p->pos = at + t.len;
    p->t = t;
}

/* Whether the current token is the operator op. */
static int is(const parser_t *p, const char *op)
{
    return p->t.kind == T_OP && !strcmp(p->t.op, op);
}

/* Fails at the current token: "<what>, found '<token>'". */
static int unexpected(parser_t *p, const char *what)
{
    if (p->t.kind == T_END)
        return fail(p, p->t.col, "%s, found the end of the expression", what);
    const int len = p->t.len < 40 ? p->t.len : 40;
    return fail(p, p->t.col, "%s, found '%.*s'", what, len, p->t.s);
}

/* Edit distance between a and b[0..n) (optimal string alignment: a swap of neighbours is one
 * edit), for names of at most 32 characters; larger otherwise. */
static int distance(const char *a, const char *b, int n)
{
    const int m = (int)strlen(a);
    if (m > 32 || n > 32)
        return 99;
    int d[33][33];
    for (int i = 0; i <= m; i++)
        for (int j = 0; j <= n; j++) {
            if (!i || !j) {
                d[i][j] = i + j;
                continue;
            }
            const int sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
            const int del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
            int v = sub < del ? sub : del;
            v = v < ins ? v : ins;
            if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] &&
                d[i - 2][j - 2] + 1 < v)
                v = d[i - 2][j - 2] + 1;
            d[i][j] = v;
        }
    return d[m][n];
}

/* Keeps in *best the candidate nearest to the token's name. */
static void consider(const parser_t *p, const char *cand, const char **best, int *dbest)
{
    const int d = distance(cand, p->t.s, p->t.len);
    if (d < *dbest) {
        *dbest = d;
        *best = cand;
    }
}

/* Fails on an unknown name, suggesting the nearest known one of its kind when it is within 2
 * edits and at most half the letters of the name. */
static int unknown(parser_t *p, int call)
{
    const char *best = NULL;
    int dbest = 99;
    if (call)
        for (int k = 0; k < NFUNCS; k++)
            consider(p, funcs[k].name, &best, &dbest);
    else {
        consider(p, "x", &best, &dbest);
        consider(p, "i", &best, &dbest);
        for (int k = 0; k < p->nnames; k++)
            consider(p, p->names[k], &best, &dbest);
        for (int k = 0; k < NBUILTINS; k++)
            consider(p, builtins[k].name, &best, &dbest);
    }
    const char *kind = call ? "function" : "name";
    if (dbest <= 2 && 2 * dbest <= p->t.len)
        return fail(p, p->t.col, "unknown %s '%.*s' (did you mean '%s'?)", kind, p->t.len, p->t.s,
                    best);
    return fail(p, p->t.col, "unknown %s '%.*s'", kind, p->t.len < 40 ? p->t.len : 40, p->t.s);
}

/* An operand of an instruction being emitted. */
typedef struct {
    enum { O_X, O_REG, O_CONST } kind;
    int reg;
    double v;
} opnd_t;

/* Appends r = op(a[0..nargs)) to the program, computing x^2 as x*x. */
static void emit(dp_expr_t *e, int op, const opnd_t *a, int nargs, int dst)
{
    dp_expr_ins_t in = {
        .op = (int8_t)op, .dst = (int8_t)dst, .src = {DP_EXPR_X, DP_EXPR_X, DP_EXPR_X}};
    opnd_t sq[2];
    if (op == DP_EXPR_POW && a[1].kind == O_CONST && a[1].v == 2) {
        in.op = DP_EXPR_MUL;
        sq[0] = sq[1] = a[0];
        a = sq;
    }
    for (int j = 0; j < nargs; j++) {
        if (a[j].kind == O_CONST) {
            in.konst |= (uint8_t)(1u << j);
            in.k[j] = a[j].v;
        } else {
            in.src[j] = (int8_t)(a[j].kind == O_X ? DP_EXPR_X : a[j].reg);
        }
    }
    e->ins[e->nins++] = in;
}

/* A new node; a node of constants becomes the constant it computes. Returns its index. */
static int make(parser_t *p, int op, const int *arg, int nargs)
{
    for (int j = 0; j < nargs; j++)
        if (arg[j] < 0)
            return -1;
    const node_t *a = p->nodes;
    if (op == DP_EXPR_WHERE && a[arg[0]].kind == N_CONST)
        return a[arg[0]].v != 0 ? arg[1] : arg[2];
    node_t *n = &p->nodes[p->nn];
    *n = (node_t){.kind = N_OP, .op = op, .nargs = nargs};
    int konst = 1, held = 0, order[3] = {0, 1, 2};
    for (int j = 0; j < nargs; j++) {
        n->arg[j] = arg[j];
        konst &= a[arg[j]].kind == N_CONST;
    }
    for (int j = 1; j < nargs; j++) /* the operands by decreasing need: the order of gen() */
        for (int k = j; k > 0 && a[arg[order[k]]].need > a[arg[order[k - 1]]].need; k--) {
            const int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    n->need = 1;
    for (int j = 0; j < nargs; j++) {
        const int need = a[arg[order[j]]].need;
        if (held + need > n->need)
            n->need = held + need;
        held += need > 0;
    }
    if (konst) { /* run the instruction over x = the first operand */
        opnd_t o[3] = {{.kind = O_X}};
        for (int j = 1; j < nargs; j++)
            o[j] = (opnd_t){.kind = O_CONST, .v = a[arg[j]].v};
        dp_expr_ins_t in;
        dp_expr_t one = {.ins = &in};
        emit(&one, op, o, nargs, DP_EXPR_OUT);
        *n = (node_t){.kind = N_CONST};
        dp_expr_eval(&one, &a[arg[0]].v, &n->v, 1, 0);
    }
    return p->nn++;
}

static int leaf(parser_t *p, node_kind_t kind, double v)
{
    p->nodes[p->nn] = (node_t){.kind = kind, .v = v, .need = kind == N_I};
    return p->nn++;
}

static int binary(parser_t *p, int level);
static int unary(parser_t *p);

/* name(args): the current token is the name, followed by '('. */
static int call(parser_t *p)
{
    int f = 0;
    while (f < NFUNCS && !named(&p->t, funcs[f].name))
        f++;
    if (f == NFUNCS) {
        if (named(&p->t, "x") || named(&p->t, "i"))
            return fail(p, p->t.col, "'%c' is a variable, not a function", p->t.s[0]);
        return unknown(p, 1);
    }
    const int col = p->t.col;
    next(p);
    const int open = p->t.col;
    next(p);
    int arg[3], n = 0;
    while (!is(p, ")")) {
        if (p->t.kind == T_END)
            return fail(p, open, "unbalanced parentheses: '(' is never closed");
        if (n && !is(p, ","))
            return unexpected(p, "expected ',' or ')'");
        if (n)
            next(p);
        const int a = binary(p, 0);
        if (a < 0)
            return -1;
        if (n < 3)
            arg[n] = a;
        n++;
    }
    next(p);
    if (n != funcs[f].nargs)
        return fail(p, col, "%s takes %d argument%s, not %d", funcs[f].name, funcs[f].nargs,
                    funcs[f].nargs > 1 ? "s" : "", n);
    return make(p, funcs[f].op, arg, n);
}

/* A number, a name, a call or a parenthesised expression. */
static int primary(parser_t *p)
{
    const tok_t t = p->t;
    if (t.kind == T_NUM) {
        next(p);
        return leaf(p, N_CONST, t.v);
    }
    if (is(p, "(")) {
        next(p);
        const int r = binary(p, 0);
        if (r < 0)
            return -1;
        if (!is(p, ")"))
            return p->t.kind == T_END
                       ? fail(p, t.col, "unbalanced parentheses: '(' is never closed")
                       : unexpected(p, "expected ')' or an operator");
        next(p);
        return r;
    }
    if (t.kind != T_NAME)
        return unexpected(p, "expected a number, a name or '('");
    int k = p->pos;
    while (isspace((unsigned char)p->text[k]))
        k++;
    if (p->text[k] == '(')
        return call(p);
    int r = -1;
    if (named(&t, "x")) {
        r = leaf(p, N_X, 0);
        p->uses_x = 1;
    } else if (named(&t, "i")) {
        r = leaf(p, N_I, 0);
        p->uses_i = 1;
    }
    for (int j = 0; r < 0 && j < p->nnames; j++)
        if (named(&t, p->names[j])) {
            r = leaf(p, N_CONST, p->values[j]);
            p->mentioned[j] = 1;
        }
    for (int j = 0; r < 0 && j < NBUILTINS; j++)
        if (named(&t, builtins[j].name))
            r = leaf(p, N_CONST, builtins[j].v);
    for (int j = 0; r < 0 && j < NFUNCS; j++)
        if (named(&t, funcs[j].name))
            return fail(p, t.col, "'%s' is a function: write %s(...)", funcs[j].name,
                        funcs[j].name);
    if (r < 0)
        return unknown(p, 0);
    next(p);
    return r;
}

/* primary, or primary ^ unary (right-associative, and tighter than a unary operator on its
 * left: -x^2 is -(x^2)). */
static int power(parser_t *p)
{
    const int b = primary(p);
    if (b < 0 || !(is(p, "^") || is(p, "**")))
        return b;
    next(p);
    const int arg[2] = {b, unary(p)};
    return make(p, DP_EXPR_POW, arg, 2);
}

/* - + ! not before a power; counts the nesting. */
static int unary(parser_t *p)
{
    if (++p->depth > DP_EXPR_MAX_DEPTH)
        return fail(p, p->t.col, "nested deeper than %d levels", DP_EXPR_MAX_DEPTH);
    int r;
    if (is(p, "-") || is(p, "!")) {
        const int op = is(p, "-") ? DP_EXPR_NEG : DP_EXPR_NOT;
        next(p);
        const int a = unary(p);
        r = make(p, op, &a, 1);
    } else if (is(p, "+")) {
        next(p);
        r = unary(p);
    } else {
        r = power(p);
    }
    p->depth--;
    return r;
}

/* The operators of one level and tighter, left-associative. */
static int binary(parser_t *p, int level)
{
    if (level == NLEVELS)
        return unary(p);
    int l = binary(p, level + 1);
    for (;;) {
        int op = -1;
        for (int k = 0; k < 5 && levels[level][k].tok; k++)
            if (is(p, levels[level][k].tok))
                op = levels[level][k].op;
        if (l < 0 || op < 0)
            return l;
        next(p);
        const int arg[2] = {l, binary(p, level + 1)};
        l = make(p, op, arg, 2);
    }
}

/* Emits node id with its result in register d (or the output) and returns where it is:
 * operands of higher need first, each in the lowest free register. */
static opnd_t gen(dp_expr_t *e, const node_t *nodes, int id, int d, int out)
{
    const node_t *n = &nodes[id];
    if (n->kind == N_CONST)
        return (opnd_t){.kind = O_CONST, .v = n->v};
    if (n->kind == N_X)
        return (opnd_t){.kind = O_X};
    const int dst = out ? DP_EXPR_OUT : d;
    if (n->kind == N_I) {
        emit(e, DP_EXPR_INDEX, NULL, 0, dst);
        return (opnd_t){.kind = O_REG, .reg = d};
    }
    opnd_t a[3];
    int done[3] = {0, 0, 0}, free_reg = d;
    for (int j = 0; j < n->nargs; j++) {
        int best = -1;
        for (int k = 0; k < n->nargs; k++)
            if (!done[k] && (best < 0 || nodes[n->arg[k]].need > nodes[n->arg[best]].need))
                best = k;
        done[best] = 1;
        a[best] = gen(e, nodes, n->arg[best], free_reg, 0);
        free_reg += a[best].kind == O_REG;
    }
    emit(e, n->op, a, n->nargs, dst);
    return (opnd_t){.kind = O_REG, .reg = d};
}

/* Fuses a product and the constant added to (or subtracted from) it, r = a*b + k, k + a*b,
 * a*b - k or k - a*b, into one MULADD: one pass over the vector instead of two, which keeps the
 * memory streams of a formula like a*x + b as busy as a C loop keeps them. The results are
 * those of the two instructions: a*b - k is a*b + (-k), and k - a*b is (-a)*b + k, exactly. */
static void fuse(dp_expr_t *e)
{
    int n = 0;
    for (int q = 0; q < e->nins; q++) {
        dp_expr_ins_t *mul = n > 0 ? &e->ins[n - 1] : NULL;
        const dp_expr_ins_t *add = &e->ins[q];
        const int reg = mul && mul->op == DP_EXPR_MUL && mul->dst >= 0 ? mul->dst : -100;
        const int add_c = add->op == DP_EXPR_ADD || add->op == DP_EXPR_SUB;
        /* which operand of add is the product (the other is its constant), or -1 */
        const int at = !add_c                                  ? -1
                       : add->konst == 2 && add->src[0] == reg ? 0
                       : add->konst == 1 && add->src[1] == reg ? 1
                                                               : -1;
        const int negate = add->op == DP_EXPR_SUB && at == 1; /* k - a*b = (-a)*b + k */
        if (at < 0 || (negate && !(mul->konst & 3))) {
            e->ins[n++] = *add;
            continue;
        }
        if (negate)
            mul->k[mul->konst & 1 ? 0 : 1] *= -1;
        mul->op = DP_EXPR_MULADD;
        mul->dst = add->dst;
        mul->k[2] = add->op == DP_EXPR_SUB && at == 0 ? -add->k[1] : add->k[1 - at];
    }
    e->nins = n;
}

dp_expr_t *dp_expr_compile(const char *text, const char *const *names, const double *values,
                           int nnames, dp_expr_error_t *err)
{
    const size_t len = strlen(text);
    parser_t p = {.text = text, .names = names, .values = values, .nnames = nnames, .err = err};
    memset(err, 0, sizeof *err);
    if (len > DP_EXPR_MAX_LEN) {
        fail(&p, DP_EXPR_MAX_LEN + 1, "longer than %d characters", DP_EXPR_MAX_LEN);
        return NULL;
    }
    p.nodes = malloc((len + 1) * sizeof *p.nodes);
    p.mentioned = calloc((size_t)nnames + 1, 1);
    dp_expr_t *e = calloc(1, sizeof *e);
    if (e)
        e->ins = malloc((len + 1) * sizeof *e->ins);
    size_t clen = 1;
    int root = -1;
    if (!p.nodes || !p.mentioned || !e || !e->ins) {
        fail(&p, 1, "out of memory");
    } else {
        next(&p);
        if (p.t.kind == T_END)
            fail(&p, 1, "empty expression");
        root = binary(&p, 0);
        if (p.failed) /* the tokenizer's errors end the text early */
            root = -1;
        if (root >= 0 && p.t.kind != T_END)
            root = is(&p, ")") ? fail(&p, p.t.col, "unbalanced parentheses: ')' without '('")
                               : unexpected(&p, "expected an operator");
        if (root >= 0 && p.nodes[root].need > DP_EXPR_MAX_REGS)
            root = fail(&p, 1, "too complex: needs more than %d scratch vectors, split it",
                        DP_EXPR_MAX_REGS);
        for (int j = 0; j < nnames; j++)
            clen += p.mentioned[j] ? strlen(names[j]) + 1 : 0;
        if (root >= 0 && !(e->consts = malloc(clen)))
            root = fail(&p, 1, "out of memory");
    }
    if (root < 0) {
        free(p.nodes);
        free(p.mentioned);
        dp_expr_free(e);
        return NULL;
    }
    const opnd_t r = gen(e, p.nodes, root, 0, 1);
    if (r.kind != O_REG)
        emit(e, r.kind == O_X ? DP_EXPR_COPY : DP_EXPR_FILL, &r, 1, DP_EXPR_OUT);
    fuse(e);
    char *c = e->consts;
    for (int j = 0; j < nnames; j++)
        if (p.mentioned[j])
            c += sprintf(c, "%s", names[j]) + 1;
    *c = '\0';
    e->uses_x = p.uses_x;
    e->uses_i = p.uses_i;
    free(p.nodes);
    free(p.mentioned);
    return e;
}
