/* Fault injection, a test facility: DPROC_FAULT=site:rank[:n[:action]] makes rank `rank` fail
 * at the n-th time (default 1) it passes the named site — open, read, write, rename, checkpoint,
 * alloc, plugin (loading one) — as if the operation had failed there (action fail, the default), or
 * end the process there (exit: _exit(1); abort: abort()). Always compiled in, inert unless the
 * variable is set: the tests use it to prove that a failure on one rank ends every rank, with one
 * message and nothing lost. */
#ifndef DP_FAULT_H
#define DP_FAULT_H

typedef enum {
    DP_FAULT_OPEN,
    DP_FAULT_READ,
    DP_FAULT_WRITE,
    DP_FAULT_RENAME,
    DP_FAULT_CHECKPOINT,
    DP_FAULT_ALLOC,
    DP_FAULT_PLUGIN,
    DP_NFAULTS
} dp_fault_site_t;

/* Reads DPROC_FAULT for this rank; a malformed value is reported on stderr and ignored.
 * Local. */
void dp_fault_init(int rank);

/* Whether the operation at site must fail now on this rank (it may also end the process, as
 * the variable says). Local. */
int dp_fault_hit(dp_fault_site_t site);

/* The site's name, for messages. Local. */
const char *dp_fault_name(dp_fault_site_t site);

#endif
