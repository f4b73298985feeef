#include "source.h"

#include <stdio.h>

static dp_status_t gen_open(dp_source_t *s)
{
    static const char *const names[] = {"ramp", "random", "bump"};
    char shape[96];
    s->shape = s->job->input.shape;
    s->dtype = DP_DT_FLOAT64;
    snprintf(s->describe, sizeof s->describe, "generated %s %s", names[s->job->input.generator],
             dp_shape_str(&s->shape, shape, sizeof shape));
    return DP_OK;
}

static dp_status_t gen_read(dp_source_t *s, const int64_t start[DP_MAX_DIMS],
                            const int64_t count[DP_MAX_DIMS], double *out)
{
    dp_block_t b = {.global = s->shape, .data = out};
    for (int d = 0; d < DP_MAX_DIMS; d++) {
        b.start[d] = start[d];
        b.count[d] = count[d];
    }
    dp_generate((dp_generator_t)s->job->input.generator, (uint64_t)s->job->input.seed, &b);
    return DP_OK;
}

static void gen_close(dp_source_t *s)
{
    (void)s;
}

const dp_source_ops_t dp_source_generate = {.open = gen_open, .read = gen_read, .close = gen_close};
