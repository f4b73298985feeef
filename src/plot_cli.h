/* dproc plot: pictures of a run's trace (SVG) and of a result dataset (PNG). */
#ifndef DP_PLOT_CLI_H
#define DP_PLOT_CLI_H

/* Runs `dproc plot` with its own arguments (argv[0] is "plot"):
 *   dproc plot trace RUN.json -o RUN.svg
 *   dproc plot heatmap OUT.h5[:/dataset] -o OUT.png [--slice AXIS:INDEX] [--range LO,HI]
 *                      [--max-pixels N]
 * Errors go to stderr as "dproc plot: ...". Returns the exit status: 0, 1 when the input
 * cannot be read or the picture cannot be drawn, 2 for a bad command line. Local: one process,
 * no MPI calls. */
int dp_plot_main(int argc, char **argv);

#endif
