"""Raspberry Pi Pico 2 W wiring for ei_ingest: copy to the board's root as board.py.

The same pinout as the Pico W, with an RP2350 (its Arm cores; MicroPython's standard Pico 2 W
firmware) instead of the RP2040. Pins and buses only; drivers and sampling live in lib/.
ADC: GP26-28 (ADC0-2) or channel 4, the internal temperature sensor (RP2350A); GP29 belongs to
the Wi-Fi chip. I2S: ws must be sck + 1. .mpy files for this board: -march=armv7emsp
(Cortex-M33 with single-precision floats).
"""

from machine import I2C, I2S, Pin, unique_id

DEVICE_TYPE = "PICO2_W"

I2C_ID = 0
I2C_SDA = 4
I2C_SCL = 5
I2C_FREQ = 400_000

ADC_PIN = 26  # ADC0
ADC_ATTEN = None  # the RP2350 ADC has no attenuator
TEMP_CHANNEL = 4

LED_PIN = "LED"  # on the Wi-Fi chip

I2S_ID = 0
I2S_SCK = 16
I2S_WS = 17
I2S_SD = 18
I2S_BITS = 32


def i2c():
    return I2C(I2C_ID, scl=Pin(I2C_SCL), sda=Pin(I2C_SDA), freq=I2C_FREQ)


def led():
    return Pin(LED_PIN, Pin.OUT, value=0)


def boot_button():
    """True while BOOTSEL is held: main.py (make deploy MAIN=...) then leaves the REPL free.
    Press it after reset, during the countdown: held through reset it starts the USB loader."""
    import rp2

    return rp2.bootsel_button() == 1


def analog(name="adc"):
    from sensors.analog import AnalogIn

    return AnalogIn(ADC_PIN, name=name)


def i2s_mic(rate=16000, ibuf=20000):
    return I2S(
        I2S_ID,
        sck=Pin(I2S_SCK),
        ws=Pin(I2S_WS),
        sd=Pin(I2S_SD),
        mode=I2S.RX,
        bits=I2S_BITS,
        format=I2S.MONO,
        rate=rate,
        ibuf=ibuf,
    )


def device_name():
    """The Wi-Fi MAC address; unique_id() (the flash chip id) if the radio cannot tell."""
    try:
        import network

        mac = network.WLAN(network.STA_IF).config("mac")
    except (ImportError, OSError, ValueError):
        mac = unique_id()
    return ":".join("%02x" % b for b in mac)
