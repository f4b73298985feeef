#include "plot_cli.h"

#include "err.h"
#include "hdf5_util.h"
#include "heatmap.h"
#include "trace_svg.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char plot_usage[] =
    "usage: dproc plot trace RUN.json -o RUN.svg\n"
    "       dproc plot heatmap OUT.h5[:/DATASET] -o OUT.png [--slice AXIS:INDEX]\n"
    "                  [--range LO,HI] [--max-pixels N]\n"
    "\n"
    "trace    draws the timeline of a run ([output] trace) as an SVG Gantt chart: lanes per\n"
    "         rank, time across, every phase in its own colour, a legend of the phases.\n"
    "heatmap  draws a 2-D dataset, or a 2-D slice of a 3-D one, as a PNG with a colour bar;\n"
    "         DATASET may be left out when the file has just one 2-D or 3-D numeric dataset.\n"
    "         Row 0 is at the top; NaN shows grey.\n"
    "\n"
    "  -o, --output FILE        the picture to write (an existing file is replaced)\n"
    "      --slice AXIS:INDEX   3-D data: the axis to fix (0, 1 or 2) and the index along it\n"
    "                           (default: axis 0, the middle index)\n"
    "      --range LO,HI        the values at the ends of the colour bar (default: the\n"
    "                           smallest and largest finite values)\n"
    "      --max-pixels N       the image's longest side, 1 to 8192 (default 1024); larger\n"
    "                           data is shown as means of square boxes of its finite values\n"
    "  -h, --help               this help\n"
    "\n"
    "Exit status: 0 success, 1 the input cannot be read or drawn, 2 bad command line.\n";

enum { MAX_PIXELS_LIMIT = 8192 };

typedef struct {
    int heatmap; /* else trace */
    const char *input, *out;
    dp_heatmap_opts_t hm;
    const char *heatmap_option; /* the last option given that only heatmap takes */
} plot_t;

/* Prints "dproc plot: <message> (try dproc plot --help)"; returns the exit status 2. */
__attribute__((format(printf, 1, 2))) static int usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "dproc plot: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, " (try dproc plot --help)\n");
    va_end(ap);
    return 2;
}

/* AXIS:INDEX with AXIS 0, 1 or 2 and INDEX a whole number >= 0. */
static int parse_slice(const char *text, dp_heatmap_opts_t *o)
{
    char *end;
    errno = 0;
    const long axis = strtol(text, &end, 10);
    if (end == text || *end != ':' || axis < 0 || axis > 2)
        return 0;
    const char *index = end + 1;
    if (*index < '0' || *index > '9')
        return 0;
    const long long i = strtoll(index, &end, 10);
    if (errno || *end)
        return 0;
    o->slice_axis = (int)axis;
    o->slice_index = i;
    return 1;
}

/* LO,HI: two finite numbers, LO < HI. */
static int parse_range(const char *text, dp_heatmap_opts_t *o)
{
    char *end;
    const double lo = strtod(text, &end);
    if (end == text || *end != ',')
        return 0;
    const char *second = end + 1;
    const double hi = strtod(second, &end);
    if (end == second || *end || !isfinite(lo) || !isfinite(hi) || !(lo < hi))
        return 0;
    o->has_range = 1;
    o->lo = lo;
    o->hi = hi;
    return 1;
}

/* Parses argv (argv[0] "trace" or "heatmap"); 0, -1 after --help, or the exit status 2. */
static int parse(plot_t *p, int argc, char **argv)
{
    enum { O_SLICE = 256, O_RANGE, O_MAX_PIXELS };
    static const struct option longs[] = {
        {"output", required_argument, NULL, 'o'},
        {"slice", required_argument, NULL, O_SLICE},
        {"range", required_argument, NULL, O_RANGE},
        {"max-pixels", required_argument, NULL, O_MAX_PIXELS},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    optind = 0; /* glibc: start afresh, also after an earlier parse */
    opterr = 0;
    int c;
    while ((c = getopt_long(argc, argv, "o:h", longs, NULL)) != -1) {
        switch (c) {
        case 'o':
            p->out = optarg;
            break;
        case O_SLICE:
            p->heatmap_option = "--slice";
            if (!parse_slice(optarg, &p->hm))
                return usage_error("--slice '%s' must be AXIS:INDEX, AXIS 0, 1 or 2 and INDEX a "
                                   "whole number from 0",
                                   optarg);
            break;
        case O_RANGE:
            p->heatmap_option = "--range";
            if (!parse_range(optarg, &p->hm))
                return usage_error("--range '%s' must be LO,HI, two finite numbers with LO < HI",
                                   optarg);
            break;
        case O_MAX_PIXELS: {
            p->heatmap_option = "--max-pixels";
            char *end;
            errno = 0;
            const long n = strtol(optarg, &end, 10);
            if (end == optarg || *end || errno || n < 1 || n > MAX_PIXELS_LIMIT)
                return usage_error("--max-pixels '%s' must be a whole number from 1 to 8192",
                                   optarg);
            p->hm.max_pixels = (int)n;
            break;
        }
        case 'h':
            fputs(plot_usage, stdout);
            return -1;
        default:
            return usage_error("unknown or incomplete option '%s'", argv[optind - 1]);
        }
    }
    if (optind < argc - 1)
        return usage_error("more than one input given ('%s' and more)", argv[optind]);
    if (optind >= argc)
        return usage_error("no input given%s", p->heatmap ? " (OUT.h5[:/DATASET])" : " (RUN.json)");
    p->input = argv[optind];
    if (!p->out)
        return usage_error("no output given%s", p->heatmap ? " (-o OUT.png)" : " (-o RUN.svg)");
    if (!p->heatmap && p->heatmap_option)
        return usage_error("%s is an option of plot heatmap, not of plot trace", p->heatmap_option);
    return 0;
}

/* FILE[:/DATASET] into file (malloc'ed) and dataset (inside it, or NULL): a name that exists
 * as a file is a file, otherwise the last ":/" starts the dataset. */
static char *split_input(const char *input, const char **dataset)
{
    char *file = dp_xstrdup(input);
    *dataset = NULL;
    char *colon = NULL;
    for (char *s = strstr(file, ":/"); s; s = strstr(s + 1, ":/"))
        colon = s;
    if (colon && access(input, F_OK) != 0) {
        *colon = '\0';
        *dataset = colon + 1;
    }
    return file;
}

/* Whether the paths name the same file (or the same name, when neither exists yet). */
static int same_file(const char *a, const char *b)
{
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    return !strcmp(a, b);
}

int dp_plot_main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "dproc plot: say what to draw: trace or heatmap (try dproc plot --help)\n");
        return 2;
    }
    if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
        fputs(plot_usage, stdout);
        return 0;
    }
    plot_t p = {.heatmap = !strcmp(argv[1], "heatmap"),
                .hm = {.slice_axis = -1, .slice_index = -1}};
    if (!p.heatmap && strcmp(argv[1], "trace"))
        return usage_error("'%s' is not a picture dproc draws: trace or heatmap", argv[1]);
    const int st = parse(&p, argc - 1, argv + 1);
    if (st)
        return st < 0 ? 0 : st;

    char err[2048];
    int status;
    if (p.heatmap) {
        char *file = split_input(p.input, &p.hm.dataset);
        if (same_file(file, p.out)) {
            free(file);
            return usage_error("the output '%s' would replace the input", p.out);
        }
        p.hm.file = file;
        p.hm.out = p.out;
        dp_h5_quiet();
        status = dp_heatmap_png(&p.hm, err, sizeof err);
        free(file);
    } else {
        if (same_file(p.input, p.out))
            return usage_error("the output '%s' would replace the input", p.out);
        status = dp_trace_svg(p.input, p.out, err, sizeof err);
    }
    if (status)
        fprintf(stderr, "dproc plot: %s\n", err);
    return status;
}
