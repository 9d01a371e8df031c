"""Record audio from an I2S microphone (INMP441) and upload it to Edge Impulse.

The I2S peripheral paces the samples (DMA); Python copies blocks into one preallocated int16
recording: AUDIO_ROWS samples at AUDIO_RATE Hz (16000 x 1 s = 32 KB of RAM). Joins Wi-Fi,
sets the clock, uploads as LABEL / CATEGORY / AUDIO_FORMAT and prints the stored file name.
Audio has its own length, rate and format settings: ROWS / INTERVAL_MS (200 rows at 100 Hz)
describe motion, and FORMAT "binary" (raw int16 after a CBOR header) is the compact way to
send sound; "cbor" and "json" work too.
    import audio; audio.main()          (or make run EXAMPLE=audio, make sim EXAMPLE=audio)
"""

import board
import ei_ingest
import uplink
from sensors.i2s_mic import I2SMic

RATE = 16000  # Hz; 8000-16000 is what keyword models use
ROWS = 16000  # samples: 1 s at 16 kHz


def collect(rows=ROWS, rate=RATE, i2s=None, gain_bits=0):
    """Capture `rows` samples at `rate` Hz; returns the recording (one int16 axis, no scale)."""
    mic = I2SMic(i2s or board.i2s_mic(rate), bits=board.I2S_BITS, gain_bits=gain_bits)
    rec = ei_ingest.Recording(mic.axes, interval_ms=1000 / rate, capacity=rows)
    mic.i2s.readinto(bytearray(512))  # drop the first samples: the mic settles after power-up
    mic.capture(rec)
    return rec


def main(rows=None, label=None, category=None, fmt=None):
    iat = uplink.online()
    rate = uplink.setting("AUDIO_RATE", RATE)
    rec = collect(rows or uplink.setting("AUDIO_ROWS", ROWS), rate)
    name = uplink.upload(rec, label, category, fmt or uplink.setting("AUDIO_FORMAT", "binary"), iat)
    print("audio: %d samples at %d Hz uploaded as %s" % (len(rec), rate, name))
    return name


if __name__ == "__main__":
    main()
