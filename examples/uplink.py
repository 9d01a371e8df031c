"""What the upload examples share: config.py's settings, Wi-Fi and the clock, the upload.

motion.py, analog.py and audio.py each take one recording and hand it here:

    import uplink
    iat = uplink.online()                       # WIFI_SSID, WIFI_PASSWORD, NTP_HOST
    name = uplink.upload(rec, iat=iat)          # LABEL, CATEGORY, FORMAT, HOST, PORT, TLS,
                                                # CA, TIMEOUT, API_KEY, HMAC_KEY, DEVICE_NAME
    rows = uplink.setting("ROWS", 200)          # config.py's value, or the default

It is not an example itself (it has no main()). `make deploy` copies it to the board beside
the examples, so `make run EXAMPLE=motion` (which sends only motion.py) finds it there.
Memory: a few hundred bytes of code; config.py is imported once and stays loaded.
"""

import board


def setting(name, default=None):
    """config.py's NAME, or `default` when config.py leaves it out (or sets it to None)."""
    import config  # type: ignore[import-not-found]

    value = getattr(config, name, None)
    return default if value is None else value


def online():
    """Join Wi-Fi and set the clock; returns Unix seconds for `iat`, or None (clock unset).

    A board cannot upload before its station interface is up; ei_net.connect() raises
    WifiError naming the cause (wrong password, no access point, timeout).
    """
    import ei_net

    ei_net.connect(
        setting("WIFI_SSID"),
        setting("WIFI_PASSWORD"),
        setting("WIFI_TIMEOUT_MS", 15000),
        setting("WIFI_RETRIES", 2),
    )
    return ei_net.sync_time(host=setting("NTP_HOST"))


def upload(rec, label=None, category=None, fmt=None, iat=None):
    """Send `rec` as config.py says (arguments win over LABEL, CATEGORY, FORMAT); returns the
    name the server stored it under."""
    import config  # type: ignore[import-not-found]
    import ei_ingest

    client = ei_ingest.client_from_config(config, board)
    return client.upload(
        rec,
        label=label or setting("LABEL"),
        category=category or setting("CATEGORY", "training"),
        fmt=fmt or setting("FORMAT", "cbor"),
        iat=iat,
    )
