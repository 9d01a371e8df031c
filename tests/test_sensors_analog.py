"""AnalogIn: ESP32 pin rules and microvolts, RP2040 pins and the temperature formula."""

from __future__ import annotations

from array import array

import machine
import pytest
import sim
from hypothesis import given
from hypothesis import strategies as st
from sensors.analog import AnalogIn
from smallint import Small  # an int that must stay < 2**30


@pytest.fixture(autouse=True)
def clock():
    sim.freeze(0)
    yield
    sim.thaw()


def read(src):
    out = array(src.typecode, [0])
    src.read_into(out, 0)
    return out[0], out[0] * src.scale[0]


def test_esp32_needs_explicit_attenuation():
    with pytest.raises(ValueError, match="atten= explicitly"):
        AnalogIn(34)


@pytest.mark.parametrize("pin", [0, 2, 4, 12, 13, 14, 15, 25, 26, 27])
def test_esp32_adc2_refused_while_wifi_is_on(pin):
    with pytest.raises(ValueError, match=f"GPIO {pin} is on ADC2.*GPIO 32-39"):
        AnalogIn(pin, atten=machine.ADC.ATTN_11DB)
    AnalogIn(pin, atten=machine.ADC.ATTN_11DB, wifi=False)  # allowed with Wi-Fi off


def test_esp32_pin_without_adc():
    with pytest.raises(ValueError, match="GPIO 5 has no ADC"):
        AnalogIn(5, atten=machine.ADC.ATTN_11DB, wifi=False)


@pytest.mark.parametrize(
    "port,adc1,adc2,none",
    [("esp32s3", range(1, 11), range(11, 21), (0, 21, 33)), ("esp32c3", range(0, 5), (5,), (6, 9))],
)
def test_s3_and_c3_adc_pins(port, adc1, adc2, none):
    first, last = adc1[0], adc1[-1]
    for pin in adc1:
        assert AnalogIn(pin, atten=machine.ADC.ATTN_11DB, port=port).pin == pin
    for pin in adc2:
        with pytest.raises(ValueError, match=f"{port} GPIO {pin} is on ADC2.*GPIO {first}-{last}"):
            AnalogIn(pin, atten=machine.ADC.ATTN_11DB, port=port)
    for pin in none:
        with pytest.raises(ValueError, match=f"GPIO {pin} has no ADC: use GPIO {first}-{last}"):
            AnalogIn(pin, atten=machine.ADC.ATTN_11DB, port=port, wifi=False)
    with pytest.raises(ValueError, match="port must be"):
        AnalogIn(1, atten=machine.ADC.ATTN_11DB, port="esp8266")


@pytest.mark.parametrize("pin", range(32, 40))
def test_esp32_adc1_microvolts(pin):
    a = AnalogIn(pin, atten=machine.ADC.ATTN_11DB, name="v")
    assert a.axes == (("v", "V"),)
    assert a.typecode == "i"
    raw, volts = read(a)
    assert raw == sim.adc_uv(pin, 0)  # read_uv(): calibrated microvolts, no conversion
    assert volts == pytest.approx(raw / 1e6)


def test_esp32_attenuation_is_passed_to_the_adc():
    a = AnalogIn(32, atten=machine.ADC.ATTN_0DB)
    assert a._adc._atten == machine.ADC.ATTN_0DB
    raw, _ = read(a)
    assert raw == 950_000  # 1.65 V clips at the 0 dB range's top


def test_esp32_port_without_read_uv_falls_back_to_u16():
    class OldADC(machine.ADC):
        read_uv = None

    a = AnalogIn(34, atten=3)
    a._adc = OldADC(34)
    a._uv = None
    a._u16 = lambda: 65535
    raw, volts = read(a)
    assert raw == 65535


@pytest.mark.parametrize("pin", [26, 27, 28])
def test_rp2_adc_pins(pin):
    a = AnalogIn(pin, port="rp2")
    a._u16 = lambda: 32768
    raw, volts = read(a)
    assert raw == 32768
    assert volts == pytest.approx(32768 * 3.3 / 65535)


@pytest.mark.parametrize("pin", [0, 25, 29, 3])
def test_rp2_other_pins_refused(pin):
    with pytest.raises(ValueError, match="GP26, GP27, GP28 or channel 4"):
        AnalogIn(pin, port="rp2")


@pytest.mark.parametrize("u16", [14022, 13000, 15000, 0, 65535])
def test_rp2_temperature_formula(u16):
    a = AnalogIn(4, port="rp2")
    assert a.axes == (("temp", "Cel"),)
    a._u16 = lambda: u16
    _, cel = read(a)
    volts = u16 * 3.3 / 65535
    assert cel == pytest.approx(27 - (volts - 0.706) / 0.001721, abs=0.011)


def test_rp2_temperature_from_sim_sensor():
    a = AnalogIn(4, port="rp2")
    _, cel = read(a)
    assert cel == pytest.approx(sim.die_temp_centi(0) / 100, abs=0.1)  # 25 Cel at t=0


@given(u16=st.integers(0, 65535))
def test_rp2_temperature_exact_and_in_small_ints(u16):
    a = AnalogIn(4, port="rp2")
    a._u16 = lambda: Small(u16)
    out = array("i", [0])
    a.read_into(out, 0)  # Small fails on any intermediate >= 2**30 (an allocation on a board)
    uv = u16 * 3300000 // 65535
    assert out[0] == 2700 - ((uv - 706000) * 100) // 1721
