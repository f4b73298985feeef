/* dproc's kernel API: the whole contract between dproc and a kernel, for the built-in kernels
 * and for plugins alike (docs/kernels.md). A kernel is pure local computation over a block of a
 * distributed array, a piece of one, or whole records of text: OpenMP loops if it likes, never
 * MPI. dproc reads, exchanges, combines and writes; the kernel never knows how many ranks
 * exist. A kernel is a const table of functions (dp_kernel_t); a plugin is a shared object that
 * defines DP_PLUGIN_SYMBOL, a dp_plugin_t listing its kernels, built against this header and
 * loaded by dproc with dlopen ([job] plugin, DPROC_PLUGIN_PATH).
 *
 * The functions declared here are defined by the dproc executable, which exports them to the
 * plugins it loads: a plugin links against nothing of dproc's. */
#ifndef DPROC_KERNEL_H
#define DPROC_KERNEL_H

#include <stddef.h>
#include <stdint.h>

/* The version of this contract. A plugin records the version it was built against
 * (dp_plugin_t); dproc loads only plugins of its own version, because a kernel table of another
 * version has another layout. Raised on every change to a type or table in this header. */
#define DP_KERNEL_API_VERSION 1

enum { DP_MAX_DIMS = 3 };

/* Element types of stored data (input files, output datasets). */
typedef enum {
    DP_DT_INT8,
    DP_DT_INT16,
    DP_DT_INT32,
    DP_DT_INT64,
    DP_DT_UINT8,
    DP_DT_UINT16,
    DP_DT_UINT32,
    DP_DT_UINT64,
    DP_DT_FLOAT32,
    DP_DT_FLOAT64,
} dp_dtype_t;
#define DP_DTYPE_NAMES "int8|int16|int32|int64|uint8|uint16|uint32|uint64|float32|float64"

/* The extents of an array of 1 to 3 dimensions, row-major (last index fastest). Unused
 * trailing extents are 1. */
typedef struct {
    int ndim;
    int64_t n[DP_MAX_DIMS];
} dp_shape_t;

typedef enum {
    DP_OPT_STRING, /* char *, owned by the destination struct */
    DP_OPT_INT,    /* int64_t within [min, max] */
    DP_OPT_REAL,   /* finite double within [min, max] */
    DP_OPT_BOOL,   /* int: true/false, yes/no, on/off, 1/0 */
    DP_OPT_CHOICE, /* int: index of the value in allowed ("a|b|c") */
    DP_OPT_FLAGS,  /* unsigned: bit i set for each listed value i of allowed ("a|b|c") */
    DP_OPT_SHAPE,  /* dp_shape_t: "400,300" */
    DP_OPT_REALS,  /* dp_reals_t: "50, 90, 99.9", each finite and within [min, max] */
    DP_OPT_NAMED,  /* dp_named_t: every other key of the section, a finite number within
                      [min, max] named by its key (e.g. constants of a formula); the row's key
                      names them in the docs ("NAME") */
} dp_opt_type_t;

enum { DP_MAX_REALS = 32, DP_MAX_NAMED = 32, DP_NAME_MAX = 32 };

/* A list of numbers from the job file. */
typedef struct {
    int n;
    double v[DP_MAX_REALS];
} dp_reals_t;

/* Numbers named by their keys (DP_OPT_NAMED), in the order of the job file. A name is a letter
 * or '_' followed by letters, digits and '_', shorter than DP_NAME_MAX. */
typedef struct {
    int n;
    char name[DP_MAX_NAMED][DP_NAME_MAX];
    double v[DP_MAX_NAMED];
} dp_named_t;

/* One job-file key of a section: parsing, validation, defaults and documentation in one row. */
typedef struct {
    const char *key;
    dp_opt_type_t type;
    const char *def;     /* default as job-file text; NULL: none (see required) */
    const char *allowed; /* CHOICE and FLAGS: the values, '|'-separated */
    double min, max;     /* INT and REAL: inclusive bounds */
    int required;        /* 1: the key must be present */
    size_t offset;       /* offset of the destination in the section's struct */
    const char *help;    /* one line for --help-job and the docs */
} dp_opt_t;

/* A rectangular piece of the global array held in memory by this rank: count[] values from
 * global index start[], row-major and contiguous. */
typedef struct {
    dp_shape_t global;
    int64_t start[DP_MAX_DIMS];
    int64_t count[DP_MAX_DIMS];
    double *data;
} dp_block_t;

/* Number of values in a block. Local. */
static inline int64_t dp_block_size(const dp_block_t *b)
{
    return b->count[0] * b->count[1] * b->count[2];
}

/* Named results of a kernel, filled by its results() function and reported by dproc in the
 * JSON report, the summary and the output file. A '/' in a name nests it ("hist/counts").
 * Each function adds one result: a real, an integer, a list of either. Local. */
typedef struct dp_results dp_results_t;
void dp_results_real(dp_results_t *r, const char *name, double v);
void dp_results_int(dp_results_t *r, const char *name, int64_t v);
void dp_results_reals(dp_results_t *r, const char *name, const double *v, size_t n);
void dp_results_ints(dp_results_t *r, const char *name, const int64_t *v, size_t n);
/* A row-major index of the input array (of its values as the kernel sees them), reported as
 * one index per axis of the array as stored. For the data a plugin's kernel gets (1 to
 * DP_MAX_DIMS dimensions) that is the index unravelled by the global shape; the built-in reduce
 * also reads a scalar (no index) and arrays of more than DP_MAX_DIMS dimensions, which it sees
 * with their leading axes merged into axis 0. A negative index is reported as nulls (none was
 * found). Local. */
void dp_results_index(dp_results_t *r, const char *name, int64_t i);
/* An array result of the given shape (row-major values): written with that shape to the
 * output file, as a flat list to the report. Local. */
void dp_results_array(dp_results_t *r, const char *name, const double *v, const dp_shape_t *shape);
void dp_results_int_array(dp_results_t *r, const char *name, const int64_t *v,
                          const dp_shape_t *shape);

enum { DP_KERNEL_MAX_FILES = 4 };

typedef enum {
    DP_KERNEL_REDUCE,   /* folds the data into a partial result; partials are combined */
    DP_KERNEL_MAP,      /* maps each block to an output block of the same shape */
    DP_KERNEL_STENCIL,  /* iterates a neighbourhood map over a block with ghost points */
    DP_KERNEL_KEYVALUE, /* maps text records to key/value pairs combined by key (MapReduce) */
} dp_kernel_kind_t;

/* Whole records of text handed to a KEYVALUE kernel: one or more lines (or CSV records) of one
 * file, never a part of one. */
typedef struct {
    const char *data;
    size_t len;
    int64_t file;   /* index of the file in the input's list */
    int64_t line;   /* 1-based line number of data[0] in its file (kernels with kv_csv) */
    int file_start; /* data[0] is the first byte of its file (its header, when it has one) */
} dp_text_t;

enum { DP_KV_LISTED = 10, DP_KV_COLUMNS = 8 };

/* What a KEYVALUE kernel counts while mapping, summed over ranks by dproc. */
typedef struct {
    int64_t records; /* lines or data rows seen */
    int64_t total;   /* words counted, rows taken into the groups */
    int64_t bad;     /* rows refused */
    int nlisted;     /* the first bad rows in input order: file index and line */
    int64_t bad_file[DP_KV_LISTED], bad_line[DP_KV_LISTED];
    char error[200]; /* set when a row must stop the job: why, and where */
    int64_t error_file, error_line;
} dp_kv_tally_t;

/* One column of a KEYVALUE kernel's output table after its key. */
typedef struct {
    const char *name;
    int is_int;
} dp_kv_column_t;

typedef union {
    int64_t i;
    double r;
} dp_kv_cell_t;

/* A KEYVALUE kernel's hash table of keys and values, one per OpenMP thread (opaque). */
typedef struct dp_kvt dp_kvt_t;

/* The value of key (len bytes, any bytes) in table t: a new entry with its value zeroed and
 * *created set to 1 when the key was absent, else *created = 0. The pointer is valid until the
 * next call on t. Local: only the thread that owns t calls it. */
void *dp_kv_get(dp_kvt_t *t, const void *key, size_t len, int *created);

/* A rank's block with ghost points around it: count[] points from global index start[], stored
 * row-major in an array of ext[d] = count[d] + 2 halo[d] points per axis. Local index x of the
 * block runs from -halo[d] to count[d] + halo[d] - 1 along axis d; unused axes have count 1 and
 * halo 0. */
typedef struct {
    dp_shape_t global;
    int64_t start[DP_MAX_DIMS];
    int64_t count[DP_MAX_DIMS];
    int64_t halo[DP_MAX_DIMS];
    int64_t ext[DP_MAX_DIMS];
    double *data;
} dp_field_t;

/* Pointer to local index (i, j, k) of a field. Local. */
static inline double *dp_field_at(const dp_field_t *f, int64_t i, int64_t j, int64_t k)
{
    return f->data + ((i + f->halo[0]) * f->ext[1] + j + f->halo[1]) * f->ext[2] + k + f->halo[2];
}

/* Rows of a field: its own points as lines along the last axis of the array (contiguous in
 * storage), count[ndim-1] points each. The number of rows. Local. */
static inline int64_t dp_field_rows(const dp_field_t *f)
{
    int64_t n = 1;
    for (int d = 0; d < f->global.ndim - 1; d++)
        n *= f->count[d];
    return n;
}

/* Pointer to the first point of own row r (0 <= r < dp_field_rows). Local. */
static inline double *dp_field_row(const dp_field_t *f, int64_t r)
{
    int64_t x[DP_MAX_DIMS] = {0, 0, 0};
    for (int d = f->global.ndim - 2; d >= 0; d--) {
        x[d] = r % f->count[d];
        r /= f->count[d];
    }
    return dp_field_at(f, x[0], x[1], x[2]);
}

/* The largest |a - b| over the block's own points of two fields of one layout (NaN when any
 * difference is NaN). Local, OpenMP. */
double dp_field_max_change(const dp_field_t *a, const dp_field_t *b);

/* A box of local indices: lo[d] <= x < hi[d] along each axis. */
typedef struct {
    int64_t lo[DP_MAX_DIMS];
    int64_t hi[DP_MAX_DIMS];
} dp_box_t;

/* Points of one tile with its ghosts in temporal blocking: two such buffers per thread (1 MiB)
 * stay in a core's L2 cache. */
enum { DP_TILE_POINTS = 65536 };

/* Cuts the block of f into tiles (boxes of its own points) whose extents, grown by grow[d] on
 * both sides, hold at most DP_TILE_POINTS points, halving the longest extent (the last axis
 * counted half, to keep rows long) until they do. Returns the number of tiles in *tiles
 * (malloc'ed), or 0 when even one-point tiles would not fit. Local. */
int64_t dp_field_tiles(const dp_field_t *f, const int64_t grow[DP_MAX_DIMS], dp_box_t **tiles);

/* Which sides of a block lie on the edge of the global array (non-periodic): side[d][0] low,
 * side[d][1] high. */
typedef struct {
    int side[DP_MAX_DIMS][2];
} dp_edges_t;

/* What the driver needs to know to iterate a STENCIL kernel, filled by its iteration(). */
typedef struct {
    int64_t radius[DP_MAX_DIMS]; /* farthest tap offset along each axis */
    int corners;                 /* some tap is off more than one axis */
    int periodic;                /* the array wraps around on every axis */
    int64_t iterations;          /* applications to do in all */
    int64_t halo_depth;          /* iterations per halo exchange */
    int tiles;                   /* do them by steps() (temporal blocking) */
    double tolerance;            /* stop when the max change falls below; 0: never */
    int64_t check_every;         /* iterations between convergence checks */
    int64_t checkpoint_every;    /* iterations between checkpoints; 0: none */
    const char *checkpoint_path;
    int64_t snapshot_every; /* iterations between snapshots; 0: none */
    const char *snapshot_path;
    const char *signature; /* the computation in words, stored in checkpoints to match them */
} dp_iteration_t;

/* A kernel is a table of functions over a private state that create() makes from the
 * configuration its option table filled (as PETSc's KSPCreate_CG fills an ops table and a data
 * pointer). The driver runs, for a REDUCE kernel:
 *
 *   st = create(cfg, global shape)
 *   do:  partial_init(st, p); process(st, piece, piece, p) for every piece of the rank's block;
 *        combine(st, acc, in) across ranks;
 *   while next_pass(st, combined) asks for another pass over the same data (multi_pass: the
 *        driver keeps the whole block in memory when [run] memory_mb allows, else reads it
 *        again)
 *   results(st, combined, res); destroy(st)
 *
 * for a MAP kernel create, process(st, piece, out, NULL) for every piece (then the reduction
 * of then_reduce over the pieces written), destroy; and for a
 * STENCIL kernel create, iteration(st, &it), then per iteration, with the ghost points of in
 * exchanged between ranks (or filled by fill() on the edges of the array), sweep(st, in, out,
 * box) over boxes that together cover the points to update, and the two fields swapped.
 *
 * A KEYVALUE kernel reads text: create, kv_header (when the kernel has one), then kv_map for
 * consecutive runs of whole records of the rank's byte range of the input; dproc merges the
 * per-thread tables, sends every key to the rank that owns it (a hash of the key), merges equal
 * keys with kv_merge, orders the keys and writes kv_row of each. */
typedef struct dp_kernel {
    const char *name;    /* registry name, also the name of its job-file section */
    const char *summary; /* one line for --list-kernels */
    dp_kernel_kind_t kind;
    const dp_opt_t *opts; /* keys of its section, NULL-key terminated */
    size_t config_size;   /* bytes of the struct that opts fill */
    /* Checks combinations of keys after parsing; returns NULL when fine, else a message, with
     * *key set to the key it concerns and *column to the 1-based column within that key's
     * value that the message points at (left 0: the whole value). Optional. */
    const char *(*check)(const void *cfg, const char **key, int *column);
    /* Checks the configuration against the global extents of the data, once they are known;
     * returns NULL when fine, else a message, with *key set to the key it concerns. Optional. */
    const char *(*check_data)(const void *cfg, const dp_shape_t *global, const char **key);
    /* The files the kernel writes itself (checkpoints, time series): fills the key naming each
     * and its path, returns how many (at most DP_KERNEL_MAX_FILES), so that dproc checks them
     * as it checks [output] path: never the input, never another output. Optional. */
    int (*files)(const void *cfg, const char *keys[], const char *paths[]);
    /* Makes the per-run state from the configuration and the global extents of the data
     * (NULL for a KEYVALUE kernel, which sees text). Optional for the array kinds, where NULL
     * is a valid state (and the state is NULL without create); required for KEYVALUE, where a
     * NULL state means out of memory. May be called more than once in a run (each with its
     * destroy), e.g. to inspect a checkpoint. */
    void *(*create)(const void *cfg, const dp_shape_t *global);
    /* Whether next_pass may ask for more than one pass (REDUCE). Optional: default no. */
    int (*multi_pass)(const void *cfg);
    /* Bytes of the partial result of the current pass (REDUCE). */
    size_t (*partial_size)(const void *st);
    /* Sets a partial to the identity of the combination (REDUCE). */
    void (*partial_init)(const void *st, void *partial);
    /* Processes one piece: REDUCE folds in into partial; MAP writes out (same extents as in,
     * and out->data may equal in->data). Called for consecutive pieces in global order; a
     * piece may be any run of whole rows of the block, so the result must not depend on where
     * the data were cut. */
    void (*process)(const void *st, const dp_block_t *in, dp_block_t *out, void *partial);
    /* acc = acc (+) in, where acc holds the lower-ranked data (REDUCE). */
    void (*combine)(const void *st, void *acc, const void *in);
    /* Takes the combined partial of a pass (identical on all ranks); returns 1 to ask for
     * another pass over the same data (REDUCE). Optional: default 0. */
    int (*next_pass)(void *st, const void *combined);
    /* Reports the results from the combined partial of the last pass (identical on all ranks);
     * returns NULL, or a message when the data break a rule the job set (e.g. NaN with
     * nan = error) (REDUCE). */
    const char *(*results)(const void *st, const void *combined, dp_results_t *res);
    /* How to iterate (STENCIL). */
    void (*iteration)(const void *st, dp_iteration_t *it);
    /* out = the stencil applied to in, at the points of box (local indices, which may reach
     * into the ghost layer) (STENCIL). */
    void (*sweep)(const void *st, const dp_field_t *in, dp_field_t *out, const dp_box_t *box);
    /* Fills the ghost points of f beyond the edges of the array that edges marks, as the
     * kernel's boundary condition says (STENCIL). */
    void (*fill)(const void *st, dp_field_t *f, const dp_edges_t *edges);
    /* Applies steps iterations at once to each of the tiles (from dp_field_tiles with grow =
     * steps * reach) of in's block, writing their own points into out; in's ghosts hold valid
     * values steps * reach deep beyond every side that is not an edge, and are filled (fill())
     * beyond the edges that the tiles touch. With want_change,
     * returns the largest change of the last iteration over the tiles' own points (NaN when
     * one is NaN), else 0 (STENCIL, optional: temporal blocking). */
    double (*steps)(const void *st, const dp_field_t *in, dp_field_t *out, const dp_edges_t *edges,
                    int64_t steps, const dp_box_t *tiles, int64_t ntiles, int want_change);
    /* The element type of the array a MAP kernel writes: dproc rounds the values process()
     * wrote to it (integers to the nearest, ties to even, saturating, NaN to 0) before it
     * stores or reduces them. Optional: default float64. */
    dp_dtype_t (*out_dtype)(const void *cfg);
    /* The ops of the reduce kernel to run on the values a MAP kernel writes, in the same pass
     * (map, then reduce, without a second read), as job-file text; NULL for none. Its other
     * keys come from the [reduce] section. Optional. */
    const char *(*then_reduce)(const void *cfg);
    /* KEYVALUE kernels (see the flow above the struct): */
    int kv_by_count; /* output ordered by count, descending, then key; else by key */
    /* Records are CSV with the delimiter this returns: a newline inside a quoted field does not
     * end one. Optional: default lines. */
    char (*kv_csv)(const void *st);
    /* Takes the header (the first CSV record of the first file, identical on all ranks; kernels
     * with kv_csv) before any kv_map; returns NULL, or a message with *key set to the job-file
     * key it concerns. Optional. */
    const char *(*kv_header)(void *st, const char *rec, size_t len, const char **key);
    /* Bytes of a value in the hash table. */
    size_t (*kv_value_size)(const void *st);
    /* Maps the records of text into tables[0..ntables-1] (one per OpenMP thread: a thread
     * inserts into its own), counting into tally. */
    void (*kv_map)(const void *st, const dp_text_t *text, dp_kvt_t *const *tables, int ntables,
                   dp_kv_tally_t *tally);
    /* acc = acc (+) in for two values of one key; the result must not depend on the order. */
    void (*kv_merge)(const void *st, void *acc, const void *in);
    /* Serialises a value into out (at least kv_pack_max bytes); returns the bytes written.
     * Optional (with kv_unpack): default the value's bytes as they are. */
    size_t (*kv_pack)(const void *st, const void *v, unsigned char *out);
    size_t (*kv_pack_max)(const void *st);
    /* Sets a zeroed value from its serialised form; returns the bytes read. */
    size_t (*kv_unpack)(const void *st, const unsigned char *in, void *v);
    /* Frees what a value points to. Optional. */
    void (*kv_free_value)(const void *st, void *v);
    /* The output columns: cols[0] names the key, then up to DP_KV_COLUMNS values; returns the
     * number of value columns. */
    int (*kv_columns)(const void *st, dp_kv_column_t *cols);
    /* The value columns of one key, and its count (for the report's top list). */
    void (*kv_row)(const void *st, const void *v, dp_kv_cell_t *cells);
    int64_t (*kv_count)(const void *st, const void *v);
    /* Rows listed in the report's top list. */
    int64_t (*kv_top_k)(const void *st);
    /* Frees the state. Optional. */
    void (*destroy)(void *st);
} dp_kernel_t;

/* What a plugin defines, under the name DP_PLUGIN_SYMBOL:
 *
 *   DP_PLUGIN_EXPORT const dp_plugin_t dproc_plugin = {
 *       .api_version = DP_KERNEL_API_VERSION,
 *       .name = "mine",
 *       .kernels = (const dp_kernel_t *const[]){&my_kernel, NULL},
 *   };
 *
 * dproc refuses a plugin without it, of another api_version, or naming a kernel that exists. */
typedef struct {
    int api_version;                   /* DP_KERNEL_API_VERSION of the header it was built with */
    const char *name;                  /* the plugin's name, shown by --list-kernels */
    const dp_kernel_t *const *kernels; /* NULL-terminated */
} dp_plugin_t;
/* Keeps dproc_plugin visible when the rest of the plugin is built with hidden visibility. */
#define DP_PLUGIN_EXPORT __attribute__((visibility("default")))
#define DP_PLUGIN_SYMBOL "dproc_plugin"

#endif
