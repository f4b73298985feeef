#include "sim_cost.h"

#include "work.h"

#include <mpi.h>
#include <stdint.h>
#include <stdlib.h>

void dp_sim_charge(void)
{
    static double ns_per_unit = -1; /* private to each simulated rank: SMPI privatizes globals */
    static int64_t charged;
    if (ns_per_unit < 0) {
        const char *e = getenv("DPROC_SMPI_NS_PER_UNIT");
        ns_per_unit = e ? strtod(e, NULL) : 0;
        ns_per_unit = ns_per_unit > 0 ? ns_per_unit : 0;
    }
    const int64_t done = dp_work_done();
    if (ns_per_unit > 0 && done > charged)
        smpi_execute_flops((double)(done - charged) * ns_per_unit);
    charged = done;
}
