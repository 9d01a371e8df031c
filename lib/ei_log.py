"""The library's one diagnostics hook: progress and retries, never a key.

    import ei_log
    ei_log.set_log(None)                  # silence
    ei_log.set_log(lambda m: print(m))    # route (the default prints "ei_ingest: ...")

(ei_ingest.set_log and ei_errors.set_log are the same function.) Memory: a few hundred bytes.
"""


def _print_log(message):
    print("ei_ingest:", message)


_log = [_print_log]


def set_log(fn):
    """Route the library's few diagnostics to `fn(message)`; None silences them."""
    _log[0] = fn


def log(message):
    fn = _log[0]
    if fn is not None:
        fn(message)
