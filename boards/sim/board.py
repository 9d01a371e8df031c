"""The simulated board (boards/sim/machine.py on the unix port or CPython): same shape as
boards/esp32/board.py, whose pin numbers it uses. The bench (which sensors answer where) is
set up in boards/sim/sim.py.
"""

from machine import ADC, I2C, I2S, Pin, unique_id

DEVICE_TYPE = "SIM"

I2C_ID = 0
I2C_SCL = 18
I2C_SDA = 19
I2C_FREQ = 400_000

ADC_PIN = 34
ADC_ATTEN = ADC.ATTN_11DB

LED_PIN = 2
BOOT_BUTTON = 0  # held down with EI_SIM_HOLD=0 or sim.hold(0)

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
    return ":".join("%02x" % b for b in unique_id())
