/* A small RGB canvas — rectangles, lines, text in a built-in 5x7 bitmap font — and its PNG
 * file. Everything here is local: no MPI. */
#ifndef DP_PNG_IMAGE_H
#define DP_PNG_IMAGE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint8_t r, g, b;
} dp_rgb_t;

/* width x height pixels, row-major from the top-left, 3 bytes (r, g, b) each. */
typedef struct {
    int width, height;
    uint8_t *rgb;
} dp_canvas_t;

/* Glyph cell of the font at scale 1: 5x7 glyphs, one column and one row of spacing. */
enum { DP_FONT_ADVANCE = 6, DP_FONT_HEIGHT = 8 };

/* Allocates a width x height canvas filled with background; 0, or -1 when the size is not
 * positive, too large for a PNG, or memory is short. Local. */
int dp_canvas_init(dp_canvas_t *c, int width, int height, dp_rgb_t background);

/* Frees the pixels; safe on a zeroed or freed canvas. Local. */
void dp_canvas_free(dp_canvas_t *c);

/* Sets pixel (x, y); pixels outside the canvas are ignored. Local. */
void dp_canvas_set(dp_canvas_t *c, int x, int y, dp_rgb_t colour);

/* The colour of pixel (x, y), which must lie on the canvas. Local. */
dp_rgb_t dp_canvas_get(const dp_canvas_t *c, int x, int y);

/* Fills the w x h rectangle with top-left corner (x, y), clipped to the canvas. Local. */
void dp_canvas_fill_rect(dp_canvas_t *c, int x, int y, int w, int h, dp_rgb_t colour);

/* Draws a one-pixel line from (x0, y0) to (x1, y1), both ends included (Bresenham), clipped
 * to the canvas. Local. */
void dp_canvas_line(dp_canvas_t *c, int x0, int y0, int x1, int y1, dp_rgb_t colour);

/* Width in pixels of text drawn at scale (each glyph DP_FONT_ADVANCE * scale wide). Local. */
int dp_canvas_text_width(const char *text, int scale);

/* Draws text with its cell's top-left corner at (x, y), each font pixel a scale x scale
 * square; characters without a glyph are drawn as a hollow box. Returns the width drawn.
 * Local. */
int dp_canvas_text(dp_canvas_t *c, int x, int y, const char *text, dp_rgb_t colour, int scale);

/* Writes the canvas as an 8-bit RGB PNG to path: to a temporary name in the same directory,
 * renamed to path only once complete (an existing file is replaced). Returns 0, or -1 with the
 * reason in err. Local. */
int dp_png_write(const dp_canvas_t *c, const char *path, char *err, size_t errsz);

#endif
