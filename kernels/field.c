#include "kernel.h"

#include <math.h>

double dp_field_max_change(const dp_field_t *a, const dp_field_t *b)
{
    double m = 0;
    int nan = 0;
    const int64_t rows = dp_field_rows(a), len = a->count[a->global.ndim - 1];
#pragma omp parallel for reduction(max : m) reduction(| : nan) schedule(static)
    for (int64_t r = 0; r < rows; r++) {
        const double *x = dp_field_row(a, r), *y = dp_field_row(b, r);
        for (int64_t k = 0; k < len; k++) {
            const double c = fabs(x[k] - y[k]);
            m = c > m ? c : m;
            nan |= c != c;
        }
    }
    return nan ? NAN : m;
}
