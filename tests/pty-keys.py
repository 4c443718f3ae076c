#!/usr/bin/env python3
"""tests/pty-keys.py COMMAND [ARG]...: runs COMMAND on a pseudo-terminal,
types the lines of standard input into it one at a time (after the output
settles; a \\t in a line is a Tab, each line ends with Enter unless it ends
in a Tab, or in ^C, which is a Ctrl-C), and prints everything the terminal showed, with escape
sequences and carriage returns taken out, for tests of line editing and
completion."""
import os, pty, re, select, sys, time

def settle(fd, quiet=0.4, limit=15.0):
    """What fd shows until it is quiet for a while after showing something."""
    out, end, last = b"", time.time() + limit, None
    while time.time() < end and (last is None or time.time() - last < quiet):
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                d = os.read(fd, 65536)
            except OSError:
                break
            if not d:
                break
            out, last = out + d, time.time()
    return out

keys = sys.stdin.read().split("\n")
pid, fd = pty.fork()
if pid == 0:
    os.execvp(sys.argv[1], sys.argv[1:])
shown = settle(fd)
for k in keys:
    if not k:
        continue
    if k.endswith("^C"):
        end = b"\x03"
        k = k[:-2]
    else:
        end = b"" if k.endswith("\\t") else b"\r"
    os.write(fd, k.replace("\\t", "\t").encode() + end)
    shown += settle(fd)
os.close(fd)
os.waitpid(pid, 0)
text = re.sub(rb"\x1b\[[0-9;?]*[a-zA-Z]|\r|\x07", b"", shown).decode(errors="replace")
sys.stdout.write(text)
