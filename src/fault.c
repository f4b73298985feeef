#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names[DP_NFAULTS] = {"open",       "read",  "write", "rename",
                                              "checkpoint", "alloc", "plugin"};

enum { ACT_FAIL, ACT_EXIT, ACT_ABORT };

static struct {
    int armed;
    dp_fault_site_t site;
    long long nth, seen;
    int action;
} fault;

/* The next ':'-separated field at *p as a whole number >= lo (digits only), or -1. */
static long long number(const char **p, long long lo)
{
    if (**p < '0' || **p > '9')
        return -1;
    char *end;
    const long long v = strtoll(*p, &end, 10);
    if ((*end && *end != ':') || v < lo)
        return -1;
    *p = *end ? end + 1 : end;
    return v;
}

void dp_fault_init(int rank)
{
    const char *spec = getenv("DPROC_FAULT");
    if (!spec || !*spec)
        return;
    const char *p = spec, *colon = strchr(p, ':');
    int s = 0;
    while (colon && s < DP_NFAULTS &&
           !(strlen(names[s]) == (size_t)(colon - p) && !strncmp(names[s], p, (size_t)(colon - p))))
        s++;
    long long at_rank = -1, nth = 1;
    int act = ACT_FAIL;
    if (colon && s < DP_NFAULTS) {
        p = colon + 1;
        at_rank = number(&p, 0);
        if (at_rank >= 0 && *p)
            nth = number(&p, 1);
        if (at_rank >= 0 && nth >= 1 && *p)
            act = !strcmp(p, "fail")    ? ACT_FAIL
                  : !strcmp(p, "exit")  ? ACT_EXIT
                  : !strcmp(p, "abort") ? ACT_ABORT
                                        : -1;
    }
    if (!colon || s == DP_NFAULTS || at_rank < 0 || nth < 1 || act < 0) {
        if (rank == 0)
            fprintf(stderr,
                    "dproc: warning: DPROC_FAULT='%.64s' ignored: expected site:rank[:n[:action]] "
                    "with site open|read|write|rename|checkpoint|alloc and action "
                    "fail|exit|abort\n",
                    spec);
        return;
    }
    if (at_rank != rank)
        return;
    fault.armed = 1;
    fault.site = (dp_fault_site_t)s;
    fault.nth = nth;
    fault.action = act;
}

int dp_fault_hit(dp_fault_site_t site)
{
    if (!fault.armed || site != fault.site || ++fault.seen != fault.nth)
        return 0;
    if (fault.action == ACT_EXIT)
        _exit(1);
    if (fault.action == ACT_ABORT)
        abort();
    return 1;
}

const char *dp_fault_name(dp_fault_site_t site)
{
    return names[site];
}
