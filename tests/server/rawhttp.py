#!/usr/bin/env python3
"""Raw-socket clients for tests/server/server_test.sh: what curl cannot do.

  rawhttp.py send PORT HEX            sends the bytes (hex) and prints the
                                      status line of the answer, or CLOSED
                                      (connection closed without an answer),
                                      or TIMEOUT (nothing within 10 s)
  rawhttp.py stall PORT COUNT HOLD    opens COUNT connections that each send
                                      half a request line and then nothing;
                                      prints "READY" once they are open, then,
                                      after at most HOLD seconds, one line
                                      "closed=N open=M max_seconds=S" (how many
                                      the server closed, and when the last one
                                      was closed)
  rawhttp.py drip PORT HOLD           sends a valid request one byte per
                                      second; prints "closed after S s, B bytes
                                      sent" when the server closes it (or
                                      answers), "open after HOLD s" if not
  rawhttp.py pipeline PORT PATH N     sends N pipelined GETs of PATH at once on
                                      one connection and prints how many full
                                      HTTP responses came back
"""
import select
import socket
import sys
import time

HOST = "127.0.0.1"


def connect(port, timeout=10):
    s = socket.create_connection((HOST, port), timeout=timeout)
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


def cmd_send(port, hex_data):
    s = connect(port)
    try:
        s.sendall(bytes.fromhex(hex_data))
    except OSError:
        pass  # the server may close before reading everything
    data = b""
    try:
        while b"\r\n" not in data:
            chunk = s.recv(4096)
            if not chunk:
                break
            data += chunk
    except socket.timeout:
        print("TIMEOUT")
        return
    except OSError:
        pass
    if data:
        print(data.split(b"\r\n", 1)[0].decode("latin-1"))
    else:
        print("CLOSED")


def cmd_stall(port, count, hold):
    socks = []
    for _ in range(count):
        s = connect(port)
        s.sendall(b"GET /healthz HT")
        socks.append(s)
    print("READY", flush=True)
    start = time.monotonic()
    open_ = {s.fileno(): s for s in socks}
    closed_at = []
    while open_ and time.monotonic() - start < hold:
        readable, _, _ = select.select(list(open_.values()), [], [], 0.5)
        for s in readable:
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            if not chunk:  # closed (an answer would be read, then the close)
                closed_at.append(time.monotonic() - start)
                del open_[s.fileno()]
                s.close()
    print(f"closed={len(closed_at)} open={len(open_)} "
          f"max_seconds={max(closed_at) if closed_at else 0:.1f}", flush=True)
    for s in open_.values():
        s.close()


def cmd_drip(port, hold):
    s = connect(port)
    request = b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + b"X-Slow: " + b"a" * 500 + b"\r\n\r\n"
    start = time.monotonic()
    sent = 0
    for byte in request:
        if time.monotonic() - start > hold:
            print(f"open after {hold} s, {sent} bytes sent")
            return
        try:
            s.sendall(bytes([byte]))
            sent += 1
        except OSError:
            break
        readable, _, _ = select.select([s], [], [], 1.0)
        if readable:
            try:
                chunk = s.recv(4096)
            except OSError:
                chunk = b""
            if chunk.startswith(b"HTTP/"):
                status = chunk.split(b"\r\n", 1)[0].decode("latin-1")
                print(f"answered after {time.monotonic() - start:.0f} s, {sent} bytes sent: {status}")
                return
            break
    print(f"closed after {time.monotonic() - start:.0f} s, {sent} bytes sent")


def cmd_pipeline(port, path, n):
    s = connect(port)
    req = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
    s.sendall(req * n)
    data = b""
    deadline = time.monotonic() + 10
    while data.count(b"HTTP/1.1 ") < n and time.monotonic() < deadline:
        try:
            chunk = s.recv(65536)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    print(data.count(b"HTTP/1.1 200 "))


def main():
    cmd = sys.argv[1]
    port = int(sys.argv[2])
    if cmd == "send":
        cmd_send(port, sys.argv[3])
    elif cmd == "stall":
        cmd_stall(port, int(sys.argv[3]), float(sys.argv[4]))
    elif cmd == "drip":
        cmd_drip(port, float(sys.argv[3]))
    elif cmd == "pipeline":
        cmd_pipeline(port, sys.argv[3], int(sys.argv[4]))
    else:
        sys.exit(f"unknown command {cmd}")


if __name__ == "__main__":
    main()
