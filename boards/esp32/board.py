"""ESP32 DevKitC wiring for ei_ingest: copy to the board's root as board.py.

Pins and buses only; drivers and sampling live in lib/. Change the numbers here to match
your wiring. ADC on ADC1 (GPIO 32-39) because ADC2 is unusable while Wi-Fi is on.
"""

from machine import ADC, I2C, I2S, Pin, unique_id

DEVICE_TYPE = "ESP32"

I2C_ID = 0
I2C_SCL = 18
I2C_SDA = 19
I2C_FREQ = 400_000

ADC_PIN = 34  # ADC1 channel 6, input only
ADC_ATTEN = ADC.ATTN_11DB  # about 0.15-3.1 V

LED_PIN = 2
BOOT_BUTTON = 0  # the DevKitC's BOOT button: reads 0 while pressed

# INMP441: SCK, WS, SD; L/R to GND (left slot)
I2S_ID = 0
I2S_SCK = 14
I2S_WS = 15
I2S_SD = 13
I2S_BITS = 32


def i2c():
    return I2C(I2C_ID, scl=Pin(I2C_SCL), sda=Pin(I2C_SDA), freq=I2C_FREQ)


def led():
    return Pin(LED_PIN, Pin.OUT, value=0)


def boot_button():
    """True while BOOT is held: main.py (make deploy MAIN=...) then leaves the REPL free.
    Press it after reset, during the countdown: held through reset it starts the ROM loader."""
    return Pin(BOOT_BUTTON, Pin.IN, Pin.PULL_UP).value() == 0


def analog(name="adc"):
    from sensors.analog import AnalogIn

    return AnalogIn(ADC_PIN, atten=ADC_ATTEN, name=name)


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
    """The Wi-Fi MAC address (machine.unique_id() is the base MAC on the ESP32)."""
    return ":".join("%02x" % b for b in unique_id())
