/* Small HDF5 helpers shared by the HDF5 source and the output file. */
#ifndef DP_HDF5_UTIL_H
#define DP_HDF5_UTIL_H

#include "err.h"
#include "job.h"

#include <hdf5.h>

/* The outermost (API-level) message of HDF5's current error stack, e.g. "unable to open file",
 * or "no detail". Local. */
const char *dp_h5_error(void);

/* HDF5's current error stack as "outermost: innermost" (the API call that failed and the
 * deepest cause, e.g. "can't read data: inflate() failed"), one of them when they are the same,
 * or "no detail". Local. */
const char *dp_h5_error_cause(void);

/* Maps an HDF5 file type to a dproc dtype; DP_ERR_DATA for types dproc cannot read, with a
 * message saying what the type is (e.g. "element type is a variable-length string; ..."). Local. */
dp_status_t dp_h5_dtype(hid_t type, dp_dtype_t *out);

/* The native HDF5 memory type of a dtype. Local. */
hid_t dp_h5_native(dp_dtype_t t);

#endif
