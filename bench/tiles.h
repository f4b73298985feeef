/* What the reductions' SIMD passes cost per value on a tile already in L1, for dp_bench. */
#ifndef DP_BENCH_TILES_H
#define DP_BENCH_TILES_H

/* Times the tile passes that reduce runs for sum, for sum,min,max,mean,var and for a 256-bin
 * histogram over [0, 1), on x[0..DP_TILE) (values in [0, 1)) held in L1, for every instruction
 * set variant this processor runs, reps timed repetitions each (the median kept, the passes in
 * turn within each repetition). Prints them as members of dp_bench's JSON object, with each
 * pass's time as a share of memory_ns, the time in which memory delivers one value to each of
 * the probe's threads: near or above 1, that pass is bound by its computing rather than by
 * memory. Local, one thread. */
void dp_bench_tiles(const double *x, int reps, double memory_ns);

#endif
