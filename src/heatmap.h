/* dproc plot heatmap: a 2-D dataset, or a slice of a 3-D one, as a PNG picture with a colour
 * bar. Runs in one process without MPI. */
#ifndef DP_HEATMAP_H
#define DP_HEATMAP_H

#include "png_image.h"

#include <stddef.h>

typedef struct {
    const char *file;      /* the HDF5 file */
    const char *dataset;   /* NULL: the file's only 2-D or 3-D numeric dataset */
    int slice_axis;        /* 3-D: the axis fixed by the slice, 0..2; -1: axis 0 */
    long long slice_index; /* 3-D: its index along that axis; -1: the middle */
    int has_range;         /* lo and hi given; otherwise the finite values' min and max */
    double lo, hi;
    int max_pixels;  /* longest side of the image; 0: 1024. Larger data shows box means,
                      * smaller data is enlarged by a whole factor towards 256 pixels */
    const char *out; /* the PNG file */
} dp_heatmap_opts_t;

/* The colour the map gives t in [0, 1] (values outside are clamped; NaN gives the grey of
 * missing values): a perceptually uniform map from dark purple (0) through blue and green to
 * yellow (1). Local. */
dp_rgb_t dp_heatmap_colour(double t);

/* The grey that stands for NaN (and for image pixels whose box holds no number). */
extern const dp_rgb_t dp_heatmap_nan_grey;

/* Draws the dataset (or the slice) as o->out: row 0 at the top, the first remaining dimension
 * down and the last across, reduced by box means over finite values when its longest side is
 * above o->max_pixels, each value a square of k x k pixels when it is below 256 (k the largest
 * whole factor that keeps it at most 256 and max_pixels); beside it a colour bar with five labelled
 * ticks, above it a title with the dataset's name and the part shown. Reads the data in strips of
 * rows, so that memory holds a strip and the image, never the whole dataset; opens the file with
 * HDF5's default (serial) driver. Returns 0; 1 when the file or dataset cannot be read or does not
 * suit (not 2-D or 3-D, not numeric, empty) or the image cannot be written; 2 when the options are
 * wrong (lo >= hi, a slice of a 2-D dataset, an axis or index outside the dataset). The reason is
 * in err. The PNG appears only when complete. Local (no MPI). */
int dp_heatmap_png(const dp_heatmap_opts_t *o, char *err, size_t errsz);

#endif
