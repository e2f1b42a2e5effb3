"""The command line: `python -m poolbars demo`, and `python -m poolbars run` (an
unmodified program with its tqdm bars in one panel; see launcher.py)."""

from __future__ import annotations

import argparse
import sys

RUN_OPTIONS = ("--display", "--connect", "--title")  # each takes a value
RUN_USAGE = ("python -m poolbars run [--display {auto,terminal,log}] [--connect HOST:PORT] "
             "[--title TITLE] (script.py | -m package.module) [args ...]")


def split_run(argv: list[str]) -> tuple[list[str], str | None, str | None, list[str]]:
    """(our options, script, module, the program's args): everything from the script or
    `-m module` on is the program's, as `python` reads its command line."""
    i = 0
    while i < len(argv):
        token = argv[i]
        if token == "-m":
            if i + 1 == len(argv):
                break
            return argv[:i], None, argv[i + 1], argv[i + 2:]
        if token in RUN_OPTIONS:
            i += 2
        elif token.startswith("-") and token != "-":
            i += 1  # --opt=value, --help, or a mistake argparse will name
        else:
            return argv[:i], token, None, argv[i + 1:]
    return argv[:i], None, None, []


def run_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m poolbars run", usage=RUN_USAGE,
        description="Run a Python program as `python` would, with every tqdm bar it makes "
                    "(in the main process and its multiprocessing children) in one panel.")
    parser.add_argument("--display", choices=["auto", "terminal", "log"], default="auto",
                        help="how to show the panel (default: terminal if this is one, else log)")
    parser.add_argument("--connect", metavar="HOST:PORT",
                        help="report to a pb.Panel (e.g. in a notebook) at this address "
                             "instead, with its authkey (hex) in POOLBARS_AUTHKEY")
    parser.add_argument("--title", help="the panel's title (default: the program's name)")
    return parser


def run_command(argv: list[str]) -> int:
    from .launcher import LaunchError, exit_like, launch

    options, script, module, args = split_run(argv)
    parser = run_parser()
    parsed = parser.parse_args(options)
    try:
        returncode = launch(script, module, args, display=parsed.display,
                            connect_to=parsed.connect, title=parsed.title)
    except LaunchError as exc:
        parser.error(str(exc))  # exits with status 2, the program not started
    return exit_like(returncode)


def run(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["run"]:
        return run_command(argv[1:])
    parser = argparse.ArgumentParser(prog="python -m poolbars",
                                     description="poolbars: a parallel map with a live panel.")
    commands = parser.add_subparsers(dest="command", required=True)
    demo = commands.add_parser("demo", help="a few seconds of a realistic run, in this terminal")
    demo.add_argument("--workers", type=int, default=3, help="worker processes (default 3)")
    demo.add_argument("--display", choices=["auto", "terminal", "log"], default="auto",
                      help="how to show progress (default: terminal if this is one, else log)")
    commands.add_parser("run", help="run a script (or -m module) with its tqdm bars in a panel",
                        usage=RUN_USAGE, add_help=False)
    args = parser.parse_args(argv)
    from .demo import main

    return main(workers=args.workers, display=args.display)


if __name__ == "__main__":
    sys.exit(run())
