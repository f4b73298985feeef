/* The cost of tracing per span: recording (dp_trace_span) and writing the trace at the end
 * (dp_trace_finish), measured on spans of alternating kinds (which are never merged). Prints
 * JSON for bench/trace_cost.py.
 *   trace_probe [--spans N] [--out FILE]     (N default 1000000; FILE default /tmp/...)
 */
#include "trace.h"

#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    long long n = 1000000;
    char out[256];
    snprintf(out, sizeof out, "/tmp/dproc-trace-probe-%ld.json", (long)getpid());
    for (int i = 1; i + 1 < argc; i += 2) {
        if (!strcmp(argv[i], "--spans"))
            n = atoll(argv[i + 1]);
        else if (!strcmp(argv[i], "--out"))
            snprintf(out, sizeof out, "%s", argv[i + 1]);
    }
    dp_trace_start(MPI_COMM_WORLD);
    const double t0 = MPI_Wtime();
    for (long long i = 0; i < n; i++) {
        const double t = t0 + 1e-6 * (double)i;
        dp_trace_span(i % 2 ? DP_TR_HALO_WAIT : DP_TR_COMPUTE, t, t + 5e-7);
    }
    const double t1 = MPI_Wtime();
    const dp_trace_about_t about = {.version = "probe", .status = "ok", .threads = 1};
    const int st = dp_trace_finish(out, &about);
    const double t2 = MPI_Wtime();
    unlink(out);
    printf("{\"spans\": %lld, \"record_ns\": %.2f, \"write_ns\": %.2f, \"status\": %d}\n", n,
           1e9 * (t1 - t0) / (double)n, 1e9 * (t2 - t1) / (double)n, st);
    MPI_Finalize();
    return st;
}
