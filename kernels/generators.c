#include "kernel.h"

#include <math.h>

/* A counter-based hash (two rounds of a 64-bit finaliser): the stream for one seed is a pure
 * function of the index, so every rank and thread computes the same value for it. */
static inline uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

double dp_generate_random_at(uint64_t seed, uint64_t i)
{
    uint64_t h = mix64(mix64(i + 0x9e3779b97f4a7c15ULL * (seed + 1)) ^ seed);
    return (double)(h >> 11) * 0x1.0p-53;
}

void dp_generate(dp_generator_t gen, uint64_t seed, dp_block_t *b)
{
    const int64_t c0 = b->count[0], c1 = b->count[1], c2 = b->count[2];
    const int64_t n1 = b->global.n[1], n2 = b->global.n[2];
    double *out = b->data;
    const double inv_w = 1.0 / (2.0 * 0.1 * 0.1);
#pragma omp parallel for collapse(2) schedule(static)
    for (int64_t i = 0; i < c0; i++) {
        for (int64_t j = 0; j < c1; j++) {
            const int64_t g0 = b->start[0] + i, g1 = b->start[1] + j;
            const int64_t row = (g0 * n1 + g1) * n2 + b->start[2];
            double *o = out + (i * c1 + j) * c2;
            switch (gen) {
            case DP_GEN_RAMP:
#pragma omp simd
                for (int64_t k = 0; k < c2; k++)
                    o[k] = (double)(row + k);
                break;
            case DP_GEN_RANDOM:
                for (int64_t k = 0; k < c2; k++)
                    o[k] = dp_generate_random_at(seed, (uint64_t)(row + k));
                break;
            case DP_GEN_BUMP: {
                double r2 = 0.0;
                const double u0 = ((double)g0 + 0.5) / (double)b->global.n[0] - 0.5;
                r2 += u0 * u0;
                if (b->global.ndim > 1) {
                    const double u1 = ((double)g1 + 0.5) / (double)n1 - 0.5;
                    r2 += u1 * u1;
                }
                for (int64_t k = 0; k < c2; k++) {
                    double t = 0.0;
                    if (b->global.ndim > 2) {
                        const double u2 = ((double)(b->start[2] + k) + 0.5) / (double)n2 - 0.5;
                        t = u2 * u2;
                    }
                    o[k] = exp(-(r2 + t) * inv_w);
                }
                break;
            }
            }
        }
    }
}
