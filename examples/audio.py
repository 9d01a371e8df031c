"""Record audio from an I2S microphone (INMP441) and upload it as a binary int16 payload.

The I2S peripheral paces the samples (DMA); Python copies blocks into one preallocated
recording: 16 kHz x 1 s = 32 KB. Needs the same config.py as motion.py.
    import audio; audio.main()
"""

import board
import ei_ingest
from sensors.i2s_mic import I2SMic

RATE = 16000  # Hz; 8000-16000 is what keyword models use
SECONDS = 1


def collect(seconds=SECONDS, rate=RATE, i2s=None, gain_bits=0):
    """Capture `seconds` of audio; returns the recording (one int16 axis, no scale)."""
    mic = I2SMic(i2s or board.i2s_mic(rate), bits=board.I2S_BITS, gain_bits=gain_bits)
    rec = ei_ingest.Recording(mic.axes, interval_ms=1000 / rate, capacity=seconds * rate)
    mic.i2s.readinto(bytearray(512))  # drop the first samples: the mic settles after power-up
    mic.capture(rec)
    return rec


def upload(rec, label=None, fmt="binary"):
    import config  # type: ignore[import-not-found]

    client = ei_ingest.client_from_config(config, board)
    return client.upload(
        rec,
        label=label or config.LABEL,
        category=getattr(config, "CATEGORY", "training"),
        fmt=fmt,
    )


def main(seconds=SECONDS, label=None):
    rec = collect(seconds)
    print("audio: %d samples" % len(rec))
    return upload(rec, label)


if __name__ == "__main__":
    main()
