#include "work.h"

#include <stdatomic.h>

static _Atomic int64_t work_units;

void dp_work_add(int64_t units)
{
    atomic_fetch_add_explicit(&work_units, units, memory_order_relaxed);
}

int64_t dp_work_done(void)
{
    return atomic_load_explicit(&work_units, memory_order_relaxed);
}
