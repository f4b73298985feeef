#!/usr/bin/python3
"""Writes the small sample inputs in data/ (run from anywhere; needs python3-numpy, -h5py).

sample.h5   /temperature  int32   120 x 90   a smooth field in hundredths of a degree
            /pressure     float32 30 x 20 x 10
            /series       float64 1000       with 3 NaN values (skipped by reduce)
            /ensemble     float32 6 x 12 x 18 x 24   members x months x lat x lon, 4-D
sample.raw  uint16 64 x 48 after a 16-byte header
"""
import os

import h5py
import numpy as np

here = os.path.dirname(os.path.abspath(__file__))
rng = np.random.default_rng(2026)

y, x = np.mgrid[0:120, 0:90]
temperature = (1500 + 800 * np.sin(x / 14.0) * np.cos(y / 19.0)).astype(np.int32)
pressure = rng.normal(1013.0, 5.0, size=(30, 20, 10)).astype(np.float32)
series = np.cumsum(rng.normal(0.0, 1.0, size=1000))
series[[10, 500, 999]] = np.nan
m, t, la, lo = np.meshgrid(np.arange(6), np.arange(12), np.arange(18), np.arange(24),
                           indexing="ij")
ensemble = (15 - 0.9 * np.abs(la - 9) + 8 * np.sin(2 * np.pi * t / 12) + 0.3 * m +
            rng.normal(0.0, 1.5, size=m.shape)).astype(np.float32)

with h5py.File(os.path.join(here, "sample.h5"), "w") as f:
    f["temperature"] = temperature
    f["pressure"] = pressure
    f["series"] = series
    f["ensemble"] = ensemble

raw = (np.arange(64 * 48) % 4096).astype(np.uint16).reshape(64, 48)
with open(os.path.join(here, "sample.raw"), "wb") as f:
    f.write(b"DPROCRAW v1\0\0\0\0\0")
    f.write(raw.tobytes())
