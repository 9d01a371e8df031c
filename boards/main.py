"""main.py, installed by `make deploy MAIN=<example>`: run that example at every boot.

MicroPython runs /main.py after each reset. This one first counts down DELAY_MS on the serial
console, so the REPL stays reachable: press Ctrl-C (mpremote, Thonny, any terminal), or hold the
board's BOOT button (BOOTSEL on a Pico; board.boot_button()), and the example is skipped.
Otherwise it imports the example and calls its main(). If that fails, the error is printed
with its traceback and written to /main.log, and the board stays at the REPL: no reset, so no
crash loop that would hide the message and keep the port busy. `make deploy MAIN=none` removes
this file.

The Ctrl-C messages are printed without allocating: Ctrl-C can land while the heap is full or,
on the unix port, inside a garbage collection, which leaves the heap locked.

tools/deploy.py copies this file with the EXAMPLE line set; the rest is the same on every board.
"""

import sys
import time

EXAMPLE = "motion"  # set by tools/deploy.py
DELAY_MS = 3000
LOG = "main.log"
_STEP_MS = 100


def _skip_requested(board, example, delay_ms):
    """Count down `delay_ms`; why the example is skipped (a line's end), or None to run it."""
    waited = 0
    try:
        print("main.py: %s.main() in %d ms; Ctrl-C or hold BOOT for the REPL" % (example, delay_ms))
        while waited < delay_ms:
            if board.boot_button():
                return "skipped (the BOOT button is held); the REPL is yours"
            time.sleep_ms(_STEP_MS)
            waited += _STEP_MS
    except KeyboardInterrupt:
        return "skipped (Ctrl-C); the REPL is yours"
    return None


def _log_error(example, e):
    try:
        with open(LOG, "w") as f:
            f.write("%s.main() failed:\n" % example)
            sys.print_exception(e, f)
    except OSError:
        pass  # a full or read-only file system must not hide the error printed above


def run(example=EXAMPLE, delay_ms=DELAY_MS):
    try:
        import board  # first: a missing board.py is an error like any other, printed below

        why = _skip_requested(board, example, delay_ms)
        if why:
            print("main.py:", example, why)
            return
        __import__(example).main()
    except KeyboardInterrupt:
        print("main.py:", example, "stopped by Ctrl-C")
    except Exception as e:
        print("main.py: %s.main() failed:" % example)
        sys.print_exception(e)
        _log_error(example, e)
        print("main.py: the REPL is yours (the error is in /%s); reset to try again" % LOG)


run()
