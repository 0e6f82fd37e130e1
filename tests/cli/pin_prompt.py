#!/usr/bin/env python3
"""Drives `llavero llave generar` on a pseudo-terminal, as a person would type:
the PIN is asked twice, never echoed, and a mismatch is refused.

usage: pin_prompt.py LLAVERO DATA OUT PIN CONFIRMATION
prints the program's exit status and everything it showed on the terminal."""
import os
import pty
import select
import sys
import time

llavero, data, out, pin, confirmation = sys.argv[1:6]
pid, fd = pty.fork()
if pid == 0:
    os.execv(llavero, [llavero, "--data", data, "llave", "generar", "--id", "1-0647-0958",
                       "--ambiente", "pruebas", "--salida", out])

seen = b""


def read_until(marker, timeout=30):
    global seen
    deadline = time.time() + timeout
    while marker not in seen and time.time() < deadline:
        ready, _, _ = select.select([fd], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(fd, 4096)
            except OSError:
                break
            if not chunk:
                break
            seen += chunk
    return marker in seen


read_until(b"4 n")           # "1. Debe crear un "PIN" que contenga 4 números:"
os.write(fd, pin.encode() + b"\n")
read_until(b"confirmar")      # "2. Debe escribir nuevamente el PIN para confirmar:"
os.write(fd, confirmation.encode() + b"\n")
read_until(b"\x00", timeout=60)  # until the program ends
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
sys.stdout.write(seen.decode("utf-8", "replace"))
