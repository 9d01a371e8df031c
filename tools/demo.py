"""`make demo`: the whole path on this machine, no board and no cloud account needed.

Starts the local ingestion server on a free loopback port, runs the motion example
(examples/motion.py) on the micropython interpreter with the simulated board (Wi-Fi, clock,
MPU6050 all simulated) to record and upload a few labelled samples to training and testing,
prints what the server stored, and stops the server. Exits non-zero if anything is missing or
not validly signed. `make sim EXAMPLE=<name>` (tools/sim.py, whose helpers this uses) does the
same for any one example.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
from local_server import LocalServer  # noqa: E402
from sim import board_env, micropython, print_stored, write_config  # noqa: E402

PLAN = [
    ("idle", "training", "cbor"),
    ("wave", "training", "cbor"),
    ("idle", "testing", "json"),
    ("wave", "testing", "json"),
]


def main() -> int:
    with (
        tempfile.TemporaryDirectory(prefix="ei-demo-") as tmp,
        LocalServer(Path(tmp) / "data") as server,
    ):
        print(f"local ingestion server on http://127.0.0.1:{server.port} (data in {tmp}/data)")
        # What a user writes into config.py on a board, pointed at the local server.
        cfg = Path(tmp) / "device"
        write_config(cfg, server, FORMAT="cbor", INTERVAL_MS=10, ROWS=100)
        env = dict(board_env(cfg), EI_SIM_WIFI="ok")
        for label, category, fmt in PLAN:
            code = (
                f"import motion; motion.main(label={label!r}, category={category!r}, fmt={fmt!r})"
            )
            proc = subprocess.run(
                [micropython(), "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                timeout=120,
            )  # fmt: skip
            sys.stdout.write(proc.stdout)
            if proc.returncode != 0:
                sys.stderr.write(proc.stderr)
                print(f"demo: the motion example failed for {label}/{category}", file=sys.stderr)
                return 1
        samples = server.samples()
    print()
    print_stored(samples)
    valid = [s for s in samples if s["signature"] == "valid"]
    if len(samples) != len(PLAN) or len(valid) != len(PLAN):
        print(f"demo: expected {len(PLAN)} validly signed samples", file=sys.stderr)
        return 1
    print(f"\n{len(valid)} recordings stored with valid signatures; the server has stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
