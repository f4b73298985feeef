/* dproc-smpi's cost model of computation (docs/scaling.md). Under SimGrid's SMPI with
 * smpi/simulate-computation off, the simulated clock does not advance while a rank computes;
 * instead each compute span ends by charging the work the kernels counted (kernels/work.h) at
 * DPROC_SMPI_NS_PER_UNIT nanoseconds of a calibrating core per unit, a cost measured by a real
 * run of the same block on that core (bench/scaling.py). On hosts of speed 1Gf, one flop is one
 * such nanosecond. Without the variable nothing is charged: SMPI's own measurement of the
 * compute (simulate-computation on) is the model then. */
#ifndef DP_SIM_COST_H
#define DP_SIM_COST_H

/* Advances this simulated rank's clock by the cost of the work counted since the last charge.
 * Local. */
void dp_sim_charge(void);

#endif
