"""dproc's digest (dproc_digest, dproc verify), implemented from its definition in docs/usage.md
for the integration tests: an independent reference, not dproc's code."""

import warnings

import numpy as np

np.seterr(over="ignore")  # the hash's arithmetic wraps modulo 2^64 on purpose
warnings.filterwarnings("ignore", "overflow encountered", RuntimeWarning)  # numpy scalars too
M64 = (1 << 64) - 1
SEED = (0x243F6A8885A308D3, 0x13198A2E03707344)
GOLDEN = 0x9E3779B97F4A7C15


def fmix(x):
    """splitmix64's finalizer on a numpy uint64 array (wrapping arithmetic)."""
    x = x ^ (x >> np.uint64(30))
    x = x * np.uint64(0xBF58476D1CE4E5B9)
    x = x ^ (x >> np.uint64(27))
    x = x * np.uint64(0x94D049BB133111EB)
    return x ^ (x >> np.uint64(31))


def fold_words(words, length):
    """The element bytes folded: for elements of at most 8 bytes, one word."""
    return fmix(np.uint64(length) ^ words) + np.uint64(GOLDEN)


def digest_array(a):
    """Digest of a numeric array: element i (row-major) with its little-endian bytes."""
    flat = np.ascontiguousarray(a).reshape(-1)
    size = flat.dtype.itemsize
    raw = flat.astype(flat.dtype.newbyteorder("<")).view(np.uint8).reshape(-1, size)
    padded = np.zeros((raw.shape[0], 8), dtype=np.uint8)
    padded[:, :size] = raw
    words = padded.view("<u8").reshape(-1)
    with np.errstate(over="ignore"):
        b = fold_words(words, size)
        idx = np.arange(flat.size, dtype=np.uint64)
        lanes = [int(np.sum(fmix(fmix(idx + np.uint64(s)) ^ b), dtype=np.uint64)) & M64
                 for s in SEED]
    return "dpx128:%016x%016x" % tuple(lanes)


def fold_bytes(data):
    hval = len(data)
    for i in range(0, len(data), 8):
        w = int.from_bytes(data[i:i + 8], "little")
        hval = (int(fmix(np.uint64(hval ^ w))) + GOLDEN) & M64
    return hval


def digest_records(records):
    """Digest of a table: record i's bytes are each string's bytes and a NUL, then each
    number's 8 little-endian bytes."""
    lanes = [0, 0]
    for i, rec in enumerate(records):
        b = fold_bytes(rec)
        for k, s in enumerate(SEED):
            lanes[k] = (lanes[k] + int(fmix(fmix(np.uint64((i + s) & M64)) ^ np.uint64(b)))) & M64
    return "dpx128:%016x%016x" % tuple(lanes)
