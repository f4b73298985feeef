/* The manual page dproc(1), generated from the tables that make --help and --help-job. */
#ifndef DP_MAN_H
#define DP_MAN_H

#include <stdio.h>

/* Prints dproc(1) in troff (man) format: the synopsis and options of usage (the --help text),
 * every job-file section and key, the built-in kernels (not those of DPROC_PLUGIN_PATH: the
 * build prints the page), the environment and the exit status. Local, no MPI. */
void dp_man_print(FILE *f, const char *usage);

#endif
