# ei_ingest device settings. Copy this file to config.py (git-ignored: it holds your keys),
# fill it in, and `make deploy BOARD=<board> PORT=<port>` copies it to the board as /config.py
# (`make sim` writes its own, for the simulated board). Nothing in the library prints these.

# --- Wi-Fi -------------------------------------------------------------------------------
# 2.4 GHz networks only (ESP32 and Pico W have no 5 GHz radio). The SSID is case-sensitive.
WIFI_SSID = "your-network"
WIFI_PASSWORD = "your-wifi-password"
WIFI_TIMEOUT_MS = 15000  # per attempt; ei_net.connect() retries WIFI_RETRIES more times
WIFI_RETRIES = 2
NTP_HOST = "pool.ntp.org"  # the clock sets `iat` and is needed to check TLS certificates

# --- Edge Impulse keys -------------------------------------------------------------------
# Edge Impulse Studio > your project > Dashboard > Keys:
# - API key: starts with "ei_"; lets the device add data to this project (x-api-key).
API_KEY = "ei_0000000000000000000000000000000000000000000000000000000000000000"
# - HMAC key: on the same page; signs each sample (HS256). None sends unsigned samples
#   (alg "none"), which the service accepts.
HMAC_KEY = "00000000000000000000000000000000"

# --- Where to upload ---------------------------------------------------------------------
# Edge Impulse: the defaults below (HTTPS, port 443, CA file from `make deploy`).
# Local server instead: run `make server SERVER_HOST=0.0.0.0` on your PC (port 4810). Off
# loopback it makes its own random keys, prints them once and keeps them in data/keys.json:
# copy them below. Set HOST to the PC's LAN address it prints (not "localhost": that is the
# board itself), PORT = 4810 and TLS = False (or SERVER_TLS=1, TLS = True and the CA file from
# `make ca LOCAL=1`).
HOST = "ingestion.edgeimpulse.com"
PORT = None  # None: 443 with TLS, 80 without
TLS = True  # plain HTTP also works with Edge Impulse and saves the ~20-35 KB TLS needs
# DER root certificates for TLS, built by tools/make_ca_bundle.py and copied by `make deploy`.
CA = "/ca.der"
TIMEOUT = 10  # seconds without an answer before an upload counts as failed (and is retried)

# --- The samples (every example) ---------------------------------------------------------
DEVICE_NAME = None  # None: the board's Wi-Fi MAC address ("aa:bb:cc:dd:ee:ff")
LABEL = "idle"  # the class this recording shows; also the start of the stored file name
CATEGORY = "training"  # "training", "testing" or "anomaly" ("split": the project decides)
# motion.py, analog.py, collect.py:
FORMAT = "cbor"  # "cbor" (smaller) or "json"
INTERVAL_MS = 10  # time between rows: 10 ms = 100 Hz
ROWS = 200  # rows per sample: ROWS * INTERVAL_MS = 2 s
# audio.py (an I2S microphone keeps its own rate; 2 bytes of RAM per sample):
AUDIO_RATE = 16000  # Hz (8000-16000 suits keyword models)
AUDIO_ROWS = 16000  # samples per recording: 1 s at 16 kHz, 32 KB
AUDIO_FORMAT = "binary"  # raw int16 after a CBOR header (the smallest); "cbor" or "json" too

# --- Remote management (examples/remote.py): Studio starts the sampling ---------------------
# None: from HOST and TLS. Edge Impulse: wss://remote-mgmt.edgeimpulse.com with TLS, or
# ws://remote-mgmt.edgeimpulse.com without (what Edge Impulse writes into its own Wi-Fi
# firmware; the API key then crosses the network in clear). Local server: ws://<HOST>:4802
# (wss:// when it serves TLS). Or give a URL, e.g. "ws://192.168.1.20:4802".
REMOTE_URL = None
REMOTE_ROWS = 1000  # the longest sample the board keeps: 10 s at 100 Hz, 6 KB for 3 axes

# --- Store and forward (examples/collect.py, and examples/remote.py when set) -------------
SPOOL_DIR = "spool"  # signed recordings wait here on flash until they are delivered
SPOOL_BYTES = 262144  # at most this much pending; put() raises SpoolFull beyond it
UPLOAD_ATTEMPTS = 4  # tries per file for retryable failures (network, 5xx), with backoff
UPLOAD_TOTAL_MS = 60000  # and no new try after this long
FLUSH_MS = 20000  # each cycle uploads for at most this long, then sampling goes on
