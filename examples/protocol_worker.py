"""A command that speaks poolbars' line protocol (see `Pool.run_commands`).

    python examples/protocol_worker.py --steps 40 [--fail] [--delay 0.02]

It reports TOTAL, then PROGRESS as it goes, a STATUS and MESSAGEs; ordinary log lines go
to the log tail (shown if it fails); with --fail it exits with code 3 halfway."""

import argparse
import sys
import time

parser = argparse.ArgumentParser()
parser.add_argument("--steps", type=int, default=40)
parser.add_argument("--delay", type=float, default=0.02)
parser.add_argument("--fail", action="store_true")
parser.add_argument("--name", default="job")
args = parser.parse_args()

print(f"TOTAL: {args.steps}", flush=True)
print("STATUS: RUNNING", flush=True)
print(f"MESSAGE: {args.name}: warming up", flush=True)
for step in range(1, args.steps + 1):
    time.sleep(args.delay)
    print(f"PROGRESS: {step}", flush=True)
    if step % 10 == 0:
        print(f"log: {args.name} wrote batch {step // 10}", flush=True)
    if args.fail and step == args.steps // 2:
        print("PROGRESS: about half", flush=True)  # malformed: counted, never fatal
        print(f"error: {args.name} lost its connection at step {step}", flush=True)
        sys.exit(3)
print(f"MESSAGE: {args.name}: finished", flush=True)
print("STATUS: SUCCESS", flush=True)
