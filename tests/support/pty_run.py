"""Run a command with stdin, stdout and stderr on a pseudo-terminal, as a person at a terminal would.

    pty_run.py [--cols N] [--rows N] [--timeout SECS] [--expect TEXT (--send TEXT | --resize COLSxROWS)]...
               -- COMMAND [ARG]...

Everything the command writes to the terminal is collected until it exits. Each `--expect TEXT`
waits for TEXT to appear in the output (after the previous one), then types the matching `--send`
text (a terminal's Enter is "\\r"), or resizes the terminal to `--resize` COLSxROWS (the command
gets SIGWINCH). Prints one JSON object on stdout:

    {"code": 0, "output": "...", "timed_out": false, "unanswered": []}

`code` is the command's exit code (negative: killed by that signal, null: still running when the
timeout hit, then it is killed); `output` is the raw terminal bytes as UTF-8, escape sequences and
"\\r\\n" line ends included; `unanswered` lists the expected texts that never appeared.
"""

import argparse
import errno
import fcntl
import json
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time


def parse_args(argv):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cols", type=int, default=120)
    p.add_argument("--rows", type=int, default=40)
    p.add_argument("--timeout", type=float, default=10.0, help="seconds before the command is killed")
    p.add_argument("--expect", action="append", default=[], help="text to wait for before the next action")
    p.add_argument("--send", action=Action, dest="actions", default=[], help="text typed once its --expect appeared")
    p.add_argument("--resize", action=Action, dest="actions", help="COLSxROWS to resize to once its --expect appeared")
    p.add_argument("command", nargs=argparse.REMAINDER)
    args = p.parse_args(argv)
    if args.command and args.command[0] == "--":
        args.command = args.command[1:]
    if not args.command:
        p.error("no command given")
    if len(args.expect) != len(args.actions):
        p.error("every --expect needs one --send or --resize")
    for kind, value in args.actions:
        if kind == "resize" and not re.fullmatch(r"\d+x\d+", value):
            p.error("--resize takes COLSxROWS, e.g. 100x30")
    return args


class Action(argparse.Action):
    """--send and --resize, kept in the order given."""

    def __call__(self, parser, namespace, values, option_string=None):
        actions = list(getattr(namespace, self.dest) or [])
        actions.append((option_string.lstrip("-"), values))
        setattr(namespace, self.dest, actions)


def make_controlling_tty():
    # Runs in the child after stdin/stdout/stderr are the pty and setsid() made a new session.
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def main(argv):
    args = parse_args(argv)
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", args.rows, args.cols, 0, 0))
    try:
        child = subprocess.Popen(
            args.command,
            stdin=slave,
            stdout=slave,
            stderr=slave,
            close_fds=True,
            start_new_session=True,
            preexec_fn=make_controlling_tty,
        )
    except OSError as e:
        print(f"pty_run: cannot run {args.command[0]}: {e}", file=sys.stderr)
        return 2
    # Only the child holds the terminal now: reading the master fails with EIO once it has exited.
    os.close(slave)

    pending = list(zip(args.expect, args.actions))
    output = bytearray()
    searched_from = 0
    deadline = time.monotonic() + args.timeout
    timed_out = False
    while True:
        left = deadline - time.monotonic()
        if left <= 0:
            timed_out = True
            break
        ready, _, _ = select.select([master], [], [], min(left, 0.1))
        if not ready:
            continue
        try:
            chunk = os.read(master, 65536)
        except OSError as e:
            if e.errno == errno.EIO:
                break
            raise
        if not chunk:
            break
        output += chunk
        while pending:
            expect, (kind, value) = pending[0]
            at = output.find(expect.encode(), searched_from)
            if at < 0:
                break
            searched_from = at + len(expect.encode())
            if kind == "resize":
                cols, rows = (int(n) for n in value.split("x"))
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            else:
                os.write(master, value.encode())
            pending.pop(0)

    if timed_out:
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    try:
        code = child.wait(timeout=max(deadline - time.monotonic(), 0) + 1)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()
        timed_out = True
        code = None
    if timed_out:
        code = None
    os.close(master)

    json.dump(
        {
            "code": code,
            "output": output.decode("utf-8", "replace"),
            "timed_out": timed_out,
            "unanswered": [e for e, _ in pending],
        },
        sys.stdout,
    )
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
