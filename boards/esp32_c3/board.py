"""ESP32-C3-DevKitM-1 wiring for ei_ingest: copy to the board's root as board.py.

Pins and buses only; drivers and sampling live in lib/. Change the numbers here to match your
wiring. I2C on MicroPython's ESP32-C3 defaults (SCL 9, SDA 8). On this board GPIO 9 is also
the BOOT button and GPIO 8 drives the RGB LED (a WS2812): the I2C pull-ups keep both high, as
these strapping pins need at reset, and main.py reads BOOT before the bus starts. ADC on ADC1
(GPIO 0-4; GPIO 5 is ADC2, unusable with Wi-Fi). The C3 has one I2S peripheral, here on
GPIO 4-6. The CPU is RISC-V: .mpy files for this board are -march=rv32imc (MicroPython 1.24 or
newer loads their native code).
"""

from machine import ADC, I2C, I2S, Pin, unique_id

DEVICE_TYPE = "ESP32_C3"

I2C_ID = 0
I2C_SCL = 9
I2C_SDA = 8
I2C_FREQ = 400_000

ADC_PIN = 3  # ADC1 channel 3
ADC_ATTEN = ADC.ATTN_11DB  # about 0-2.5 V on the C3

LED_PIN = None  # the RGB LED on GPIO 8 needs neopixel, and shares the pin with I2C SDA
BOOT_BUTTON = 9  # the BOOT button: reads 0 while pressed

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

    return AnalogIn(ADC_PIN, atten=ADC_ATTEN, name=name, port="esp32c3")


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
