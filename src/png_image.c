#include "png_image.h"

#include "dp_version.h"
#include "err.h"
#include "publish.h"

#include <errno.h>
#include <limits.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* The font: 5x7 glyphs, one string per row from the top, '#' for ink. Lower-case letters take
 * rows 2 to 6; those with descenders have a three-row body (rows 2 to 4) above a two-row
 * descender, so that everything fits in the seven rows. */
typedef struct {
    char ch;
    const char *rows[7];
} glyph_t;

static const glyph_t font[] = {
    {' ', {".....", ".....", ".....", ".....", ".....", ".....", "....."}},
    {'0', {".###.", "#...#", "#..##", "#.#.#", "##..#", "#...#", ".###."}},
    {'1', {"..#..", ".##..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'2', {".###.", "#...#", "....#", "...#.", "..#..", ".#...", "#####"}},
    {'3', {"#####", "...#.", "..#..", "...#.", "....#", "#...#", ".###."}},
    {'4', {"...#.", "..##.", ".#.#.", "#..#.", "#####", "...#.", "...#."}},
    {'5', {"#####", "#....", "####.", "....#", "....#", "#...#", ".###."}},
    {'6', {"..##.", ".#...", "#....", "####.", "#...#", "#...#", ".###."}},
    {'7', {"#####", "....#", "...#.", "..#..", ".#...", ".#...", ".#..."}},
    {'8', {".###.", "#...#", "#...#", ".###.", "#...#", "#...#", ".###."}},
    {'9', {".###.", "#...#", "#...#", ".####", "....#", "...#.", ".##.."}},
    {'A', {".###.", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'B', {"####.", "#...#", "#...#", "####.", "#...#", "#...#", "####."}},
    {'C', {".###.", "#...#", "#....", "#....", "#....", "#...#", ".###."}},
    {'D', {"###..", "#..#.", "#...#", "#...#", "#...#", "#..#.", "###.."}},
    {'E', {"#####", "#....", "#....", "####.", "#....", "#....", "#####"}},
    {'F', {"#####", "#....", "#....", "####.", "#....", "#....", "#...."}},
    {'G', {".###.", "#...#", "#....", "#.###", "#...#", "#...#", ".####"}},
    {'H', {"#...#", "#...#", "#...#", "#####", "#...#", "#...#", "#...#"}},
    {'I', {".###.", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'J', {"..###", "...#.", "...#.", "...#.", "...#.", "#..#.", ".##.."}},
    {'K', {"#...#", "#..#.", "#.#..", "##...", "#.#..", "#..#.", "#...#"}},
    {'L', {"#....", "#....", "#....", "#....", "#....", "#....", "#####"}},
    {'M', {"#...#", "##.##", "#.#.#", "#.#.#", "#...#", "#...#", "#...#"}},
    {'N', {"#...#", "#...#", "##..#", "#.#.#", "#..##", "#...#", "#...#"}},
    {'O', {".###.", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'P', {"####.", "#...#", "#...#", "####.", "#....", "#....", "#...."}},
    {'Q', {".###.", "#...#", "#...#", "#...#", "#.#.#", "#..#.", ".##.#"}},
    {'R', {"####.", "#...#", "#...#", "####.", "#.#..", "#..#.", "#...#"}},
    {'S', {".####", "#....", "#....", ".###.", "....#", "....#", "####."}},
    {'T', {"#####", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
    {'U', {"#...#", "#...#", "#...#", "#...#", "#...#", "#...#", ".###."}},
    {'V', {"#...#", "#...#", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
    {'W', {"#...#", "#...#", "#...#", "#.#.#", "#.#.#", "#.#.#", ".#.#."}},
    {'X', {"#...#", "#...#", ".#.#.", "..#..", ".#.#.", "#...#", "#...#"}},
    {'Y', {"#...#", "#...#", ".#.#.", "..#..", "..#..", "..#..", "..#.."}},
    {'Z', {"#####", "....#", "...#.", "..#..", ".#...", "#....", "#####"}},
    {'a', {".....", ".....", ".###.", "....#", ".####", "#...#", ".####"}},
    {'b', {"#....", "#....", "#.##.", "##..#", "#...#", "#...#", "####."}},
    {'c', {".....", ".....", ".###.", "#....", "#....", "#...#", ".###."}},
    {'d', {"....#", "....#", ".##.#", "#..##", "#...#", "#...#", ".####"}},
    {'e', {".....", ".....", ".###.", "#...#", "#####", "#....", ".###."}},
    {'f', {"..##.", ".#..#", ".#...", "###..", ".#...", ".#...", ".#..."}},
    {'g', {".....", ".....", ".####", "#...#", ".####", "....#", ".###."}},
    {'h', {"#....", "#....", "#.##.", "##..#", "#...#", "#...#", "#...#"}},
    {'i', {"..#..", ".....", ".##..", "..#..", "..#..", "..#..", ".###."}},
    {'j', {"...#.", ".....", "..##.", "...#.", "...#.", "#..#.", ".##.."}},
    {'k', {"#....", "#....", "#..#.", "#.#..", "##...", "#.#..", "#..#."}},
    {'l', {".##..", "..#..", "..#..", "..#..", "..#..", "..#..", ".###."}},
    {'m', {".....", ".....", "##.#.", "#.#.#", "#.#.#", "#...#", "#...#"}},
    {'n', {".....", ".....", "#.##.", "##..#", "#...#", "#...#", "#...#"}},
    {'o', {".....", ".....", ".###.", "#...#", "#...#", "#...#", ".###."}},
    {'p', {".....", ".....", "####.", "#...#", "####.", "#....", "#...."}},
    {'q', {".....", ".....", ".####", "#...#", ".####", "....#", "....#"}},
    {'r', {".....", ".....", "#.##.", "##..#", "#....", "#....", "#...."}},
    {'s', {".....", ".....", ".####", "#....", ".###.", "....#", "####."}},
    {'t', {".#...", ".#...", "###..", ".#...", ".#...", ".#..#", "..##."}},
    {'u', {".....", ".....", "#...#", "#...#", "#...#", "#..##", ".##.#"}},
    {'v', {".....", ".....", "#...#", "#...#", "#...#", ".#.#.", "..#.."}},
    {'w', {".....", ".....", "#...#", "#...#", "#.#.#", "#.#.#", ".#.#."}},
    {'x', {".....", ".....", "#...#", ".#.#.", "..#..", ".#.#.", "#...#"}},
    {'y', {".....", ".....", "#...#", "#...#", ".####", "....#", ".###."}},
    {'z', {".....", ".....", "#####", "...#.", "..#..", ".#...", "#####"}},
    {'.', {".....", ".....", ".....", ".....", ".....", ".##..", ".##.."}},
    {',', {".....", ".....", ".....", ".....", ".##..", "..#..", ".#..."}},
    {':', {".....", ".##..", ".##..", ".....", ".##..", ".##..", "....."}},
    {'-', {".....", ".....", ".....", "#####", ".....", ".....", "....."}},
    {'+', {".....", "..#..", "..#..", "#####", "..#..", "..#..", "....."}},
    {'=', {".....", ".....", "#####", ".....", "#####", ".....", "....."}},
    {'_', {".....", ".....", ".....", ".....", ".....", ".....", "#####"}},
    {'/', {".....", "....#", "...#.", "..#..", ".#...", "#....", "....."}},
    {'(', {"...#.", "..#..", ".#...", ".#...", ".#...", "..#..", "...#."}},
    {')', {".#...", "..#..", "...#.", "...#.", "...#.", "..#..", ".#..."}},
    {'[', {".###.", ".#...", ".#...", ".#...", ".#...", ".#...", ".###."}},
    {']', {".###.", "...#.", "...#.", "...#.", "...#.", "...#.", ".###."}},
    {'?', {".###.", "#...#", "....#", "...#.", "..#..", ".....", "..#.."}},
    {'!', {"..#..", "..#..", "..#..", "..#..", "..#..", ".....", "..#.."}},
    {'%', {"##...", "##..#", "...#.", "..#..", ".#...", "#..##", "...##"}},
    {'*', {".....", "..#..", "#.#.#", ".###.", "#.#.#", "..#..", "....."}},
    {'#', {".#.#.", ".#.#.", "#####", ".#.#.", "#####", ".#.#.", ".#.#."}},
    {'<', {"...#.", "..#..", ".#...", "#....", ".#...", "..#..", "...#."}},
    {'>', {".#...", "..#..", "...#.", "....#", "...#.", "..#..", ".#..."}},
    {'|', {"..#..", "..#..", "..#..", "..#..", "..#..", "..#..", "..#.."}},
    {'\'', {"..#..", "..#..", ".#...", ".....", ".....", ".....", "....."}},
};

static const glyph_t missing_glyph = {
    0, {"#####", "#...#", "#...#", "#...#", "#...#", "#...#", "#####"}};

static const glyph_t *glyph_of(char ch)
{
    for (size_t i = 0; i < sizeof font / sizeof font[0]; i++)
        if (font[i].ch == ch)
            return &font[i];
    return &missing_glyph;
}

/* A UTF-8 continuation byte: the rest of a character already drawn as one box. */
static int continuation(char ch)
{
    return ((unsigned char)ch & 0xC0) == 0x80;
}

int dp_canvas_init(dp_canvas_t *c, int width, int height, dp_rgb_t background)
{
    *c = (dp_canvas_t){0};
    if (width < 1 || height < 1 || width > PNG_USER_WIDTH_MAX || height > PNG_USER_HEIGHT_MAX)
        return -1;
    c->rgb = malloc((size_t)width * (size_t)height * 3);
    if (!c->rgb)
        return -1;
    c->width = width;
    c->height = height;
    dp_canvas_fill_rect(c, 0, 0, width, height, background);
    return 0;
}

void dp_canvas_free(dp_canvas_t *c)
{
    free(c->rgb);
    *c = (dp_canvas_t){0};
}

void dp_canvas_set(dp_canvas_t *c, int x, int y, dp_rgb_t colour)
{
    if (x < 0 || y < 0 || x >= c->width || y >= c->height)
        return;
    uint8_t *p = c->rgb + ((size_t)y * (size_t)c->width + (size_t)x) * 3;
    p[0] = colour.r;
    p[1] = colour.g;
    p[2] = colour.b;
}

dp_rgb_t dp_canvas_get(const dp_canvas_t *c, int x, int y)
{
    const uint8_t *p = c->rgb + ((size_t)y * (size_t)c->width + (size_t)x) * 3;
    return (dp_rgb_t){p[0], p[1], p[2]};
}

void dp_canvas_fill_rect(dp_canvas_t *c, int x, int y, int w, int h, dp_rgb_t colour)
{
    const int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
    const int x1 = w > c->width - x ? c->width : x + w, y1 = h > c->height - y ? c->height : y + h;
    for (int j = y0; j < y1; j++)
        for (int i = x0; i < x1; i++)
            dp_canvas_set(c, i, j, colour);
}

void dp_canvas_line(dp_canvas_t *c, int x0, int y0, int x1, int y1, dp_rgb_t colour)
{
    const int dx = abs(x1 - x0), dy = -abs(y1 - y0);
    const int sx = x0 < x1 ? 1 : -1, sy = y0 < y1 ? 1 : -1;
    int e = dx + dy;
    for (;;) {
        dp_canvas_set(c, x0, y0, colour);
        if (x0 == x1 && y0 == y1)
            break;
        const int e2 = 2 * e;
        if (e2 >= dy) {
            e += dy;
            x0 += sx;
        }
        if (e2 <= dx) {
            e += dx;
            y0 += sy;
        }
    }
}

int dp_canvas_text_width(const char *text, int scale)
{
    int n = 0;
    for (const char *p = text; *p; p++)
        n += !continuation(*p);
    return n * DP_FONT_ADVANCE * scale;
}

int dp_canvas_text(dp_canvas_t *c, int x, int y, const char *text, dp_rgb_t colour, int scale)
{
    int pen = x;
    for (const char *p = text; *p; p++) {
        if (continuation(*p))
            continue;
        const glyph_t *g = glyph_of(*p);
        for (int row = 0; row < 7; row++)
            for (int col = 0; col < 5; col++)
                if (g->rows[row][col] == '#')
                    dp_canvas_fill_rect(c, pen + col * scale, y + row * scale, scale, scale,
                                        colour);
        pen += DP_FONT_ADVANCE * scale;
    }
    return pen - x;
}

typedef struct {
    char *why;
    size_t size;
} png_failure_t;

static void on_png_error(png_structp png, png_const_charp msg)
{
    png_failure_t *f = png_get_error_ptr(png);
    const int e = errno; /* set when the failure was a write to the file */
    snprintf(f->why, f->size, "%s%s%s", msg, e ? ": " : "", e ? strerror(e) : "");
    png_longjmp(png, 1);
}

static void on_png_warning(png_structp png, png_const_charp msg)
{
    (void)png;
    (void)msg;
}

/* Encodes the canvas into the open file f; 1, or 0 with libpng's reason in why. */
static int encode(FILE *f, const dp_canvas_t *c, char *why, size_t whysz)
{
    png_failure_t failure = {why, whysz};
    png_structp png =
        png_create_write_struct(PNG_LIBPNG_VER_STRING, &failure, on_png_error, on_png_warning);
    png_infop info = png ? png_create_info_struct(png) : NULL;
    if (!info) {
        png_destroy_write_struct(&png, NULL);
        snprintf(why, whysz, "out of memory");
        return 0;
    }
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        return 0;
    }
    png_init_io(png, f);
    errno = 0;
    png_set_IHDR(png, info, (png_uint_32)c->width, (png_uint_32)c->height, 8, PNG_COLOR_TYPE_RGB,
                 PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_text software = {
        .compression = PNG_TEXT_COMPRESSION_NONE, .key = "Software", .text = "dproc " DP_VERSION};
    png_set_text(png, info, &software, 1);
    png_write_info(png, info);
    for (int y = 0; y < c->height; y++)
        png_write_row(png, c->rgb + (size_t)y * (size_t)c->width * 3);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    return 1;
}

int dp_png_write(const dp_canvas_t *c, const char *path, char *err, size_t errsz)
{
    char tmp[PATH_MAX];
    if (strlen(path) + 64 > sizeof tmp) {
        snprintf(err, errsz, "output path '%.64s...' is too long", path);
        return -1;
    }
    dp_publish_tmp_name(path, (long long)getpid(), tmp, sizeof tmp);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errsz, "cannot write '%s': %s", path, strerror(errno));
        return -1;
    }
    char why[256] = "";
    int ok = encode(f, c, why, sizeof why);
    if (fclose(f) != 0 && ok) {
        snprintf(why, sizeof why, "%s", strerror(errno));
        ok = 0;
    }
    if (!ok) {
        unlink(tmp);
        snprintf(err, errsz, "cannot write '%s': %s", path, why);
        return -1;
    }
    if (dp_publish(tmp, path, 1) != DP_OK) {
        unlink(tmp);
        snprintf(err, errsz, "%s", dp_err_msg());
        return -1;
    }
    return 0;
}
