#include "fault.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const names[DP_NFAULTS] = {"open",   "read",       "write",
                                              "rename", "checkpoint", "alloc"};

enum { ACT_FAIL, ACT_EXIT, ACT_ABORT };

static struct {
    int armed;
    dp_fault_site_t site;
    long long nth, seen;
    int action;
} fault;

void dp_fault_init(int rank)
{
    const char *spec = getenv("DPROC_FAULT");
    if (!spec || !*spec)
        return;
    char site[32] = "", action[16] = "fail";
    long long at_rank = -1, nth = 1;
    const int got = sscanf(spec, "%31[a-z]:%lld:%lld:%15s", site, &at_rank, &nth, action);
    int s = 0;
    while (s < DP_NFAULTS && strcmp(names[s], site))
        s++;
    const int act = !strcmp(action, "fail")    ? ACT_FAIL
                    : !strcmp(action, "exit")  ? ACT_EXIT
                    : !strcmp(action, "abort") ? ACT_ABORT
                                               : -1;
    if (got < 2 || s == DP_NFAULTS || at_rank < 0 || nth < 1 || act < 0) {
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
