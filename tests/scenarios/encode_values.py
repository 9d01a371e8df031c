"""Board-side scenario: scaled readings and float32 values through both formats; run by the
micropython interpreters (64-bit and 32-bit, viper kernels) and by CPython (the plain twins).

usage: encode_values.py KIND OUT
  scaled-h, scaled-H  every int16 (uint16) reading, one axis per scale in SCALES
  wide                 the same readings with scales that leave fixed decimals or float32
  f32                  float32 bit patterns (OUT.bits has them)
  twins                kernels against plain twins in this runtime: prints "same N"
Writes OUT.cbor and OUT.json (unsigned), prints "ok".
"""

import struct
import sys
from array import array

import ei_ingest

G = 9.80665
SCALES = (G / 16384, 1 / 131, 0.01, 3.3 / 65535, -0.5, 1 / 1024, 0.0039 * G, 1 / 16.4, 1.0)
WIDE = (1e-30, 7.1e-8, 1e30, 3e-6, 2.5, 1e6 + 0.5, 0.0, 1e-40,
        -5e-324, 1e-300, 536870911.0, 536870912.0)  # fmt: skip


def readings(typecode, scales):
    axes = [("s%d" % k, "u") for k in range(len(scales))]
    rec = ei_ingest.Recording(axes, 10, 65536, typecode, scales)
    buf = rec.buffer
    i = 0
    for r in range(65536):
        v = r - 32768 if typecode == "h" else r
        for _ in scales:
            buf[i] = v
            i += 1
    rec.commit_rows(65536)
    return rec


def patterns():
    """Float32 bit patterns: every exponent, with edge, random and short-decimal mantissas,
    and the values around each one-digit decimal in the viper kernel's range."""
    out = []
    seed = 12345
    for e8 in range(255):
        dense = 88 <= e8 <= 156  # the viper kernel's range and its borders
        count = 1200 if dense else 40
        for j in range(count):
            seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
            if j < 8:
                m = (0, 1, 2, 3, 0x7FFFFF, 0x7FFFFE, 0x400000, 0x400001)[j]
            elif j % 3 == 0:
                m = (seed >> 4) & 0x7FE000  # short mantissas: "nice" decimals nearby
            else:
                m = seed & 0x7FFFFF
            out.append(((j & 1) << 31) | (e8 << 23) | m)
    for k in range(-10, 8):  # the kernel's one-digit texts d * 10**k, two ulps either side
        for d in range(1, 10):
            near = struct.unpack("<I", struct.pack("<f", d * 10.0**k))[0]
            out.extend(range(near - 2, near + 3))
    # A shorter decimal less than one unit of the 9th digit below an end of the readback
    # interval, the end's bits below the point in limbs that cancel under XOR (found by a
    # search over every float32 in the kernel's range): the kernel must see them as not zero.
    out.extend((0x318C0420, 0x34333E16, 0x318C041F, 0x34333E15,
                0x2F01D8F6, 0x3D865532, 0x2F01D8F5, 0x3D865531))  # fmt: skip
    for raw in range(-2048, 2048):  # what sensors give: counts times a decimal step
        for step in (0.01, 0.001, 1 / 7):
            out.append(struct.unpack("<I", struct.pack("<f", raw * step))[0])
    return array("I", out)


def dump_both(rec, out):
    for fmt in ("cbor", "json"):
        # Straight into the file: a small heap is enough, and the collections that the plain
        # twin's values cause (a zero or tiny scale) stay short.
        with open(out + "." + fmt, "wb") as f:
            ei_ingest.dump(rec, f, fmt=fmt, device_type="SIM")


def float_recording(bits, axes=3):
    rows = len(bits) // axes
    rec = ei_ingest.Recording([("f%d" % k, "u") for k in range(axes)], 10, rows, "f")
    for i in range(rows * axes):
        struct.pack_into("<I", rec.buffer, 4 * i, bits[i])
    rec.commit_rows(rows)
    return rec


def twins():
    """Every kernel against its plain twin, with several axis counts and stage sizes."""
    import ei_f32cbor
    import ei_f32text
    import ei_fixed

    def files(rec):
        out = []
        for fmt in ("cbor", "json"):
            for fast in (True, False):
                ei_fixed.FAST = ei_f32cbor.FAST = ei_f32text.FAST = fast
                for stage in (64, 100, 256):
                    enc = ei_ingest.Encoder(stage)
                    out.append(b"".join(bytes(c) for c in enc.chunks(rec, fmt, b"")))
        ei_fixed.FAST = ei_f32cbor.FAST = ei_f32text.FAST = True
        return out

    bits = patterns()
    compared = 0
    for axes in (1, 2, 3, 7, 25):
        picked = array("I", [bits[(i * 7919) % len(bits)] for i in range(axes * 120)])
        recs = [float_recording(picked, axes)]
        for typecode in "hH":
            scales = [SCALES[k % len(SCALES)] for k in range(axes)]
            rec = ei_ingest.Recording([("s%d" % k, "u") for k in range(axes)], 10, 300, typecode)
            rec.scale = tuple(scales)
            seed = axes
            for i in range(300 * axes):
                seed = (seed * 1103515245 + 12345) & 0x7FFFFFFF
                v = (seed >> 8) & 0xFFFF
                rec.buffer[i] = v if typecode == "H" else v - 32768
            rec.commit_rows(300)
            recs.append(rec)
        for rec in recs:
            got = files(rec)
            for first in (0, 6):  # cbor, json: every run equals the first kernel run
                for k in range(first, first + 6):
                    if got[k] != got[first]:
                        print("DIFFERENT", axes, rec.typecode, k)
                        sys.exit(1)
                compared += 1
    print("same", compared)


def main(kind, out):
    if kind == "twins":
        twins()
        return
    if kind in ("scaled-h", "scaled-H"):
        dump_both(readings(kind[-1], SCALES), out)
    elif kind == "wide":
        for k, scale in enumerate(WIDE):
            dump_both(readings("h", (scale,)), "%s-%d" % (out, k))
    elif kind == "f32":
        bits = patterns()
        with open(out + ".bits", "wb") as f:
            f.write(bytes(bits))
        dump_both(float_recording(bits), out)
    print("ok")


main(sys.argv[1], sys.argv[2])
