"""ESP32-S3-DevKitC-1 wiring for ei_ingest: copy to the board's root as board.py.

Pins and buses only; drivers and sampling live in lib/. Change the numbers here to match your
wiring. I2C on MicroPython's ESP32-S3 defaults (SCL 9, SDA 8); the I2S microphone on GPIO 4-6,
beside them on header J1. ADC on ADC1 (GPIO 1-10) because ADC2 is unusable while Wi-Fi is on.
The on-board RGB LED is a WS2812 (GPIO 38 on v1.1 boards, 48 on v1.0): drive it with
`neopixel`, there is no plain LED. .mpy files for this board: -march=xtensawin.
"""

from machine import ADC, I2C, I2S, Pin, unique_id

DEVICE_TYPE = "ESP32_S3"

I2C_ID = 0
I2C_SCL = 9
I2C_SDA = 8
I2C_FREQ = 400_000

ADC_PIN = 1  # ADC1 channel 0
ADC_ATTEN = ADC.ATTN_11DB  # about 0-3.1 V

LED_PIN = None  # see the docstring: the RGB LED needs neopixel
BOOT_BUTTON = 0  # the BOOT button: reads 0 while pressed

# INMP441: SCK, WS, SD; L/R to GND (left slot)
I2S_ID = 0
I2S_SCK = 4
I2S_WS = 5
I2S_SD = 6
I2S_BITS = 32


def i2c():
    return I2C(I2C_ID, scl=Pin(I2C_SCL), sda=Pin(I2C_SDA), freq=I2C_FREQ)


def led():
    """None: this board has no plain LED (its RGB LED is a WS2812)."""
    return None


def boot_button():
    """True while BOOT is held: main.py (make deploy MAIN=...) then leaves the REPL free.
    Press it after reset, during the countdown: held through reset it starts the ROM loader."""
    return Pin(BOOT_BUTTON, Pin.IN, Pin.PULL_UP).value() == 0


def analog(name="adc"):
    from sensors.analog import AnalogIn

    return AnalogIn(ADC_PIN, atten=ADC_ATTEN, name=name, port="esp32s3")


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
    """The Wi-Fi MAC address (machine.unique_id() is the base MAC on the ESP32 family)."""
    return ":".join("%02x" % b for b in unique_id())
