#!/usr/bin/env python3
"""A small callbackUrl receiver for tests/api/reception_test.sh.

  callback_receiver.py PORTFILE LOG MODE [LOCATION]

MODE: "500x2" answers 500 to the first two POSTs, then 200; "silencio"
accepts the connection and never answers; "200" answers 200; "302" answers
302 with a Location header of LOCATION (a second receiver, which a sender
that follows redirects would reach). Each POST is
appended to LOG as one line: "<unix time> <ind-estado> <clave>". The chosen
port is written to PORTFILE.
"""
import json
import socket
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

portfile, log, mode = sys.argv[1:4]
location = sys.argv[4] if len(sys.argv) > 4 else ""
count = 0
lock = threading.Lock()


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        global count
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        try:
            j = json.loads(body)
            line = f"{time.time():.1f} {j.get('ind-estado')} {j.get('clave')}"
        except Exception:
            line = f"{time.time():.1f} invalido -"
        with lock:
            count += 1
            n = count
            with open(log, "a") as f:
                f.write(line + "\n")
        if mode == "silencio":
            time.sleep(3600)
            return
        if mode == "302":
            self.send_response(302)
            self.send_header("Location", location)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        status = 500 if mode == "500x2" and n <= 2 else 200
        self.send_response(status)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
server.daemon_threads = True
with open(portfile, "w") as f:
    f.write(str(server.server_address[1]))
server.serve_forever()
