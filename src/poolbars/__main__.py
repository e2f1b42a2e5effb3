"""The command line: `python -m poolbars demo`."""

from __future__ import annotations

import argparse
import sys


def run(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m poolbars",
                                     description="poolbars: a parallel map with a live panel.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="a few seconds of a realistic run, in this terminal")
    demo.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    demo.add_argument("--display", choices=["auto", "terminal", "log"], default="auto",
                      help="how to show progress (default: terminal if this is one, else log)")
    args = parser.parse_args(argv)
    from .demo import main

    return main(workers=args.workers, display=args.display)


if __name__ == "__main__":
    sys.exit(run())
