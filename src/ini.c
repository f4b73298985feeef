#include "ini.h"

#include "err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

static char *dup_range(const char *b, const char *e)
{
    size_t n = (size_t)(e - b);
    char *s = dp_xmalloc(n + 1);
    memcpy(s, b, n);
    s[n] = '\0';
    return s;
}

static int is_name_char(int c)
{
    return isalnum(c) || c == '_' || c == '-';
}

static int valid_name(const char *b, const char *e)
{
    if (b == e)
        return 0;
    for (const char *p = b; p < e; p++)
        if (!is_name_char((unsigned char)*p))
            return 0;
    return 1;
}

static void trim(const char **b, const char **e)
{
    while (*b < *e && isspace((unsigned char)**b))
        (*b)++;
    while (*e > *b && isspace((unsigned char)(*e)[-1]))
        (*e)--;
}

/* Index of the start of an inline comment: ';' or '#' at the start or after a blank. */
static const char *comment_start(const char *b, const char *e)
{
    for (const char *p = b; p < e; p++)
        if ((*p == ';' || *p == '#') && (p == b || isspace((unsigned char)p[-1])))
            return p;
    return e;
}

dp_ini_entry_t *dp_ini_find(const dp_ini_t *ini, const char *section, const char *key)
{
    for (size_t i = 0; i < ini->n; i++)
        if (!strcmp(ini->e[i].section, section) && !strcmp(ini->e[i].key, key))
            return &ini->e[i];
    return NULL;
}

const dp_ini_section_t *dp_ini_section(const dp_ini_t *ini, const char *section)
{
    for (size_t i = 0; i < ini->nsec; i++)
        if (!strcmp(ini->sec[i].name, section))
            return &ini->sec[i];
    return NULL;
}

static void add_section(dp_ini_t *ini, char *name, dp_where_t where)
{
    if (ini->nsec == ini->capsec) {
        ini->capsec = ini->capsec ? 2 * ini->capsec : 8;
        ini->sec = dp_xrealloc(ini->sec, ini->capsec * sizeof *ini->sec);
    }
    ini->sec[ini->nsec++] = (dp_ini_section_t){.name = name, .where = where};
}

static void add_entry(dp_ini_t *ini, char *section, char *key, char *value, dp_where_t where)
{
    if (ini->n == ini->cap) {
        ini->cap = ini->cap ? 2 * ini->cap : 16;
        ini->e = dp_xrealloc(ini->e, ini->cap * sizeof *ini->e);
    }
    ini->e[ini->n++] =
        (dp_ini_entry_t){.section = section, .key = key, .value = value, .where = where, .used = 0};
}

/* Parses the value part of "key = value": quoted or bare, inline comment removed. Returns
 * NULL with *why set when malformed. */
static char *parse_value(const char *b, const char *e, const char **start, const char **why)
{
    trim(&b, &e);
    *start = b < e && *b == '"' ? b + 1 : b;
    if (b < e && *b == '"') {
        const char *q = memchr(b + 1, '"', (size_t)(e - b - 1));
        if (!q) {
            *why = "unterminated double quote";
            return NULL;
        }
        const char *rest = q + 1, *rend = e;
        trim(&rest, &rend);
        if (rest < rend && *rest != ';' && *rest != '#') {
            *why = "text after the closing quote";
            return NULL;
        }
        return dup_range(b + 1, q);
    }
    e = comment_start(b, e);
    trim(&b, &e);
    return dup_range(b, e);
}

static void parse_line(dp_ini_t *ini, const char *b, const char *e, dp_where_t where,
                       const char **cur_section, dp_diag_t *diag)
{
    const char *const line_start = b;
    if (memchr(b, '\0', (size_t)(e - b))) {
        dp_diag_add(diag, where, NULL, NULL, "the line contains a NUL byte (a job file is text)");
        return;
    }
    trim(&b, &e);
    if (b == e || *b == ';' || *b == '#')
        return;
    if (*b == '[') {
        const char *close = memchr(b, ']', (size_t)(e - b));
        if (!close) {
            dp_diag_add(diag, where, NULL, NULL, "section header without ']'");
            *cur_section = NULL;
            return;
        }
        const char *nb = b + 1, *ne = close, *rest = close + 1, *rend = e;
        trim(&nb, &ne);
        trim(&rest, &rend);
        if (rest < rend && *rest != ';' && *rest != '#') {
            dp_diag_add(diag, where, NULL, NULL, "text after the section header");
            *cur_section = NULL;
            return;
        }
        char *name = dup_range(nb, ne);
        if (!valid_name(nb, ne)) {
            dp_diag_add(diag, where, name, NULL,
                        "bad section name (letters, digits, '_' and '-' only)");
            free(name);
            *cur_section = NULL;
            return;
        }
        const dp_ini_section_t *prev = dp_ini_section(ini, name);
        if (prev) {
            dp_diag_add(diag, where, name, NULL,
                        "section appears twice (first at line %d); merge them", prev->where.line);
            free(name);
            *cur_section = NULL;
            return;
        }
        add_section(ini, name, where);
        *cur_section = name;
        return;
    }
    const char *eq = memchr(b, '=', (size_t)(e - b));
    if (!eq) {
        dp_diag_add(diag, where, *cur_section, NULL,
                    "expected 'key = value', '[section]' or a comment");
        return;
    }
    const char *kb = b, *ke = eq;
    trim(&kb, &ke);
    char *key = dup_range(kb, ke);
    if (!valid_name(kb, ke)) {
        dp_diag_add(diag, where, *cur_section, NULL,
                    "bad key name '%.64s' (letters, digits, '_' and '-' only)", key);
        free(key);
        return;
    }
    if (!*cur_section) {
        if (ini->nsec == 0)
            dp_diag_add(diag, where, NULL, key,
                        "key before any section header (start with e.g. [job])");
        free(key);
        return;
    }
    const char *why = NULL;
    const char *start;
    char *value = parse_value(eq + 1, e, &start, &why);
    if (!value) {
        dp_diag_add(diag, where, *cur_section, key, "%s", why);
        free(key);
        return;
    }
    const dp_ini_entry_t *prev = dp_ini_find(ini, *cur_section, key);
    if (prev) {
        dp_diag_add(diag, where, *cur_section, key, "key appears twice (first at line %d)",
                    prev->where.line);
        free(key);
        free(value);
        return;
    }
    add_entry(ini, dp_xstrdup(*cur_section), key, value, where);
    ini->e[ini->n - 1].col = (int)(start - line_start) + 1;
}

void dp_ini_parse(dp_ini_t *ini, const char *file, const char *text, size_t len, dp_diag_t *diag)
{
    ini->file = file;
    const char *p = text, *end = text + len;
    if (len >= 3 && !memcmp(p, "\xEF\xBB\xBF", 3))
        p += 3;
    const char *cur = NULL;
    int line = 0;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        const char *e = nl ? nl : end;
        line++;
        dp_where_t where = {.file = file, .line = line, .set = NULL};
        const size_t before = diag->n;
        parse_line(ini, p, e, where, &cur, diag);
        ini->bad_lines += diag->n > before;
        p = nl ? nl + 1 : end;
    }
}

void dp_ini_override(dp_ini_t *ini, const char *set, dp_diag_t *diag)
{
    dp_where_t where = {.file = ini->file, .line = 0, .set = set};
    const char *eq = strchr(set, '=');
    const char *dot = strchr(set, '.');
    if (!eq || !dot || dot > eq) {
        dp_diag_add(diag, where, NULL, NULL, "expected --set section.key=value");
        return;
    }
    const char *sb = set, *se = dot, *kb = dot + 1, *ke = eq;
    trim(&sb, &se);
    trim(&kb, &ke);
    if (!valid_name(sb, se) || !valid_name(kb, ke)) {
        dp_diag_add(diag, where, NULL, NULL,
                    "bad section or key name (letters, digits, '_' and '-' only)");
        return;
    }
    char *section = dup_range(sb, se);
    char *key = dup_range(kb, ke);
    const char *vb = eq + 1, *ve = eq + strlen(eq);
    trim(&vb, &ve);
    char *value = dup_range(vb, ve);
    if (!dp_ini_section(ini, section))
        add_section(ini, dp_xstrdup(section), where);
    dp_ini_entry_t *prev = dp_ini_find(ini, section, key);
    if (prev) {
        free(prev->value);
        prev->value = value;
        prev->where = where;
        free(section);
        free(key);
        return;
    }
    add_entry(ini, section, key, value, where);
}

void dp_ini_free(dp_ini_t *ini)
{
    for (size_t i = 0; i < ini->n; i++) {
        free(ini->e[i].section);
        free(ini->e[i].key);
        free(ini->e[i].value);
    }
    for (size_t i = 0; i < ini->nsec; i++)
        free(ini->sec[i].name);
    free(ini->e);
    free(ini->sec);
    *ini = (dp_ini_t){0};
}
