#include "dp_test.h"
#include "ini.h"

#include <stdlib.h>
#include <string.h>

static dp_ini_t ini;
static dp_diag_t diag;

static void parse(const char *text, size_t len)
{
    dp_ini_free(&ini);
    dp_diag_free(&diag);
    dp_ini_parse(&ini, "t.ini", text, len, &diag);
}

static const char *value(const char *sec, const char *key)
{
    const dp_ini_entry_t *e = dp_ini_find(&ini, sec, key);
    return e ? e->value : NULL;
}

static int diag_has(const char *text)
{
    for (size_t i = 0; i < diag.n; i++)
        if (strstr(diag.msg[i], text))
            return 1;
    return 0;
}

static void test_basic(void)
{
    const char *t = "; comment\n# another\n[job]\nkernel = reduce\n\n[input]\n  path=a b.h5 \n";
    parse(t, strlen(t));
    CU_ASSERT_EQUAL(diag.n, 0);
    CU_ASSERT_STRING_EQUAL(value("job", "kernel"), "reduce");
    CU_ASSERT_STRING_EQUAL(value("input", "path"), "a b.h5");
    CU_ASSERT_EQUAL(dp_ini_find(&ini, "input", "path")->where.line, 7);
    CU_ASSERT_EQUAL(dp_ini_section(&ini, "input")->where.line, 6);
}

static void test_comments_and_quotes(void)
{
    const char *t = "[a]\nx = 1 ; inline\ny = p#q\nz = \"  ; kept \" ; gone\nw = \"\"\n";
    parse(t, strlen(t));
    CU_ASSERT_EQUAL(diag.n, 0);
    CU_ASSERT_STRING_EQUAL(value("a", "x"), "1");
    CU_ASSERT_STRING_EQUAL(value("a", "y"), "p#q");
    CU_ASSERT_STRING_EQUAL(value("a", "z"), "  ; kept ");
    CU_ASSERT_STRING_EQUAL(value("a", "w"), "");
}

static void test_bom_crlf(void)
{
    const char *t = "\xEF\xBB\xBF[job]\r\nkernel = copy\r\n";
    parse(t, strlen(t));
    CU_ASSERT_EQUAL(diag.n, 0);
    CU_ASSERT_STRING_EQUAL(value("job", "kernel"), "copy");
    CU_ASSERT_EQUAL(dp_ini_find(&ini, "job", "kernel")->where.line, 2);
}

static void test_syntax_errors(void)
{
    const char *t = "x = 1\n[job]\nkernel\n[bad name]\n[open\n[job]\n[a]\nk = \"q\n";
    parse(t, strlen(t));
    CU_ASSERT(diag_has("t.ini:1: key before any section header"));
    CU_ASSERT(diag_has("t.ini:3: [job]: expected 'key = value'"));
    CU_ASSERT(diag_has("t.ini:4: [bad name]: bad section name"));
    CU_ASSERT(diag_has("t.ini:5: section header without ']'"));
    CU_ASSERT(diag_has("t.ini:6: [job]: section appears twice (first at line 2)"));
    CU_ASSERT(diag_has("t.ini:8: [a] k: unterminated double quote"));
    CU_ASSERT_EQUAL(diag.n, 6);
}

static void test_duplicate_key(void)
{
    const char *t = "[a]\nk = 1\nk = 2\n";
    parse(t, strlen(t));
    CU_ASSERT_EQUAL(diag.n, 1);
    CU_ASSERT(diag_has("t.ini:3: [a] k: key appears twice (first at line 2)"));
    CU_ASSERT_STRING_EQUAL(value("a", "k"), "1");
}

static void test_nul_byte(void)
{
    const char t[] = "[a]\nk = 1\0x\nj = 2\n";
    parse(t, sizeof t - 1);
    CU_ASSERT_EQUAL(diag.n, 1);
    CU_ASSERT(diag_has("t.ini:2: the line contains a NUL byte"));
    CU_ASSERT_STRING_EQUAL(value("a", "j"), "2");
}

static void test_long_line(void)
{
    size_t n = 200000;
    char *t = malloc(n + 32);
    strcpy(t, "[a]\nk = ");
    size_t h = strlen(t);
    memset(t + h, 'v', n);
    strcpy(t + h + n, "\n");
    parse(t, strlen(t));
    CU_ASSERT_EQUAL(diag.n, 0);
    CU_ASSERT_EQUAL(strlen(value("a", "k")), n);
    free(t);
}

static void test_override(void)
{
    const char *t = "[a]\nk = 1\n";
    parse(t, strlen(t));
    dp_ini_override(&ini, "a.k=2", &diag);
    dp_ini_override(&ini, "b.new = x y", &diag);
    dp_ini_override(&ini, "nodot=1", &diag);
    dp_ini_override(&ini, "a.k", &diag);
    CU_ASSERT_STRING_EQUAL(value("a", "k"), "2");
    CU_ASSERT_PTR_NOT_NULL(dp_ini_find(&ini, "a", "k")->where.set);
    CU_ASSERT_STRING_EQUAL(value("b", "new"), "x y");
    CU_ASSERT_PTR_NOT_NULL(dp_ini_section(&ini, "b"));
    CU_ASSERT_EQUAL(diag.n, 2);
    CU_ASSERT(diag_has("--set nodot=1: expected --set section.key=value"));
    CU_ASSERT(diag_has("--set a.k: expected --set section.key=value"));
}

int main(void)
{
    static const dp_test_case_t cases[] = {
        {"basic", test_basic},
        {"comments and quotes", test_comments_and_quotes},
        {"BOM and CRLF", test_bom_crlf},
        {"syntax errors with line numbers", test_syntax_errors},
        {"duplicate key", test_duplicate_key},
        {"NUL byte", test_nul_byte},
        {"200 kB line", test_long_line},
        {"--set overrides", test_override},
        {NULL, NULL},
    };
    int rc = dp_test_main("ini", cases);
    dp_ini_free(&ini);
    dp_diag_free(&diag);
    return rc;
}
