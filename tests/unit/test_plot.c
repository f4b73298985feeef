#include "dp_test.h"
#include "hdf5_util.h"
#include "heatmap.h"
#include "plot_cli.h"
#include "png_image.h"
#include "trace_svg.h"

#include <dirent.h>
#include <hdf5.h>
#include <math.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char dir[] = "/tmp/dp_test_plot_XXXXXX";

static const dp_rgb_t white = {255, 255, 255}, black = {0, 0, 0};

typedef struct {
    char s[512];
} path_t;

/* The path of name in the test directory. */
static path_t in_dir(const char *name)
{
    path_t p;
    snprintf(p.s, sizeof p.s, "%s/%s", dir, name);
    return p;
}

static int same(dp_rgb_t a, dp_rgb_t b)
{
    return a.r == b.r && a.g == b.g && a.b == b.b;
}

static int exists(const char *path)
{
    return access(path, F_OK) == 0;
}

/* Files in the test directory whose name shows a temporary output. */
static int leftovers(void)
{
    DIR *d = opendir(dir);
    int n = 0;
    for (struct dirent *e; d && (e = readdir(d));)
        n += strstr(e->d_name, "dproc-tmp") != NULL;
    if (d)
        closedir(d);
    return n;
}

/* Ink pixels of a canvas: those that are not white. */
static int ink(const dp_canvas_t *c)
{
    int n = 0;
    for (int y = 0; y < c->height; y++)
        for (int x = 0; x < c->width; x++)
            n += !same(dp_canvas_get(c, x, y), white);
    return n;
}

static void test_canvas(void)
{
    dp_canvas_t c;
    CU_ASSERT_EQUAL_FATAL(dp_canvas_init(&c, 10, 8, white), 0);
    CU_ASSERT(c.width == 10 && c.height == 8 && ink(&c) == 0);
    const dp_rgb_t red = {255, 0, 0};
    dp_canvas_fill_rect(&c, 7, 6, 5, 5, red); /* clipped to 3 x 2 */
    CU_ASSERT_EQUAL(ink(&c), 6);
    CU_ASSERT(same(dp_canvas_get(&c, 9, 7), red) && same(dp_canvas_get(&c, 6, 7), white));
    dp_canvas_fill_rect(&c, -3, -3, 4, 4, red); /* only (0, 0) is on the canvas */
    CU_ASSERT_EQUAL(ink(&c), 7);
    dp_canvas_set(&c, 10, 0, red);
    dp_canvas_set(&c, -1, 3, red);
    CU_ASSERT_EQUAL(ink(&c), 7);
    dp_canvas_free(&c);

    CU_ASSERT_EQUAL_FATAL(dp_canvas_init(&c, 10, 8, white), 0);
    dp_canvas_line(&c, 1, 1, 5, 5, black); /* a diagonal: exactly (i, i) */
    CU_ASSERT_EQUAL(ink(&c), 5);
    for (int i = 1; i <= 5; i++)
        CU_ASSERT(same(dp_canvas_get(&c, i, i), black));
    dp_canvas_line(&c, 9, 7, 0, 7, black); /* right to left, both ends included */
    CU_ASSERT_EQUAL(ink(&c), 15);
    dp_canvas_free(&c);

    CU_ASSERT_EQUAL_FATAL(dp_canvas_init(&c, 10, 8, white), 0);
    dp_canvas_line(&c, 0, 0, 9, 3, black); /* a shallow line: one pixel in every column */
    int cols = 0;
    for (int x = 0; x < 10; x++) {
        int n = 0;
        for (int y = 0; y < 8; y++)
            n += same(dp_canvas_get(&c, x, y), black);
        cols += n == 1;
    }
    CU_ASSERT_EQUAL(cols, 10);
    CU_ASSERT(same(dp_canvas_get(&c, 0, 0), black) && same(dp_canvas_get(&c, 9, 3), black));
    dp_canvas_free(&c);
    CU_ASSERT_EQUAL(dp_canvas_init(&c, 0, 5, white), -1);
    CU_ASSERT_EQUAL(dp_canvas_init(&c, 5, -1, white), -1);
}

static void test_text(void)
{
    CU_ASSERT_EQUAL(dp_canvas_text_width("", 1), 0);
    CU_ASSERT_EQUAL(dp_canvas_text_width("ab", 2), 2 * DP_FONT_ADVANCE * 2);
    CU_ASSERT_EQUAL(dp_canvas_text_width("\xc3\xa9", 1), DP_FONT_ADVANCE); /* one character */
    dp_canvas_t c;
    CU_ASSERT_EQUAL_FATAL(dp_canvas_init(&c, 40, 20, white), 0);
    /* the '1' drawn as designed: a foot of 3, a flag of 1 and a stem of 6 */
    CU_ASSERT_EQUAL(dp_canvas_text(&c, 0, 0, "1", black, 1), DP_FONT_ADVANCE);
    CU_ASSERT_EQUAL(ink(&c), 10);
    CU_ASSERT(same(dp_canvas_get(&c, 2, 0), black) && same(dp_canvas_get(&c, 1, 6), black));
    CU_ASSERT(same(dp_canvas_get(&c, 0, 0), white) && same(dp_canvas_get(&c, 2, 7), white));
    dp_canvas_fill_rect(&c, 0, 0, 40, 20, white);
    CU_ASSERT_EQUAL(dp_canvas_text(&c, 3, 2, "1", black, 2), 2 * DP_FONT_ADVANCE);
    CU_ASSERT_EQUAL(ink(&c), 40);
    dp_canvas_fill_rect(&c, 0, 0, 40, 20, white);
    dp_canvas_text(&c, 0, 0, "\x01", black, 1); /* no glyph: a hollow box */
    CU_ASSERT_EQUAL(ink(&c), 20);
    dp_canvas_free(&c);

    /* every character labels need has a glyph of its own, different from the others */
    const char need[] =
        "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-+:/,()[]_=";
    const int n = (int)strlen(need);
    CU_ASSERT_EQUAL_FATAL(dp_canvas_init(&c, DP_FONT_ADVANCE * (n + 1), DP_FONT_HEIGHT, white), 0);
    dp_canvas_text(&c, 0, 0, need, black, 1);
    dp_canvas_text(&c, n * DP_FONT_ADVANCE, 0, "\x01", black, 1);
    int distinct = 1;
    for (int a = 0; a <= n; a++)
        for (int b = a + 1; b <= n; b++) {
            int differ = 0;
            for (int y = 0; y < DP_FONT_HEIGHT; y++)
                for (int x = 0; x < DP_FONT_ADVANCE; x++)
                    differ |= !same(dp_canvas_get(&c, a * DP_FONT_ADVANCE + x, y),
                                    dp_canvas_get(&c, b * DP_FONT_ADVANCE + x, y));
            if (!differ) {
                fprintf(stderr, "glyphs %d and %d are the same\n", a, b);
                distinct = 0;
            }
        }
    CU_ASSERT(distinct);
    dp_canvas_t blank;
    CU_ASSERT_EQUAL_FATAL(dp_canvas_init(&blank, 6, 8, white), 0);
    dp_canvas_text(&blank, 0, 0, " ", black, 1);
    CU_ASSERT_EQUAL(ink(&blank), 0);
    dp_canvas_free(&blank);
    dp_canvas_free(&c);
}

/* The PNG at path decoded by libpng's reader as 8-bit RGB; NULL when it cannot be read. */
static uint8_t *read_png(const char *path, int *w, int *h)
{
    png_image im;
    memset(&im, 0, sizeof im);
    im.version = PNG_IMAGE_VERSION;
    if (!png_image_begin_read_from_file(&im, path))
        return NULL;
    im.format = PNG_FORMAT_RGB;
    uint8_t *buf = malloc(PNG_IMAGE_SIZE(im));
    if (!buf || !png_image_finish_read(&im, NULL, buf, 0, NULL)) {
        free(buf);
        png_image_free(&im);
        return NULL;
    }
    *w = (int)im.width;
    *h = (int)im.height;
    return buf;
}

static dp_rgb_t pixel(const uint8_t *img, int w, int x, int y)
{
    const uint8_t *p = img + ((size_t)y * (size_t)w + (size_t)x) * 3;
    return (dp_rgb_t){p[0], p[1], p[2]};
}

static void test_png_round_trip(void)
{
    dp_canvas_t c;
    CU_ASSERT_EQUAL_FATAL(dp_canvas_init(&c, 37, 23, white), 0);
    for (int y = 0; y < 23; y++)
        for (int x = 0; x < 37; x++)
            dp_canvas_set(&c, x, y,
                          (dp_rgb_t){(uint8_t)(7 * x), (uint8_t)(11 * y), (uint8_t)(x ^ y)});
    char err[512] = "";
    const path_t round = in_dir("round.png");
    const char *path = round.s;
    CU_ASSERT_EQUAL_FATAL(dp_png_write(&c, path, err, sizeof err), 0);
    CU_ASSERT_EQUAL(leftovers(), 0);
    int w = 0, h = 0;
    uint8_t *img = read_png(path, &w, &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    CU_ASSERT(w == 37 && h == 23);
    int equal = 1;
    for (int y = 0; y < 23; y++)
        for (int x = 0; x < 37; x++)
            equal &= same(pixel(img, w, x, y),
                          (dp_rgb_t){(uint8_t)(7 * x), (uint8_t)(11 * y), (uint8_t)(x ^ y)});
    CU_ASSERT(equal);
    free(img);
    /* replacing an existing file; a directory that does not exist */
    CU_ASSERT_EQUAL(dp_png_write(&c, path, err, sizeof err), 0);
    CU_ASSERT_EQUAL(dp_png_write(&c, in_dir("no/such/dir.png").s, err, sizeof err), -1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot write"));
    CU_ASSERT_EQUAL(leftovers(), 0);
    dp_canvas_free(&c);
    unlink(path);
}

/* Writes an HDF5 dataset of the given shape and memory type from data. */
static void write_dataset(hid_t f, const char *name, int nd, const hsize_t *dims, hid_t type,
                          const void *data)
{
    hid_t s = H5Screate_simple(nd, dims, NULL);
    hid_t d = H5Dcreate2(f, name, type, s, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(d >= 0);
    if (data)
        CU_ASSERT(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
    H5Dclose(d);
    H5Sclose(s);
}

/* The data region (first) and the colour bar (second) of a heat map: the two runs of columns
 * holding pixels that are neither background white nor the black of text and frames. */
typedef struct {
    int x0, x1, y0, y1; /* [x0, x1) x [y0, y1) */
} region_t;

static int coloured(dp_rgb_t p)
{
    return !same(p, white) && !same(p, black);
}

static int find_regions(const uint8_t *img, int w, int h, region_t out[2])
{
    int n = 0;
    for (int x = 0; x < w && n <= 2;) {
        int any = 0;
        for (int y = 0; y < h; y++)
            any |= coloured(pixel(img, w, x, y));
        if (!any) {
            x++;
            continue;
        }
        region_t r = {x, x, h, 0};
        for (; x < w; x++) {
            int col = 0;
            for (int y = 0; y < h; y++)
                if (coloured(pixel(img, w, x, y))) {
                    col = 1;
                    r.y0 = y < r.y0 ? y : r.y0;
                    r.y1 = y + 1 > r.y1 ? y + 1 : r.y1;
                }
            if (!col)
                break;
        }
        r.x1 = x;
        if (n < 2)
            out[n] = r;
        n++;
    }
    return n;
}

static double luminance(dp_rgb_t p)
{
    return 0.2126 * p.r + 0.7152 * p.g + 0.0722 * p.b;
}

/* The colour bar: the map's top colour at the top, its bottom colour at the bottom, lightness
 * falling steadily from top to bottom. */
static void check_bar(const uint8_t *img, int w, region_t bar)
{
    const int x = (bar.x0 + bar.x1) / 2;
    CU_ASSERT(same(pixel(img, w, x, bar.y0), dp_heatmap_colour(1)));
    CU_ASSERT(same(pixel(img, w, x, bar.y1 - 1), dp_heatmap_colour(0)));
    int monotone = 1;
    for (int y = bar.y0 + 1; y < bar.y1; y++)
        monotone &= luminance(pixel(img, w, x, y)) <= luminance(pixel(img, w, x, y - 1));
    CU_ASSERT(monotone);
    CU_ASSERT(luminance(dp_heatmap_colour(0)) < luminance(dp_heatmap_colour(0.5)) &&
              luminance(dp_heatmap_colour(0.5)) < luminance(dp_heatmap_colour(1)));
}

static void test_heatmap_slice(void)
{
    /* cube[i][j][k] = 100 i + 10 j + k, NaN at [1][2][3] */
    enum { A = 3, B = 4, C = 5 };
    double cube[A][B][C];
    for (int i = 0; i < A; i++)
        for (int j = 0; j < B; j++)
            for (int k = 0; k < C; k++)
                cube[i][j][k] = 100.0 * i + 10.0 * j + k;
    cube[1][2][3] = NAN;
    const path_t cube_h5 = in_dir("cube.h5"), cube_png = in_dir("cube.png");
    const char *h5 = cube_h5.s, *png = cube_png.s;
    hid_t f = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    const hsize_t dims[3] = {A, B, C}, one[1] = {7};
    write_dataset(f, "/cube", 3, dims, H5T_NATIVE_DOUBLE, cube);
    const double line[7] = {0};
    write_dataset(f, "/line", 1, one, H5T_NATIVE_DOUBLE, line); /* not a candidate */
    H5Fclose(f);

    /* the slice j = 2 (axis 1): rows i (3), columns k (5); the only candidate dataset */
    dp_heatmap_opts_t o = {.file = h5, .slice_axis = 1, .slice_index = 2, .out = png};
    char err[1024] = "";
    CU_ASSERT_EQUAL_FATAL(dp_heatmap_png(&o, err, sizeof err), 0);
    CU_ASSERT_EQUAL(leftovers(), 0);
    int w, h;
    uint8_t *img = read_png(png, &w, &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    region_t r[2];
    CU_ASSERT_EQUAL_FATAL(find_regions(img, w, h, r), 2);
    const int zoom = 256 / C; /* the largest whole factor keeping 5 columns within 256 px */
    CU_ASSERT_EQUAL(r[0].x1 - r[0].x0, C * zoom);
    CU_ASSERT_EQUAL(r[0].y1 - r[0].y0, A * zoom);
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < A; i++)
        for (int k = 0; k < C; k++)
            if (!isnan(cube[i][2][k])) {
                lo = fmin(lo, cube[i][2][k]);
                hi = fmax(hi, cube[i][2][k]);
            }
    CU_ASSERT(lo == 20 && hi == 224);
    int right = 1;
    for (int i = 0; i < A; i++)
        for (int k = 0; k < C; k++) {
            const double v = cube[i][2][k];
            const dp_rgb_t want =
                isnan(v) ? dp_heatmap_nan_grey : dp_heatmap_colour((v - lo) / (hi - lo));
            /* every pixel of the value's square */
            for (int y = 0; y < zoom; y++)
                for (int x = 0; x < zoom; x++)
                    right &=
                        same(pixel(img, w, r[0].x0 + k * zoom + x, r[0].y0 + i * zoom + y), want);
        }
    CU_ASSERT(right);
    CU_ASSERT(same(pixel(img, w, r[0].x0 + 3 * zoom, r[0].y0 + zoom), dp_heatmap_nan_grey));
    check_bar(img, w, r[1]);
    free(img);

    /* the default slice: the middle of axis 0 (i = 1), columns k, rows j */
    o = (dp_heatmap_opts_t){
        .file = h5, .dataset = "/cube", .slice_axis = -1, .slice_index = -1, .out = png};
    CU_ASSERT_EQUAL_FATAL(dp_heatmap_png(&o, err, sizeof err), 0);
    img = read_png(png, &w, &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    CU_ASSERT_EQUAL_FATAL(find_regions(img, w, h, r), 2);
    CU_ASSERT(r[0].x1 - r[0].x0 == C * zoom && r[0].y1 - r[0].y0 == B * zoom);
    CU_ASSERT(same(pixel(img, w, r[0].x0 + 3 * zoom, r[0].y0 + 2 * zoom), dp_heatmap_nan_grey));
    CU_ASSERT(same(pixel(img, w, r[0].x0, r[0].y0), dp_heatmap_colour(0)));
    CU_ASSERT(same(pixel(img, w, r[0].x1 - 1, r[0].y1 - 1), dp_heatmap_colour(1)));
    free(img);
    unlink(png);
    unlink(h5);
}

static void test_heatmap_boxes(void)
{
    /* int16 g[i][j] = i + 8 j (10 x 8) drawn at most 5 pixels: 2 x 2 boxes, 5 rows x 4 columns
     * of means i0 + 0.5 + 8 (j0 + 0.5) over the range 0..64 */
    enum { R = 10, C = 8 };
    short g[R][C];
    for (int i = 0; i < R; i++)
        for (int j = 0; j < C; j++)
            g[i][j] = (short)(i + 8 * j);
    const path_t grid_h5 = in_dir("grid.h5"), grid_png = in_dir("grid.png");
    const char *h5 = grid_h5.s, *png = grid_png.s;
    hid_t f = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    const hsize_t dims[2] = {R, C};
    write_dataset(f, "/grid", 2, dims, H5T_NATIVE_SHORT, g);
    H5Fclose(f);
    dp_heatmap_opts_t o = {.file = h5,
                           .slice_axis = -1,
                           .slice_index = -1,
                           .has_range = 1,
                           .lo = 0,
                           .hi = 64,
                           .max_pixels = 5,
                           .out = png};
    char err[1024] = "";
    CU_ASSERT_EQUAL_FATAL(dp_heatmap_png(&o, err, sizeof err), 0);
    int w, h;
    uint8_t *img = read_png(png, &w, &h);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    region_t r[2];
    CU_ASSERT_EQUAL_FATAL(find_regions(img, w, h, r), 2);
    CU_ASSERT_FATAL(r[0].x1 - r[0].x0 == C / 2 && r[0].y1 - r[0].y0 == R / 2);
    int right = 1;
    for (int bi = 0; bi < R / 2; bi++)
        for (int bj = 0; bj < C / 2; bj++) {
            const double mean = (g[2 * bi][2 * bj] + g[2 * bi + 1][2 * bj] + g[2 * bi][2 * bj + 1] +
                                 g[2 * bi + 1][2 * bj + 1]) /
                                4.0;
            right &= same(pixel(img, w, r[0].x0 + bj, r[0].y0 + bi), dp_heatmap_colour(mean / 64));
        }
    CU_ASSERT(right);
    check_bar(img, w, r[1]);
    free(img);
    unlink(png);
    unlink(h5);
}

static void test_heatmap_long_rows(void)
{
    /* rows of 2,100,000 values, longer than one piece read: w[i][j] = j, drawn 1024 pixels
     * wide, so that boxes of ceil(2100000 / 1024) = 2051 columns straddle the pieces */
    enum { R = 2, C = 2100000, MP = 1024 };
    float *w = malloc((size_t)R * C * sizeof *w);
    CU_ASSERT_PTR_NOT_NULL_FATAL(w);
    for (size_t i = 0; i < (size_t)R * C; i++)
        w[i] = (float)(i % C);
    const path_t long_h5 = in_dir("long.h5"), long_png = in_dir("long.png");
    hid_t f = H5Fcreate(long_h5.s, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    const hsize_t dims[2] = {R, C};
    write_dataset(f, "/w", 2, dims, H5T_NATIVE_FLOAT, w);
    H5Fclose(f);
    free(w);
    dp_heatmap_opts_t o = {.file = long_h5.s,
                           .slice_axis = -1,
                           .slice_index = -1,
                           .has_range = 1,
                           .lo = 0,
                           .hi = C,
                           .out = long_png.s};
    char err[1024] = "";
    CU_ASSERT_EQUAL_FATAL(dp_heatmap_png(&o, err, sizeof err), 0);
    int width, height;
    uint8_t *img = read_png(long_png.s, &width, &height);
    CU_ASSERT_PTR_NOT_NULL_FATAL(img);
    region_t r[2];
    CU_ASSERT_EQUAL_FATAL(find_regions(img, width, height, r), 2);
    const int box = (C + MP - 1) / MP, cols = (C + box - 1) / box;
    CU_ASSERT_FATAL(r[0].x1 - r[0].x0 == cols && r[0].y1 - r[0].y0 == 1);
    int right = 1;
    for (int k = 0; k < cols; k++) {
        const double first = (double)k * box, last = fmin((double)(k + 1) * box, C) - 1;
        right &= same(pixel(img, width, r[0].x0 + k, r[0].y0),
                      dp_heatmap_colour((first + last) / 2 / C));
    }
    CU_ASSERT(right);
    free(img);
    unlink(long_png.s);
    unlink(long_h5.s);
}

/* Runs the heat map of o and checks the status, that err holds want and no file was left. */
static void expect_failure(dp_heatmap_opts_t o, int status, const char *want)
{
    char err[1024] = "";
    const path_t out = in_dir("bad.png");
    o.out = out.s;
    const int st = dp_heatmap_png(&o, err, sizeof err);
    CU_ASSERT_EQUAL(st, status);
    if (!strstr(err, want)) {
        fprintf(stderr, "\nexpected '%s' in '%s'\n", want, err);
        CU_FAIL("message");
    }
    CU_ASSERT(!exists(o.out));
    CU_ASSERT_EQUAL(leftovers(), 0);
}

static void test_heatmap_errors(void)
{
    const path_t bad_h5 = in_dir("bad.h5"), missing = in_dir("missing.h5"),
                 text = in_dir("text.h5"), nodir = in_dir("no/dir/x.png");
    const char *h5 = bad_h5.s;
    hid_t f = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    const double zeros[16] = {0};
    const hsize_t d1[1] = {4}, d2[2] = {2, 3}, d4[4] = {1, 2, 2, 2}, empty[2] = {0, 5};
    write_dataset(f, "/one", 1, d1, H5T_NATIVE_DOUBLE, zeros);
    write_dataset(f, "/four", 4, d4, H5T_NATIVE_DOUBLE, zeros);
    write_dataset(f, "/empty", 2, empty, H5T_NATIVE_DOUBLE, NULL);
    write_dataset(f, "/two", 2, d2, H5T_NATIVE_DOUBLE, zeros);
    write_dataset(f, "/other", 2, d2, H5T_NATIVE_INT, (const int[6]){0});
    hid_t cmp = H5Tcreate(H5T_COMPOUND, 16);
    H5Tinsert(cmp, "a", 0, H5T_NATIVE_DOUBLE);
    H5Tinsert(cmp, "b", 8, H5T_NATIVE_DOUBLE);
    write_dataset(f, "/pairs", 2, d2, cmp, NULL);
    H5Tclose(cmp);
    hid_t str = H5Tcopy(H5T_C_S1);
    H5Tset_size(str, 8);
    write_dataset(f, "/words", 2, d2, str, NULL);
    H5Tclose(str);
    H5Gclose(H5Gcreate2(f, "/group", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT));
    H5Fclose(f);

    const dp_heatmap_opts_t base = {.file = h5, .slice_axis = -1, .slice_index = -1};
    dp_heatmap_opts_t o = base;
    o.file = missing.s;
    expect_failure(o, 1, "No such file");
    FILE *t = fopen(text.s, "w");
    fputs("not HDF5\n", t);
    fclose(t);
    o.file = text.s;
    expect_failure(o, 1, "as HDF5");
    o = base;
    expect_failure(o, 1, "name one as FILE:/DATASET: /other (2 x 3), /two (2 x 3)");
    const struct {
        const char *dataset, *want;
    } bad[] = {
        {"/nope", "no dataset '/nope'"},  {"/no/such", "no dataset"},
        {"/group", "not a dataset"},      {"/one", "1-D (4)"},
        {"/four", "4-D (1 x 2 x 2 x 2)"}, {"/empty", "empty (0 x 5)"},
        {"/pairs", "compound"},           {"/words", "string"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        o = base;
        o.dataset = bad[i].dataset;
        expect_failure(o, 1, bad[i].want);
    }
    o = base;
    o.dataset = "/two";
    o.slice_axis = 0;
    o.slice_index = 1;
    expect_failure(o, 2, "nothing to slice");
    o = base;
    o.dataset = "/two";
    o.has_range = 1;
    o.lo = o.hi = 3;
    expect_failure(o, 2, "LO < HI");
    o.lo = 4;
    expect_failure(o, 2, "LO < HI");
    o.lo = NAN;
    expect_failure(o, 2, "LO < HI");

    const hsize_t d3[3] = {2, 3, 4};
    f = H5Fopen(h5, H5F_ACC_RDWR, H5P_DEFAULT);
    write_dataset(f, "/three", 3, d3, H5T_NATIVE_DOUBLE, (const double[24]){0});
    H5Fclose(f);
    o = base;
    o.dataset = "/three";
    o.slice_axis = 2;
    o.slice_index = 4;
    expect_failure(o, 2, "slice index 4 is outside axis 2 of '/three' (0 to 3)");
    o.slice_axis = 3;
    o.slice_index = 0;
    expect_failure(o, 2, "axes 0, 1 and 2");
    o = base;
    o.dataset = "/two";
    o.out = nodir.s;
    char err[512];
    CU_ASSERT_EQUAL(dp_heatmap_png(&o, err, sizeof err), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "cannot write"));
    unlink(text.s);
    unlink(h5);
}

static int count(const char *text, const char *needle)
{
    int n = 0;
    for (const char *p = strstr(text, needle); p; p = strstr(p + 1, needle))
        n++;
    return n;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    fseek(f, 0, SEEK_END);
    const long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = calloc((size_t)n + 1, 1);
    if (s && fread(s, 1, (size_t)n, f) != (size_t)n) {
        free(s);
        s = NULL;
    }
    fclose(f);
    return s;
}

static void write_text(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    CU_ASSERT_PTR_NOT_NULL_FATAL(f);
    fputs(text, f);
    fclose(f);
}

static void test_trace(void)
{
    const path_t run_json = in_dir("run.json"), run_svg = in_dir("run.svg");
    const char *json = run_json.s, *svg = run_svg.s;
    write_text(json,
               "{\"traceEvents\":[\n"
               "{\"name\":\"process_name\",\"ph\":\"M\",\"pid\":0,\"args\":{\"name\":\"rank 0 "
               "(a&b)\"}},\n"
               "{\"name\":\"thread_name\",\"ph\":\"M\",\"pid\":1,\"tid\":1,\"args\":{\"name\":"
               "\"reads in flight\"}},\n"
               "{\"name\":\"setup\",\"cat\":\"dproc\",\"ph\":\"X\",\"ts\":0,\"dur\":1000,"
               "\"pid\":0,\"tid\":0},\n"
               "{\"name\":\"compute\",\"ph\":\"X\",\"ts\":1000,\"dur\":8000,\"pid\":0,\"tid\":0,"
               "\"args\":{\"n\":3}},\n"
               "{\"name\":\"read\",\"ph\":\"X\",\"ts\":500,\"dur\":2000,\"pid\":1,\"tid\":1},\n"
               "{\"name\":\"frobnicate\",\"ph\":\"X\",\"ts\":3000,\"dur\":2000,\"pid\":1},\n"
               "{\"name\":\"c\",\"ph\":\"C\",\"ts\":3,\"pid\":0,\"args\":{\"v\":1}},\n"
               "{\"name\":\"b\",\"ph\":\"B\",\"ts\":3,\"pid\":0,\"tid\":0}],\n"
               "\"displayTimeUnit\":\"ms\",\n"
               "\"otherData\":{\"dproc_version\":\"0.1.0\",\"ranks\":3,\"threads\":2,\"job\":"
               "\"jobs/x.ini\",\"clock\":\"rank 0\"}}\n");
    char err[1024] = "";
    CU_ASSERT_EQUAL_FATAL(dp_trace_svg(json, svg, err, sizeof err), 0);
    CU_ASSERT_EQUAL(leftovers(), 0);
    char *s = slurp(svg);
    CU_ASSERT_PTR_NOT_NULL_FATAL(s);
    CU_ASSERT_EQUAL(count(s, "<g class=\"rank\""), 3); /* rank 2 is declared, without events */
    for (int r = 0; r < 3; r++) {
        char want[64];
        snprintf(want, sizeof want, "<g class=\"rank\" data-rank=\"%d\">", r);
        CU_ASSERT_EQUAL(count(s, want), 1);
    }
    CU_ASSERT_EQUAL(count(s, "rank 0 (a&amp;b)"), 1);
    CU_ASSERT_EQUAL(count(s, ">rank 1<"), 1);
    CU_ASSERT_EQUAL(count(s, "class=\"legend-item\""), 4);
    CU_ASSERT_EQUAL(count(s, "data-phase=\"frobnicate\""), 1);
    CU_ASSERT_EQUAL(count(s, "data-phase=\"halo\""), 0);
    CU_ASSERT_EQUAL(count(s, "<g class=\"lane\""), 3); /* (0, 0), (1, 0), (1, 1) */
    CU_ASSERT_EQUAL(count(s, "<title>"), 4);
    CU_ASSERT_PTR_NOT_NULL(strstr(s, "jobs/x.ini: 3 ranks x 2 threads, total 9 ms"));
    free(s);

    const struct {
        const char *text, *want;
    } bad[] = {
        {"[1, 2]", "not a JSON object"},
        {"{\"otherData\":{}}", "no traceEvents"},
        {"{\"traceEvents\":[{\"ph\":\"X\",\"name\":\"read\",\"pid\":0}]}", "line 1: the \"X\""},
        {"{\"traceEvents\":[\n{\"ph\":\"X\",\"name\":\"read\",\"ts\":1,\"dur\":-1,\"pid\":0}]}",
         "line 2"},
        {"{\"traceEvents\":[{\"ph\":\"X\",\"name\":\"read\",\"ts\":1,\"dur\":1,\"pid\":0.5}]}",
         "whole-number pid"},
        {"{\"traceEvents\":[{\"ph\":\"X\",", "not a JSON object"},
        {"{\"traceEvents\":[{\"ph\":\"M\",\"name\":\"x\"}]}", "no phase events"},
        {"{\"traceEvents\":[1,2]}", "not a JSON object"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        write_text(json, bad[i].text);
        unlink(svg);
        CU_ASSERT_EQUAL(dp_trace_svg(json, svg, err, sizeof err), 1);
        if (!strstr(err, bad[i].want)) {
            fprintf(stderr, "\nexpected '%s' in '%s'\n", bad[i].want, err);
            CU_FAIL("message");
        }
        CU_ASSERT(!exists(svg));
    }
    CU_ASSERT_EQUAL(dp_trace_svg(in_dir("none.json").s, svg, err, sizeof err), 1);
    CU_ASSERT_PTR_NOT_NULL(strstr(err, "No such file"));
    CU_ASSERT_EQUAL(leftovers(), 0);
    unlink(json);
}

static int plot(const char *args)
{
    char buf[2048], *argv[32];
    snprintf(buf, sizeof buf, "%s", args);
    int argc = 0;
    for (char *w = strtok(buf, " "); w && argc < 31; w = strtok(NULL, " "))
        argv[argc++] = w;
    argv[argc] = NULL;
    return dp_plot_main(argc, argv);
}

/* The command line template with each "%s" replaced by arg. */
static void fill(char *out, size_t size, const char *template, const char *arg)
{
    size_t n = 0;
    for (const char *p = template; *p && n + 1 < size; p++) {
        if (p[0] == '%' && p[1] == 's') {
            n += (size_t)snprintf(out + n, size - n, "%s", arg);
            n = n < size ? n : size - 1;
            p++;
        } else {
            out[n++] = *p;
        }
    }
    out[n] = '\0';
}

static void test_command_line(void)
{
    const path_t cli_h5 = in_dir("cli.h5"), cli_png = in_dir("cli.png");
    const char *h5 = cli_h5.s, *png = cli_png.s;
    hid_t f = H5Fcreate(h5, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    CU_ASSERT_FATAL(f >= 0);
    const hsize_t d2[2] = {4, 6};
    write_dataset(f, "/z", 2, d2, H5T_NATIVE_DOUBLE, (const double[24]){0});
    H5Fclose(f);
    char cmd[2048];
    snprintf(cmd, sizeof cmd, "plot heatmap %s:/z -o %s --range 0,1 --max-pixels 100", h5, png);
    CU_ASSERT_EQUAL(plot(cmd), 0);
    CU_ASSERT(exists(png));
    unlink(png);
    snprintf(cmd, sizeof cmd, "plot heatmap -o %s %s", png, h5); /* options first, no dataset */
    CU_ASSERT_EQUAL(plot(cmd), 0);
    CU_ASSERT(exists(png));
    unlink(png);
    snprintf(cmd, sizeof cmd, "plot heatmap %s:/missing -o %s", h5, png);
    CU_ASSERT_EQUAL(plot(cmd), 1);
    const char *usage[] = {
        "plot",
        "plot pie x -o y",
        "plot heatmap",
        "plot heatmap %s",
        "plot heatmap %s %s -o x.png",
        "plot heatmap %s -o x.png --slice 3:1",
        "plot heatmap %s -o x.png --slice 1",
        "plot heatmap %s -o x.png --slice 1:-2",
        "plot heatmap %s -o x.png --slice a:b",
        "plot heatmap %s -o x.png --range 5,1",
        "plot heatmap %s -o x.png --range 1",
        "plot heatmap %s -o x.png --range nan,1",
        "plot heatmap %s -o x.png --max-pixels 0",
        "plot heatmap %s -o x.png --max-pixels 9000",
        "plot heatmap %s -o x.png --bogus",
        "plot heatmap %s -o %s",
        "plot trace %s -o y.svg --slice 0:1",
        "plot trace %s",
    };
    for (size_t i = 0; i < sizeof usage / sizeof usage[0]; i++) {
        fill(cmd, sizeof cmd, usage[i], h5);
        CU_ASSERT_EQUAL(plot(cmd), 2);
    }
    CU_ASSERT(!exists(in_dir("x.png").s) && !exists("x.png"));
    CU_ASSERT_EQUAL(plot("plot --help"), 0);
    CU_ASSERT_EQUAL(plot("plot heatmap --help"), 0);
    unlink(h5);
}

int main(void)
{
    if (!mkdtemp(dir))
        return 1;
    dp_h5_quiet();
    static const dp_test_case_t cases[] = {
        {"canvas: rectangles, pixels, lines", test_canvas},
        {"canvas: text in the built-in font", test_text},
        {"PNG written, read back by libpng", test_png_round_trip},
        {"heat map of slices of a 3-D dataset", test_heatmap_slice},
        {"heat map of box means of an int16 dataset", test_heatmap_boxes},
        {"heat map of rows longer than a piece read", test_heatmap_long_rows},
        {"heat map errors", test_heatmap_errors},
        {"trace as SVG, and bad traces", test_trace},
        {"the plot command line", test_command_line},
        {NULL, NULL},
    };
    const int st = dp_test_main("plot", cases);
    rmdir(dir);
    return st;
}
