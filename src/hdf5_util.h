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

/* How the values of an HDF5 file type are read into a dproc dtype. */
typedef struct {
    hid_t memtype;         /* the memory type to read with (the caller closes it) */
    int converts;          /* HDF5 converts the values (the bytes in memory are not the file's) */
    const char *file_type; /* the file's type when its name is not the dtype's, else NULL */
    size_t file_esize;     /* bytes per value in the file */
} dp_h5_read_t;

/* Maps an HDF5 file type to the dproc dtype its values are read as, and says how to read them:
 * integers of 1 to 8 bytes and floats of 4 or 8 bytes as they are, IEEE half floats (float16)
 * as float32, converted by HDF5, and h5py's bool (an enum FALSE = 0, TRUE = 1 over 1-byte
 * integers) as uint8, its bytes as they are. DP_ERR_DATA for types dproc cannot read, with a
 * message saying what the type is (e.g. "element type is a variable-length string; ..."). Local. */
dp_status_t dp_h5_dtype(hid_t type, dp_dtype_t *out, dp_h5_read_t *how);

/* The native HDF5 memory type of a dtype. Local. */
hid_t dp_h5_native(dp_dtype_t t);

#endif
