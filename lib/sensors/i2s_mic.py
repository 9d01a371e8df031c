"""I2S MEMS microphone (INMP441-style) captured straight into an int16 Recording.

    mic = I2SMic(i2s, bits=32)               # i2s: machine.I2S(..., mode=I2S.RX, bits=32, ...)
    rec = ei_ingest.Recording(sensors=mic.axes, interval_ms=1000 / 16000, capacity=16000)
    mic.capture(rec)                          # blocks until the recording is full

Not timer-driven: the I2S peripheral's DMA paces the samples; Python only copies blocks.
bits=16: `readinto` writes straight into the recording's buffer (a memoryview, no copy).
bits=32 (INMP441 needs 64 clocks per frame): blocks land in a scratch buffer and the upper
16 bits of each slot (optionally shifted left by `gain_bits`) go into the recording.
Memory: import ~2.2 KiB; an instance ~1.2 KiB, mostly the 32-bit scratch block (4 * block
bytes); nothing per sample. With
bits=32, capturing again into the same recording allocates nothing at all (heap_lock-safe);
bits=16 makes one memoryview slice per block.
"""

from micropython import const

_BLOCK = const(256)


class I2SMic:
    typecode = "h"
    axes = (("audio", "wav"),)
    scale = (1.0,)

    def __init__(self, i2s, bits=32, block=_BLOCK, gain_bits=0):
        if bits not in (16, 32):
            raise ValueError("bits must be 16 or 32")
        if not 0 <= gain_bits <= 8:
            raise ValueError("gain_bits must be 0-8")
        self.i2s = i2s
        self.bits = bits
        self.gain_bits = gain_bits
        self._scratch = memoryview(bytearray(4 * block)) if bits == 32 else None
        self._rec = None
        self._dst = memoryview(bytearray(0))

    def capture(self, rec, samples=None):
        """Fill `samples` (default: all free) rows of a single-axis int16 recording."""
        if rec.axes != 1 or rec.typecode != "h":
            raise ValueError("I2SMic needs a 1-axis Recording with typecode 'h'")
        free = rec.capacity - len(rec)
        samples = free if samples is None else samples
        if not 0 <= samples <= free:
            raise ValueError("samples=%d but the recording has room for %d" % (samples, free))
        if self._rec is not rec:  # one memoryview per recording, not per call
            self._rec = rec
            self._dst = memoryview(rec.buffer)
        dst = self._dst
        pos = len(rec)
        end = pos + samples
        if self.bits == 16:
            while pos < end:
                # a memoryview of an int16 array slices in samples; readinto counts bytes
                pos += self.i2s.readinto(dst[pos:end]) // 2
        else:
            scratch = self._scratch
            assert scratch is not None
            block = len(scratch) // 4
            shift = 16 - self.gain_bits
            while pos < end:
                want = end - pos
                buf = scratch if want >= block else scratch[: 4 * want]
                got = self.i2s.readinto(buf) // 4
                _PACK(scratch, dst, pos, got, shift)
                pos += got
        rec.commit_rows(samples)
        return samples


def _pack(src, dst, pos, n, shift):
    """dst[pos + j] = (32-bit little-endian slot j of src) >> shift, for 8 <= shift <= 16,
    clipped to int16. Byte arithmetic keeps every intermediate a small int on 32-bit boards."""
    s24 = 24 - shift
    s16 = 16 - shift
    s8 = shift - 8
    for j in range(n):
        k = 4 * j
        hi = src[k + 3]
        if hi & 0x80:
            hi -= 256
        v = (hi << s24) + (src[k + 2] << s16) + (src[k + 1] >> s8)
        if v > 32767:
            v = 32767
        elif v < -32768:
            v = -32768
        dst[pos + j] = v


try:
    from sensors._i2s_viper import pack as _PACK
except Exception:  # CPython, or no native emitter in this firmware: the same in bytecode
    _PACK = _pack
