#include "kernel.h"

#include <math.h>

double dp_field_max_change(const dp_field_t *a, const dp_field_t *b)
{
    double m = 0;
    int nan = 0;
#pragma omp parallel for collapse(2) reduction(max : m) reduction(| : nan) schedule(static)
    for (int64_t i = 0; i < a->count[0]; i++)
        for (int64_t j = 0; j < a->count[1]; j++) {
            const double *x = dp_field_at(a, i, j, 0), *y = dp_field_at(b, i, j, 0);
            for (int64_t k = 0; k < a->count[2]; k++) {
                const double c = fabs(x[k] - y[k]);
                m = c > m ? c : m;
                nan |= c != c;
            }
        }
    return nan ? NAN : m;
}
