/* What one core can do per clock cycle, the floors under the reduce kernel's SIMD passes once
 * memory is fast enough (docs/performance.md, "What one core allows"):
 *   - 512-bit vector additions, FMAs and max, alone and two kinds interleaved: each figure runs
 *     24 independent chains, so that only throughput limits them (the statistics' fold is made
 *     of these);
 *   - increments of 64-bit counters at random places among 4 x 260 words in L1, what the
 *     histogram's counting does once per value.
 * The clock comes from a chain of dependent integer additions, one cycle each. Prints JSON.
 * The vector figures need AVX-512 (x86-64); without it only the clock and the counting run. */
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#if defined(__AVX512F__) && defined(__FMA__)
#include <immintrin.h>
#endif

enum { ROUNDS = 4000000 };

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

/* The core's clock in GHz, from dependent one-cycle additions (best of 3). */
static double clock_ghz(void)
{
    double best = 0.0;
    for (int r = 0; r < 3; r++) {
        uint64_t x = 0;
        const double t0 = now();
        for (long i = 0; i < 10L * ROUNDS; i++)
            __asm__ volatile("add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\t"
                             "add $1, %0\n\tadd $1, %0\n\tadd $1, %0\n\tadd $1, %0"
                             : "+r"(x));
        const double ghz = 80.0 * ROUNDS / (now() - t0) / 1e9;
        best = ghz > best ? ghz : best;
    }
    return best;
}

/* Counter increments per cycle at clock ghz: 2048 precomputed random words of 4 copies of 260
 * counters, as the histogram counts a tile of 256 bins (best of 3). */
static double increments_per_cycle(double ghz)
{
    enum { TILE = 2048, WORDS = 260, COPIES = 4, TILES = 20000 };
    static int32_t idx[TILE];
    static int64_t counts[COPIES * WORDS];
    uint64_t state = 88172645463325252ULL; /* xorshift64 */
    for (int i = 0; i < TILE; i++) {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        idx[i] = (int32_t)(state % 256 + (uint64_t)(i % COPIES) * WORDS);
    }
    double best = 0.0;
    for (int r = 0; r < 3; r++) {
        const double t0 = now();
        for (int t = 0; t < TILES; t++) {
            for (int i = 0; i < TILE; i++)
                counts[idx[i]]++;
            __asm__ volatile("" : : "r"(counts) : "memory");
        }
        const double rate = (double)TILE * TILES / (now() - t0) / (ghz * 1e9);
        best = rate > best ? rate : best;
    }
    return best;
}

#if defined(__AVX512F__) && defined(__FMA__)
enum { CHAINS = 24 };

typedef enum { ADD, FMA, MAX } kind_t;

static inline __attribute__((always_inline)) __m512d step(kind_t k, __m512d acc, __m512d x,
                                                          __m512d one)
{
    switch (k) {
    case ADD:
        return _mm512_add_pd(acc, x);
    case FMA:
        return _mm512_fmadd_pd(acc, one, x);
    default:
        return _mm512_max_pd(acc, x);
    }
}

/* Vector operations per cycle at clock ghz, the first half of the chains running kind a, the
 * others kind b (best of 3). */
static inline __attribute__((always_inline)) double ops_per_cycle(kind_t a, kind_t b, double ghz,
                                                                  double *sink)
{
    const __m512d x = _mm512_set1_pd(1e-300), one = _mm512_set1_pd(1.0);
    double best = 0.0;
    for (int r = 0; r < 3; r++) {
        __m512d acc[CHAINS];
        for (int c = 0; c < CHAINS; c++)
            acc[c] = _mm512_set1_pd(1.0 + c);
        const double t0 = now();
        for (long i = 0; i < ROUNDS; i++)
#pragma GCC unroll 24
            for (int c = 0; c < CHAINS; c++)
                acc[c] = step(c < CHAINS / 2 ? a : b, acc[c], x, one);
        const double rate = (double)CHAINS * ROUNDS / (now() - t0) / (ghz * 1e9);
        best = rate > best ? rate : best;
        for (int c = 0; c < CHAINS; c++)
            *sink += _mm512_reduce_add_pd(acc[c]);
    }
    return best;
}

/* Prints one figure; a and b are constants at each call, so that the chains stay in registers. */
#define PRINT_OPS(label, a, b, first)                                                              \
    printf("%s\n    \"%s\": %.2f", (first) ? "" : ",", label, ops_per_cycle(a, b, ghz, &sink))

static void print_vector_ops(double ghz)
{
    double sink = 0.0;
    printf("  \"zmm_ops_per_cycle\": {");
    PRINT_OPS("add", ADD, ADD, 1);
    PRINT_OPS("fma", FMA, FMA, 0);
    PRINT_OPS("max", MAX, MAX, 0);
    PRINT_OPS("add+fma", ADD, FMA, 0);
    PRINT_OPS("add+max", ADD, MAX, 0);
    PRINT_OPS("fma+max", FMA, MAX, 0);
    printf("\n  },\n  \"checksum\": %g,\n", sink);
}
#else
static void print_vector_ops(double ghz)
{
    (void)ghz;
    printf("  \"zmm_ops_per_cycle\": null,\n");
}
#endif

int main(void)
{
    const double ghz = clock_ghz();
    printf("{\n  \"clock_ghz\": %.2f,\n", ghz);
    print_vector_ops(ghz);
    printf("  \"counter_increments_per_cycle\": %.2f\n}\n", increments_per_cycle(ghz));
    return 0;
}
