"""One ADC channel as a sampling source, for the ESP32 family and the RP2040/RP2350.

    AnalogIn(34, atten=ADC.ATTN_11DB)          # ESP32: calibrated microvolts via read_uv()
    AnalogIn(1, atten=ADC.ATTN_11DB, port="esp32s3")   # ESP32-S3 ADC1 is GPIO 1-10
    AnalogIn(26, port="rp2")                   # RP2040 GP26-28: read_u16, scale to volts
    AnalogIn(4, port="rp2")                    # RP2040 internal temperature, Cel

`port` is "esp32", "esp32s3", "esp32c3" or "rp2"; by default it is found from sys.platform and
os.uname() (board files pass it). ESP32s: ADC2 cannot be read while Wi-Fi is on, so with
wifi=True (default) only ADC1 is accepted (ESP32 GPIO 32-39, S3 GPIO 1-10, C3 GPIO 0-4).
Attenuation must be given: the default changed in MicroPython 1.26.
Values are ints (microvolts, 0-65535 counts, or hundredths of Cel); `scale` turns them into
V or Cel. Memory (64-bit unix port, from .mpy): import ~2.6 KiB, ~0.35 KiB per instance.
"""

import sys

# chip: (ADC1 GPIOs, ADC2 GPIOs), from each chip's datasheet (IO MUX and ADC tables)
_ESP32_ADC = {
    "esp32": ((32, 33, 34, 35, 36, 37, 38, 39), (0, 2, 4, 12, 13, 14, 15, 25, 26, 27)),
    "esp32s3": (tuple(range(1, 11)), tuple(range(11, 21))),
    "esp32c3": ((0, 1, 2, 3, 4), (5,)),
}
_RP2_PINS = (26, 27, 28)
_RP2_TEMP = 4
_VREF = 3.3


def _port():
    if sys.platform == "rp2":
        return "rp2"
    import os

    uname = getattr(os, "uname", None)  # the unix port (the sim board) has none
    machine = uname().machine.upper().replace("-", "") if uname else ""
    return "esp32s3" if "ESP32S3" in machine else "esp32c3" if "ESP32C3" in machine else "esp32"


class AnalogIn:
    def __init__(self, pin, atten=None, *, name="adc", units="V", wifi=True, port=None):
        from machine import ADC

        port = port or _port()
        if port != "rp2" and port not in _ESP32_ADC:
            raise ValueError("port must be esp32, esp32s3, esp32c3 or rp2, not %r" % (port,))
        self.temperature = False
        if port == "rp2":
            if pin == _RP2_TEMP:
                self.temperature = True
                self._adc = ADC(_RP2_TEMP)
            elif pin in _RP2_PINS:
                self._adc = ADC(pin)
            else:
                raise ValueError(
                    "RP2040 ADC: use GP26, GP27, GP28 or channel 4 (temperature), not %r "
                    "(GP29 is VSYS/3, shared with the Pico W's Wi-Fi chip)" % (pin,)
                )
            self._uv = None
        else:
            if atten is None:
                raise ValueError(
                    "ESP32 ADC: pass atten= explicitly (e.g. ADC.ATTN_11DB for 0-3.1 V); "
                    "the default changed in MicroPython 1.26"
                )
            adc1, adc2 = _ESP32_ADC[port]
            pins = "GPIO %d-%d" % (adc1[0], adc1[-1])
            if pin in adc2 and wifi:
                raise ValueError(
                    "%s GPIO %d is on ADC2, which cannot be read while Wi-Fi is on: use an "
                    "ADC1 pin (%s), or pass wifi=False if Wi-Fi stays off" % (port, pin, pins)
                )
            if pin not in adc1 and pin not in adc2:
                raise ValueError("%s GPIO %r has no ADC: use %s" % (port, pin, pins))
            from machine import Pin

            self._adc = ADC(Pin(pin), atten=atten)
            self._uv = getattr(self._adc, "read_uv", None)
        self.pin = pin
        if self.temperature:
            self.axes = ((name if name != "adc" else "temp", "Cel"),)
            self.scale = (0.01,)
            self.typecode = "i"  # a floating input reads 437 Cel: more than int16 holds
        elif self._uv is not None:
            self.axes = ((name, units),)
            self.scale = (1e-6,)
            self.typecode = "i"
        else:
            self.axes = ((name, units),)
            self.scale = (_VREF / 65535,)
            self.typecode = "i"
        self._u16 = self._adc.read_u16

    def read_into(self, out, i):
        if self._uv is not None:
            out[i] = self._uv()
        elif self.temperature:
            # 27 - (V - 0.706) / 0.001721 Cel, in hundredths, from integer microvolts:
            # uv = u16 * 3300000 // 65535 in two steps, since the product would pass 2**30
            # (a heap allocation on a 32-bit board)
            a = self._u16() * 3300
            q = a // 65535
            uv = q * 1000 + ((a - q * 65535) * 1000) // 65535
            out[i] = 2700 - ((uv - 706000) * 100) // 1721
        else:
            out[i] = self._u16()
