/* OpenMP's run-time calls for dproc-smpi, which is compiled without OpenMP (cmake/smpi.cmake):
 * a simulated rank is one thread of the simulator, so every parallel region runs as one team of
 * one thread, and the report says so whatever [run] threads asks for. */
#include <omp.h>

int omp_get_max_threads(void)
{
    return 1;
}

int omp_get_num_threads(void)
{
    return 1;
}

int omp_get_thread_num(void)
{
    return 0;
}

int omp_in_parallel(void)
{
    return 0;
}

void omp_set_num_threads(int n)
{
    (void)n;
}
