"""Shared pieces of the sensor drivers: the "not found" check and raw-value helpers.

Every driver in this package is a *source* for ei_sampler.sample(): it has `axes`
(tuple of (name, SenML unit)), `scale` (one float per axis), `typecode` and
`read_into(buffer, offset)`, which reads one burst into a buffer allocated at construction
and writes raw ints without allocating. Importing this module costs ~3 KiB of heap (64-bit
unix port, from .mpy).
"""

STANDARD_GRAVITY = 9.80665  # m/s2 per g


class SensorNotFound(OSError):
    """The device did not answer, or answered with the wrong id; the message says where."""


def bus_name(i2c):
    """'I2C(0) scl=18 sda=19' from the port's repr, e.g. 'I2C(0, scl=18, sda=19, freq=...)'."""
    r = repr(i2c)
    open_ = r.find("(")
    if open_ < 0:
        return r
    head = r[:open_]
    args = r[open_ + 1 : r.rfind(")")].split(",")
    bus_id = ""
    pins = []
    for a in args:
        a = a.strip()
        if "=" not in a:
            if a:
                bus_id = a
        elif a.startswith("scl=") or a.startswith("sda="):
            pins.append(a.replace("Pin(", "").replace(")", ""))
    name = "%s(%s)" % (head, bus_id)
    return " ".join([name] + pins)


def scan_text(i2c):
    try:
        found = i2c.scan()
    except OSError as e:
        return "scan failed (%s)" % e
    if not found:
        return "no devices found (check wiring, power and pull-ups)"
    return "devices found: " + ", ".join("0x%02x" % a for a in found)


def check_id(i2c, addr, name, reg, expected, scratch):
    """Read the id register into `scratch` (a 1-byte buffer) and raise SensorNotFound if the
    device is absent or answers a different id. `expected` is an int or a tuple of ints."""
    try:
        i2c.readfrom_mem_into(addr, reg, scratch)
    except OSError:
        raise SensorNotFound(
            "%s not found at 0x%02x on %s; %s" % (name, addr, bus_name(i2c), scan_text(i2c))
        )
    got = scratch[0]
    ok = got in expected if isinstance(expected, tuple) else got == expected
    if not ok:
        raise SensorNotFound(
            "%s: device at 0x%02x on %s has id 0x%02x in register 0x%02x, expected %s; "
            "wrong chip or wrong address? %s"
            % (
                name,
                addr,
                bus_name(i2c),
                got,
                reg,
                "/".join(
                    "0x%02x" % e for e in (expected if isinstance(expected, tuple) else (expected,))
                ),
                scan_text(i2c),
            )
        )
    return got


def soft_reset(i2c, addr, name, reg, value, busy_reg, busy_mask, scratch):
    """Write `value` to `reg` (the chip's soft reset: a warm start would otherwise leave it as
    the last program set it), then poll until `busy_reg & busy_mask` clears: at most 20 polls
    5 ms apart (the datasheets ask for under 100 ms); OSError if it never does."""
    from ei_time import sleep_ms

    scratch[0] = value
    i2c.writeto_mem(addr, reg, scratch)
    for _ in range(20):
        sleep_ms(5)
        i2c.readfrom_mem_into(addr, busy_reg, scratch)
        if not scratch[0] & busy_mask:
            return
    raise OSError("%s at 0x%02x on %s did not come out of its reset" % (name, addr, bus_name(i2c)))


def s16_be(b, i):
    v = (b[i] << 8) | b[i + 1]
    return v - 0x10000 if v & 0x8000 else v


def s16_le(b, i):
    v = b[i] | (b[i + 1] << 8)
    return v - 0x10000 if v & 0x8000 else v


def u16_le(b, i):
    return b[i] | (b[i + 1] << 8)


def rename(axes, names):
    """Replace the axis names (keep the units), e.g. to tell two accelerometers apart."""
    if names is None:
        return axes
    if len(names) != len(axes):
        raise ValueError("names: %d given for %d axes" % (len(names), len(axes)))
    return tuple((n, u) for n, (_, u) in zip(names, axes))
