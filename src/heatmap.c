#include "heatmap.h"

#include "hdf5_util.h"

#include <errno.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Exit statuses of dp_heatmap_png. */
enum { HM_OK = 0, HM_FAIL = 1, HM_BAD_OPTION = 2 };

/* Elements read per piece: 8 MiB of doubles. Data whose longest side is below MIN_SIDE is
 * enlarged by a whole factor towards it. */
enum { STRIP_ELEMENTS = 1 << 20, DEFAULT_MAX_PIXELS = 1024, MIN_SIDE = 256 };

const dp_rgb_t dp_heatmap_nan_grey = {128, 128, 128};

static const dp_rgb_t black = {0, 0, 0}, white = {255, 255, 255};

/* Anchors of the colour map at t = 0, 1/8, ..., 1 (the colours of matplotlib's viridis there),
 * interpolated linearly in between: lightness rises steadily from one end to the other. */
static const dp_rgb_t anchors[] = {
    {68, 1, 84},    {72, 36, 117}, {59, 82, 139},  {44, 114, 142}, {33, 145, 140},
    {40, 174, 128}, {94, 201, 98}, {173, 220, 48}, {253, 231, 37},
};

dp_rgb_t dp_heatmap_colour(double t)
{
    if (isnan(t))
        return dp_heatmap_nan_grey;
    t = t < 0 ? 0 : t > 1 ? 1 : t;
    const int n = (int)(sizeof anchors / sizeof anchors[0]) - 1;
    const double x = t * n;
    const int i = x >= n ? n - 1 : (int)x;
    const double f = x - i;
    const dp_rgb_t a = anchors[i], b = anchors[i + 1];
    return (dp_rgb_t){(uint8_t)lround(a.r + (b.r - a.r) * f),
                      (uint8_t)lround(a.g + (b.g - a.g) * f),
                      (uint8_t)lround(a.b + (b.b - a.b) * f)};
}

/* The 2-D view of the dataset that is drawn: rows along file dimension rd, columns along cd,
 * and for 3-D data the fixed index of the sliced axis. */
typedef struct {
    hid_t file, dset, space;
    char name[512];
    int ndim;
    hsize_t dims[3];
    int axis, rd, cd; /* axis: the sliced dimension of 3-D data, -1 for 2-D */
    hsize_t index;
    uint64_t rows, cols;
} view_t;

/* The datasets that can be drawn (2-D or 3-D, numeric, not empty), for when none is named. */
typedef struct {
    int count;
    char first[512];
    char list[640];
    char others[640]; /* the datasets that cannot be drawn, with their shapes and types */
} candidates_t;

static const char *class_name(H5T_class_t c)
{
    switch (c) {
    case H5T_INTEGER:
        return "integer";
    case H5T_FLOAT:
        return "float";
    case H5T_STRING:
        return "string";
    case H5T_COMPOUND:
        return "compound";
    case H5T_ENUM:
        return "enum";
    case H5T_ARRAY:
        return "array";
    case H5T_VLEN:
        return "variable-length";
    case H5T_OPAQUE:
        return "opaque";
    case H5T_BITFIELD:
        return "bitfield";
    case H5T_REFERENCE:
        return "reference";
    default:
        return "non-numeric";
    }
}

/* "3 x 4 x 5" into buf. */
static void shape_text(char *buf, size_t size, int ndim, const hsize_t *dims)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < ndim && used < size; i++)
        used += (size_t)snprintf(buf + used, size - used, i ? " x %llu" : "%llu",
                                 (unsigned long long)dims[i]);
}

static herr_t note_candidate(hid_t obj, const char *name, const H5O_info_t *info, void *data)
{
    candidates_t *c = data;
    if (info->type != H5O_TYPE_DATASET)
        return 0;
    hid_t d = H5Dopen2(obj, name, H5P_DEFAULT);
    if (d < 0)
        return 0;
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    hsize_t dims[H5S_MAX_RANK];
    const int nd = s >= 0 ? H5Sget_simple_extent_dims(s, dims, NULL) : -1;
    const H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    int empty = 0;
    for (int i = 0; i < nd; i++)
        empty |= dims[i] == 0;
    if ((nd == 2 || nd == 3) && !empty && (cls == H5T_INTEGER || cls == H5T_FLOAT)) {
        char shape[96];
        shape_text(shape, sizeof shape, nd, dims);
        if (c->count++ == 0)
            snprintf(c->first, sizeof c->first, "/%s", name);
        const size_t used = strlen(c->list);
        snprintf(c->list + used, sizeof c->list - used, "%s/%s (%s)", used ? ", " : "", name,
                 shape);
    } else {
        char shape[96] = "scalar";
        if (nd > 0)
            shape_text(shape, sizeof shape, nd, dims);
        const size_t used = strlen(c->others);
        snprintf(c->others + used, sizeof c->others - used, "%s/%s (%s%s, %s)", used ? ", " : "",
                 name, shape, nd == 1 ? ", 1-D" : "", class_name(cls));
    }
    if (t >= 0)
        H5Tclose(t);
    if (s >= 0)
        H5Sclose(s);
    H5Dclose(d);
    return 0;
}

static void view_close(view_t *v)
{
    if (v->space >= 0)
        H5Sclose(v->space);
    if (v->dset >= 0)
        H5Dclose(v->dset);
    if (v->file >= 0)
        H5Fclose(v->file);
}

/* Opens the file and the dataset (the only candidate when none is named) and checks that it
 * can be drawn. */
static int open_dataset(view_t *v, const dp_heatmap_opts_t *o, char *err, size_t errsz)
{
    if (access(o->file, R_OK) != 0) {
        snprintf(err, errsz, "cannot open '%s': %s", o->file, strerror(errno));
        return HM_FAIL;
    }
    v->file = H5Fopen(o->file, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (v->file < 0) {
        snprintf(err, errsz, "cannot open '%s' as HDF5 (%s)", o->file, dp_h5_error());
        return HM_FAIL;
    }
    if (o->dataset) {
        snprintf(v->name, sizeof v->name, "%s", o->dataset);
    } else {
        candidates_t c = {0};
        H5Ovisit(v->file, H5_INDEX_NAME, H5_ITER_INC, note_candidate, &c);
        if (c.count != 1) {
            if (c.count == 0)
                snprintf(err, errsz,
                         "'%s' has no dataset to draw (2-D or 3-D, numeric, not empty); it has "
                         "%s",
                         o->file, c.others[0] ? c.others : "no datasets");
            else
                snprintf(err, errsz,
                         "'%s' has %d 2-D or 3-D numeric datasets; name one as FILE:/DATASET: %s",
                         o->file, c.count, c.list);
            return HM_FAIL;
        }
        snprintf(v->name, sizeof v->name, "%s", c.first);
    }
    if (H5Lexists(v->file, v->name, H5P_DEFAULT) <= 0) {
        snprintf(err, errsz, "'%s' has no dataset '%s'", o->file, v->name);
        return HM_FAIL;
    }
    H5O_info_t info;
    if (H5Oget_info_by_name(v->file, v->name, &info, H5P_DEFAULT) < 0 ||
        info.type != H5O_TYPE_DATASET) {
        snprintf(err, errsz, "'%s' in '%s' is not a dataset", v->name, o->file);
        return HM_FAIL;
    }
    hid_t dapl = H5Pcreate(H5P_DATASET_ACCESS);
    /* a strip of rows crosses many chunks: keep them decompressed while it is read */
    H5Pset_chunk_cache(dapl, 12421, (size_t)64 << 20, 1.0);
    v->dset = H5Dopen2(v->file, v->name, dapl);
    H5Pclose(dapl);
    if (v->dset < 0) {
        snprintf(err, errsz, "cannot open dataset '%s' in '%s' (%s)", v->name, o->file,
                 dp_h5_error());
        return HM_FAIL;
    }
    hid_t type = H5Dget_type(v->dset);
    const H5T_class_t cls = type >= 0 ? H5Tget_class(type) : H5T_NO_CLASS;
    if (type >= 0)
        H5Tclose(type);
    if (cls != H5T_INTEGER && cls != H5T_FLOAT) {
        snprintf(err, errsz, "'%s' holds %s values; a heatmap needs numbers (integer or float)",
                 v->name, class_name(cls));
        return HM_FAIL;
    }
    v->space = H5Dget_space(v->dset);
    hsize_t dims[H5S_MAX_RANK];
    const int nd = v->space >= 0 ? H5Sget_simple_extent_dims(v->space, dims, NULL) : -1;
    if (nd < 0) {
        snprintf(err, errsz, "cannot read the shape of '%s' (%s)", v->name, dp_h5_error());
        return HM_FAIL;
    }
    char shape[96];
    shape_text(shape, sizeof shape, nd, dims);
    if (nd != 2 && nd != 3) {
        char what[128];
        if (nd == 0)
            snprintf(what, sizeof what, "a scalar");
        else
            snprintf(what, sizeof what, "%d-D (%s)", nd, shape);
        snprintf(err, errsz, "'%s' is %s; a heatmap draws a 2-D dataset or a slice of a 3-D one",
                 v->name, what);
        return HM_FAIL;
    }
    for (int i = 0; i < nd; i++)
        if (dims[i] == 0) {
            snprintf(err, errsz, "'%s' is empty (%s)", v->name, shape);
            return HM_FAIL;
        }
    v->ndim = nd;
    memcpy(v->dims, dims, (size_t)nd * sizeof *dims);
    return HM_OK;
}

/* Chooses the 2-D view: the slice for 3-D data, the whole dataset for 2-D. */
static int choose_view(view_t *v, const dp_heatmap_opts_t *o, char *err, size_t errsz)
{
    if (v->ndim == 2) {
        if (o->slice_axis >= 0 || o->slice_index >= 0) {
            snprintf(err, errsz, "'%s' is 2-D: there is nothing to slice", v->name);
            return HM_BAD_OPTION;
        }
        v->axis = -1;
        v->rd = 0;
        v->cd = 1;
    } else {
        v->axis = o->slice_axis < 0 ? 0 : o->slice_axis;
        if (v->axis > 2) {
            snprintf(err, errsz, "slice axis %d: '%s' has axes 0, 1 and 2", v->axis, v->name);
            return HM_BAD_OPTION;
        }
        const hsize_t n = v->dims[v->axis];
        v->index = o->slice_index < 0 ? n / 2 : (hsize_t)o->slice_index;
        if (v->index >= n) {
            snprintf(err, errsz, "slice index %lld is outside axis %d of '%s' (0 to %llu)",
                     o->slice_index, v->axis, v->name, (unsigned long long)(n - 1));
            return HM_BAD_OPTION;
        }
        v->rd = v->axis == 0 ? 1 : 0;
        v->cd = v->axis == 2 ? 1 : 2;
    }
    v->rows = v->dims[v->rd];
    v->cols = v->dims[v->cd];
    return HM_OK;
}

/* The image before colouring: box means (or ±inf where a box held only infinities of one
 * sign, NaN where it held no number), and the finite values' range. */
typedef struct {
    uint64_t box;      /* data rows and columns per image value */
    int zoom;          /* pixels per image value along each side */
    int width, height; /* in image values */
    double *value;
    int64_t *count;
    uint8_t *inf; /* bit 0: +inf seen, bit 1: -inf seen */
    double min, max;
    int any_finite;
} image_t;

static void image_free(image_t *im)
{
    free(im->value);
    free(im->count);
    free(im->inf);
}

/* Reads the view piece by piece (whole rows when they fit STRIP_ELEMENTS) into box sums. */
static int accumulate(const view_t *v, image_t *im, char *err, size_t errsz)
{
    const uint64_t cw = v->cols < STRIP_ELEMENTS ? v->cols : STRIP_ELEMENTS;
    const uint64_t per = STRIP_ELEMENTS / cw;
    const uint64_t rows_per = per > v->rows ? v->rows : per;
    double *buf = malloc((size_t)(rows_per * cw) * sizeof *buf);
    if (!buf) {
        snprintf(err, errsz, "out of memory for a strip of '%s'", v->name);
        return HM_FAIL;
    }
    int st = HM_OK;
    for (uint64_t r0 = 0; st == HM_OK && r0 < v->rows; r0 += rows_per) {
        const uint64_t k = v->rows - r0 < rows_per ? v->rows - r0 : rows_per;
        for (uint64_t c0 = 0; st == HM_OK && c0 < v->cols; c0 += cw) {
            const uint64_t w = v->cols - c0 < cw ? v->cols - c0 : cw;
            hsize_t start[3] = {0, 0, 0}, count[3] = {1, 1, 1};
            start[v->rd] = r0;
            count[v->rd] = k;
            start[v->cd] = c0;
            count[v->cd] = w;
            if (v->axis >= 0)
                start[v->axis] = v->index;
            const hsize_t n = k * w;
            hid_t mem = H5Screate_simple(1, &n, NULL);
            if (mem < 0 ||
                H5Sselect_hyperslab(v->space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
                H5Dread(v->dset, H5T_NATIVE_DOUBLE, mem, v->space, H5P_DEFAULT, buf) < 0) {
                snprintf(err, errsz, "reading rows %llu to %llu of '%s' failed (%s)",
                         (unsigned long long)r0, (unsigned long long)(r0 + k - 1), v->name,
                         dp_h5_error());
                st = HM_FAIL;
            }
            if (mem >= 0)
                H5Sclose(mem);
            for (uint64_t i = 0; st == HM_OK && i < k; i++) {
                const size_t line = (size_t)((r0 + i) / im->box) * (size_t)im->width;
                for (uint64_t j = 0; j < w; j++) {
                    const double x = buf[i * w + j];
                    const size_t p = line + (size_t)((c0 + j) / im->box);
                    if (isfinite(x)) {
                        im->value[p] += x;
                        im->count[p]++;
                        if (!im->any_finite || x < im->min)
                            im->min = x;
                        if (!im->any_finite || x > im->max)
                            im->max = x;
                        im->any_finite = 1;
                    } else if (isinf(x)) {
                        im->inf[p] |= x > 0 ? 1 : 2;
                    }
                }
            }
        }
    }
    free(buf);
    for (size_t p = 0; st == HM_OK && p < (size_t)im->width * (size_t)im->height; p++)
        im->value[p] = im->count[p]      ? im->value[p] / (double)im->count[p]
                       : im->inf[p] == 1 ? INFINITY
                       : im->inf[p] == 2 ? -INFINITY
                                         : NAN;
    return st;
}

/* Where x lies between lo and hi, as a fraction (halves first: hi - lo may overflow). */
static double fraction(double x, double lo, double hi)
{
    return (0.5 * x - 0.5 * lo) / (0.5 * hi - 0.5 * lo);
}

/* Draws the picture of im, with values lo..hi over the colour map, and writes it. */
static int draw(const view_t *v, const image_t *im, double lo, double hi, const char *out,
                char *err, size_t errsz)
{
    char title[768], part[160];
    if (v->axis < 0)
        snprintf(part, sizeof part, "[0:%llu, 0:%llu]", (unsigned long long)v->dims[0],
                 (unsigned long long)v->dims[1]);
    else {
        char d[3][48];
        for (int i = 0; i < 3; i++)
            if (i == v->axis)
                snprintf(d[i], sizeof d[i], "%llu", (unsigned long long)v->index);
            else
                snprintf(d[i], sizeof d[i], "0:%llu", (unsigned long long)v->dims[i]);
        snprintf(part, sizeof part, "[%s, %s, %s]", d[0], d[1], d[2]);
    }
    char box[96] = "";
    if (im->box > 1)
        snprintf(box, sizeof box, " (means of %llux%llu boxes)", (unsigned long long)im->box,
                 (unsigned long long)im->box);
    snprintf(title, sizeof title, "%s %s%s", v->name, part, box);

    const int W = im->width * im->zoom, H = im->height * im->zoom;
    const int s = W >= 400 || H >= 400 ? 2 : 1;
    const int margin = 8 * s, img_x = margin, img_y = margin + (DP_FONT_HEIGHT + 6) * s;
    const int bar_w = 12 * s, bar_x = img_x + W + 10 * s, bar_y = img_y;
    const int bar_h = H > 128 * s ? H : 128 * s, tick = 3 * s;
    const int label_x = bar_x + bar_w + tick + 3 * s;
    char labels[5][32];
    int label_w = 0;
    /* 3 significant digits, more when a narrow range would print the same label twice */
    for (int digits = 3, same = 1; same && digits <= 17; digits++) {
        same = 0;
        for (int i = 0; i < 5; i++) {
            const double t = i / 4.0;
            snprintf(labels[i], sizeof labels[i], "%.*g", digits, lo * (1 - t) + hi * t);
            same |= i > 0 && !strcmp(labels[i], labels[i - 1]);
        }
    }
    for (int i = 0; i < 5; i++) {
        const int lw = dp_canvas_text_width(labels[i], s);
        label_w = lw > label_w ? lw : label_w;
    }
    const int title_w = dp_canvas_text_width(title, s);
    int cw = label_x + label_w + margin;
    cw = cw > 2 * margin + title_w ? cw : 2 * margin + title_w;
    const int ch = img_y + (H > bar_h ? H : bar_h) + 4 * s + margin;

    dp_canvas_t c;
    if (dp_canvas_init(&c, cw, ch, white) != 0) {
        snprintf(err, errsz, "out of memory for a %d x %d picture", cw, ch);
        return HM_FAIL;
    }
    dp_canvas_text(&c, margin, margin, title, black, s);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            const double val =
                im->value[(size_t)(y / im->zoom) * (size_t)im->width + (size_t)(x / im->zoom)];
            dp_canvas_set(&c, img_x + x, img_y + y,
                          isnan(val) ? dp_heatmap_nan_grey
                                     : dp_heatmap_colour(fraction(val, lo, hi)));
        }
    for (int y = 0; y < bar_h; y++)
        dp_canvas_fill_rect(&c, bar_x, bar_y + y, bar_w, 1,
                            dp_heatmap_colour((double)(bar_h - 1 - y) / (bar_h - 1)));
    const int frames[2][4] = {{img_x, img_y, W, H}, {bar_x, bar_y, bar_w, bar_h}};
    for (int f = 0; f < 2; f++) {
        const int x0 = frames[f][0] - 1, y0 = frames[f][1] - 1;
        const int x1 = frames[f][0] + frames[f][2], y1 = frames[f][1] + frames[f][3];
        dp_canvas_line(&c, x0, y0, x1, y0, black);
        dp_canvas_line(&c, x0, y1, x1, y1, black);
        dp_canvas_line(&c, x0, y0, x0, y1, black);
        dp_canvas_line(&c, x1, y0, x1, y1, black);
    }
    for (int i = 0; i < 5; i++) {
        const int y = bar_y + (int)lround((1 - i / 4.0) * (bar_h - 1));
        dp_canvas_fill_rect(&c, bar_x + bar_w + 1, y, tick, s, black);
        dp_canvas_text(&c, label_x, y - 3 * s, labels[i], black, s);
    }
    const int st = dp_png_write(&c, out, err, errsz) == 0 ? HM_OK : HM_FAIL;
    dp_canvas_free(&c);
    return st;
}

int dp_heatmap_png(const dp_heatmap_opts_t *o, char *err, size_t errsz)
{
    if (o->has_range && !(isfinite(o->lo) && isfinite(o->hi) && o->lo < o->hi)) {
        snprintf(err, errsz, "the range %g,%g needs finite LO < HI", o->lo, o->hi);
        return HM_BAD_OPTION;
    }
    if (o->slice_axis > 2) {
        snprintf(err, errsz, "slice axis %d: a 3-D dataset has axes 0, 1 and 2", o->slice_axis);
        return HM_BAD_OPTION;
    }
    view_t v = {.file = H5I_INVALID_HID, .dset = H5I_INVALID_HID, .space = H5I_INVALID_HID};
    int st = open_dataset(&v, o, err, errsz);
    if (st == HM_OK)
        st = choose_view(&v, o, err, errsz);
    image_t im = {0};
    if (st == HM_OK) {
        const uint64_t mp = o->max_pixels > 0 ? (uint64_t)o->max_pixels : DEFAULT_MAX_PIXELS;
        const uint64_t longest = v.rows > v.cols ? v.rows : v.cols;
        im.box = (longest + mp - 1) / mp;
        im.width = (int)((v.cols + im.box - 1) / im.box);
        im.height = (int)((v.rows + im.box - 1) / im.box);
        im.zoom = 1;
        if (longest < MIN_SIDE && longest < mp) {
            const uint64_t target = MIN_SIDE < mp ? MIN_SIDE : mp;
            im.zoom = (int)(target / longest);
        }
        const size_t n = (size_t)im.width * (size_t)im.height;
        im.value = calloc(n, sizeof *im.value);
        im.count = calloc(n, sizeof *im.count);
        im.inf = calloc(n, 1);
        if (!im.value || !im.count || !im.inf) {
            snprintf(err, errsz, "out of memory for a %d x %d image", im.width, im.height);
            st = HM_FAIL;
        }
    }
    if (st == HM_OK)
        st = accumulate(&v, &im, err, errsz);
    if (st == HM_OK) {
        double lo = o->lo, hi = o->hi;
        if (!o->has_range) {
            lo = im.any_finite ? im.min : 0;
            hi = im.any_finite ? im.max : 1;
            if (lo == hi) { /* constant data: the value sits in the middle of the bar */
                const double pad = fabs(lo) > 1 ? 0.5 * fabs(lo) : 0.5;
                lo -= pad;
                hi += pad;
            }
        }
        st = draw(&v, &im, lo, hi, o->out, err, errsz);
    }
    image_free(&im);
    view_close(&v);
    return st;
}
