#!/usr/bin/env python3
"""The reception's documents per second, from POST to aceptado (issue 5,
"Benchmark"). Standard library only; scripts/bench-reception.sh runs it.

    python3 scripts/bench-reception.py preparar --ejemplo examples/factura-electronica.xml \\
        --n 200 --dir DIR
        writes DIR/000.xml ... (unsigned copies of the factura, each with its own
        Clave and NumeroConsecutivo, consistent with each other, dated now: the
        reception refuses a FechaEmision older than 30 days), DIR/claves.txt and
        DIR/fecha.txt

    python3 scripts/bench-reception.py enviar --url http://127.0.0.1:PORT --usuario USER \\
        --dir DIR < password
        gets a token (rut-stag), POSTs every DIR/NNN-firmada.xml to the sandbox
        reception from --threads keep-alive connections as fast as they go, polls
        GET .../recepcion/{clave} until each is final, and reports documents per
        second from the first POST to the last aceptado, the POST rate alone,
        POST-to-final latencies, and how many were accepted. Exit status 1 unless
        every one is aceptado. --desde I --cuantos N sends documents I to I+N-1
        only. --callbacks gives each envelope a callbackUrl served by this script
        (a receiver on 127.0.0.1 answering 200) and also reports documents per
        second from the first POST to the last callback received.
"""

import argparse
import base64
import http.client
import json
import os
import re
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SANDBOX = "/recepcion-sandbox/v1/recepcion"
TOKEN = "/auth/realms/rut-stag/protocol/openid-connect/token"
EMISOR = {"tipoIdentificacion": "01", "numeroIdentificacion": "106470958"}
RECEPTOR = {"tipoIdentificacion": "02", "numeroIdentificacion": "3101522899"}
FIRST_NUMBER = 1001


def now_in_costa_rica():
    """Two minutes ago in Costa Rica (UTC-6): the FechaEmision and the
    clave's date of the documents."""
    import datetime
    cr = datetime.timezone(datetime.timedelta(hours=-6))
    return datetime.datetime.now(cr) - datetime.timedelta(minutes=2)


def clave_for(number, ddmmyy):
    """The clave and consecutivo of factura `number` of the demo taxpayer on
    DDMMYY: 506 + DDMMYY + id padded to 12 + consecutivo (sucursal 001,
    terminal 00001, tipo 01, número) + situación 1 + security code."""
    consecutivo = f"0010000101{number:010d}"
    security = f"{(number * 48271 + 12345) % 10**8:08d}"
    clave = "506" + ddmmyy + "000106470958" + consecutivo + "1" + security
    assert len(clave) == 50 and len(consecutivo) == 20
    return clave, consecutivo


def preparar(args):
    with open(args.ejemplo, encoding="utf-8") as f:
        text = f.read()
    if text.count("<Clave>") != 1 or text.count("<NumeroConsecutivo>") != 1:
        sys.exit(f"{args.ejemplo}: se esperaba una Clave y un NumeroConsecutivo")
    os.makedirs(args.dir, exist_ok=True)
    when = now_in_costa_rica()
    fecha = when.strftime("%Y-%m-%dT%H:%M:%S-06:00")
    text = re.sub(r"<FechaEmision>[^<]*</FechaEmision>", f"<FechaEmision>{fecha}</FechaEmision>",
                  text)
    claves = []
    for i in range(args.n):
        clave, consecutivo = clave_for(FIRST_NUMBER + i, when.strftime("%d%m%y"))
        doc = re.sub(r"<Clave>\d{50}</Clave>", f"<Clave>{clave}</Clave>", text)
        doc = re.sub(r"<NumeroConsecutivo>\d{20}</NumeroConsecutivo>",
                     f"<NumeroConsecutivo>{consecutivo}</NumeroConsecutivo>", doc)
        with open(os.path.join(args.dir, f"{i:03d}.xml"), "w", encoding="utf-8") as f:
            f.write(doc)
        claves.append(clave)
    with open(os.path.join(args.dir, "claves.txt"), "w") as f:
        f.write("\n".join(claves) + "\n")
    with open(os.path.join(args.dir, "fecha.txt"), "w") as f:
        f.write(fecha + "\n")
    return 0


def start_receiver(claves, called_at):
    """A callbackUrl receiver on a free loopback port: answers 200 and notes
    when the first callback of each clave came. Returns its URL."""
    index = {c: i for i, c in enumerate(claves)}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            try:
                i = index.get(json.loads(body).get("clave"))
            except ValueError:
                i = None
            if i is not None and called_at[i] is None:
                called_at[i] = time.monotonic()
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *a):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_address[1]}/callback"


class Conn:
    def __init__(self, host, port, timeout=30):
        self.host, self.port, self.timeout = host, port, timeout
        self.conn = None

    def request(self, method, path, body=None, headers=None):
        for attempt in (0, 1):
            if self.conn is None:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
                fresh = True
            else:
                fresh = False
            try:
                self.conn.request(method, path, body=body, headers=headers or {})
                resp = self.conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                self.conn.close()
                self.conn = None
                if attempt == 0 and not fresh:
                    continue
                raise
            if resp.getheader("Connection", "").lower() == "close":
                self.conn.close()
                self.conn = None
            return resp.status, resp.msg, data
        raise RuntimeError("unreachable")


def percentile(sorted_values, p):
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


def enviar(args):
    url = urllib.parse.urlparse(args.url)
    host, port = url.hostname, url.port or 80
    password = sys.stdin.readline().rstrip("\n")
    with open(os.path.join(args.dir, "claves.txt")) as f:
        claves = [line.strip() for line in f if line.strip()]
    with open(os.path.join(args.dir, "fecha.txt")) as f:
        fecha = f.read().strip()
    first_doc = args.desde
    last_doc = len(claves) if args.cuantos is None else min(len(claves), args.desde + args.cuantos)
    claves = claves[first_doc:last_doc]
    called_at = [None] * len(claves)
    callback = start_receiver(claves, called_at) if args.callbacks else None
    bodies = []
    for k, clave in enumerate(claves):
        with open(os.path.join(args.dir, f"{first_doc + k:03d}-firmada.xml"), "rb") as f:
            xml = f.read()
        envelope = {"clave": clave, "fecha": fecha, "emisor": EMISOR, "receptor": RECEPTOR,
                    "comprobanteXml": base64.b64encode(xml).decode()}
        if callback:
            envelope["callbackUrl"] = callback
        bodies.append(json.dumps(envelope).encode())

    c = Conn(host, port)
    form = urllib.parse.urlencode({"grant_type": "password", "client_id": "api-stag",
                                   "username": args.usuario, "password": password})
    status, _, data = c.request("POST", TOKEN, form,
                                {"Content-Type": "application/x-www-form-urlencoded"})
    if status != 200:
        sys.exit(f"token: estado {status}: {data[:200]!r}")
    token = json.loads(data)["access_token"]
    auth = {"Authorization": f"bearer {token}"}
    print(f"Token obtenido; {len(bodies)} comprobantes firmados de {len(bodies[0]) // 1024} KiB "
          f"(JSON) cada uno.", flush=True)

    n = len(bodies)
    sent_at = [None] * n  # POST sent
    accepted_at = [None] * n  # 202 received
    final_at = [None] * n  # final state first seen by the poller
    state = [None] * n
    post_errors = []
    lock = threading.Lock()
    next_index = [0]
    posting_done = threading.Event()

    def poster():
        conn = Conn(host, port)
        headers = dict(auth, **{"Content-Type": "application/json"})
        while True:
            with lock:
                i = next_index[0]
                if i >= n:
                    return
                next_index[0] += 1
            sent_at[i] = time.monotonic()
            try:
                status, msg, data = conn.request("POST", SANDBOX, bodies[i], headers)
            except Exception as e:  # noqa: BLE001
                with lock:
                    post_errors.append(f"{claves[i]}: {type(e).__name__}")
                continue
            if status != 202:
                with lock:
                    post_errors.append(f"{claves[i]}: estado {status} "
                                       f"{msg.get('X-Error-Cause', '')}")
                continue
            accepted_at[i] = time.monotonic()

    polls = [0]
    failed_callbacks = [False]

    def poller():
        # Sweeps the documents still pending, in the order they were sent;
        # processing takes the oldest first, so a sweep stops after a few
        # pending ones in a row and starts over.
        conn = Conn(host, port)
        pending = list(range(n))
        while pending:
            still, in_a_row = [], 0
            for k, i in enumerate(pending):
                if in_a_row >= args.poll_lookahead or (accepted_at[i] is None and sent_at[i] is None):
                    still.extend(pending[k:])
                    break
                if accepted_at[i] is None:
                    if posting_done.is_set():
                        continue  # refused at POST: counted there, never final
                    still.append(i)
                    in_a_row += 1
                    continue
                status, _, data = conn.request("GET", f"{SANDBOX}/{claves[i]}", None, auth)
                polls[0] += 1
                answer = json.loads(data) if status == 200 else {}
                s = answer.get("ind-estado")
                if s in ("aceptado", "rechazado"):
                    final_at[i] = time.monotonic()
                    state[i] = (s, answer.get("respuesta-xml", ""))
                    in_a_row = 0
                else:
                    still.append(i)
                    in_a_row += 1
            pending = still
            if pending:
                if time.monotonic() - t0 > args.timeout:
                    return
                time.sleep(args.poll_interval)

    t0 = time.monotonic()
    posters = [threading.Thread(target=poster) for _ in range(args.threads)]
    poll_thread = threading.Thread(target=poller)
    for t in posters:
        t.start()
    poll_thread.start()
    for t in posters:
        t.join()
    posting_done.set()
    poll_thread.join()

    ok_posts = [i for i in range(n) if accepted_at[i] is not None]
    finals = [i for i in ok_posts if final_at[i] is not None]
    aceptados = [i for i in finals if state[i][0] == "aceptado"]
    rechazados = [i for i in finals if state[i][0] == "rechazado"]
    first = min(sent_at[i] for i in range(n) if sent_at[i] is not None)
    last_202 = max((accepted_at[i] for i in ok_posts), default=first)
    last_final = max((final_at[i] for i in finals), default=first)
    lat = sorted(final_at[i] - sent_at[i] for i in finals)
    post_lat = sorted(accepted_at[i] - sent_at[i] for i in ok_posts)

    print()
    print(f"POST {n} comprobantes desde {args.threads} conexiones: {len(ok_posts)} × 202 en "
          f"{last_202 - first:.2f} s = {len(ok_posts) / max(last_202 - first, 1e-9):.1f} POST/s "
          f"(p50 {percentile(post_lat, 50) * 1e3:.1f} ms, p99 {percentile(post_lat, 99) * 1e3:.1f} ms)")
    print(f"Decididos: {len(finals)} ({len(aceptados)} aceptado, {len(rechazados)} rechazado) "
          f"en {last_final - first:.2f} s desde el primer POST")
    print(f"POST → aceptado: {len(aceptados) / max(last_final - first, 1e-9):.1f} comprobantes/s; "
          f"latencia por comprobante p50 {percentile(lat, 50):.2f} s, p95 {percentile(lat, 95):.2f} s, "
          f"max {percentile(lat, 100):.2f} s")
    print(f"DOCS_PER_SECOND={len(aceptados) / max(last_final - first, 1e-9):.2f}")
    # The decisions come in waves (the server decides up to 20 at a time on
    # a 200 ms timer): how long a wave takes and how long between waves.
    times = sorted(final_at[i] for i in finals)
    waves = []
    for t in times:
        if waves and t - waves[-1][-1] <= args.wave_gap:
            waves[-1].append(t)
        else:
            waves.append([t])
    if len(waves) > 1:
        sizes = [len(w) for w in waves]
        spans = [w[-1] - w[0] for w in waves]
        gaps = [b[0] - a[-1] for a, b in zip(waves, waves[1:])]
        print(f"Olas de decisiones (separadas por más de {args.wave_gap * 1e3:.0f} ms): {len(waves)}, "
              f"{sum(sizes) / len(sizes):.1f} comprobantes cada una (máx. {max(sizes)}); "
              f"dentro de una ola {sum(spans) / len(spans) * 1e3:.0f} ms de primera a última "
              f"decisión vista, entre olas {sum(gaps) / len(gaps) * 1e3:.0f} ms sin decisiones")
    if callback:
        # The last callbacks may still be on their way when the last decision
        # is seen.
        deadline = time.monotonic() + 30
        while any(called_at[i] is None for i in aceptados) and time.monotonic() < deadline:
            time.sleep(0.05)
        called = [i for i in aceptados if called_at[i] is not None]
        last_call = max((called_at[i] for i in called), default=first)
        cb_lat = sorted(called_at[i] - sent_at[i] for i in called)
        print(f"Con callbacks: {len(called)} de {len(aceptados)} recibidos; POST → callback: "
              f"{len(called) / max(last_call - first, 1e-9):.1f} comprobantes/s; latencia p50 "
              f"{percentile(cb_lat, 50):.2f} s, p95 {percentile(cb_lat, 95):.2f} s")
        if len(called) != len(aceptados):
            print("NO llegaron todos los callbacks")
            failed_callbacks[0] = True
    print(f"(sondeo: {polls[0]} GET, cada {args.poll_interval * 1e3:.0f} ms como mucho; "
          "la hora de decisión es la de la primera consulta que la ve)")
    failed = failed_callbacks[0]
    for e in post_errors[:5]:
        print(f"  error en POST: {e}")
    if post_errors:
        failed = True
    if rechazados:
        failed = True
        xml = base64.b64decode(state[rechazados[0]][1]).decode("utf-8", "replace")
        m = re.search(r"<DetalleMensaje>(.*?)</DetalleMensaje>", xml, re.S)
        print(f"  rechazado, p. ej. {claves[rechazados[0]]}: {m.group(1) if m else xml[:300]}")
    if len(aceptados) != n:
        failed = True
        print(f"NO todos fueron aceptados: {len(aceptados)} de {n}")
    else:
        print(f"Todos aceptados: {len(aceptados)} de {n}.")
    return 1 if failed else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="command", required=True)
    p = sub.add_parser("preparar")
    p.add_argument("--ejemplo", required=True)
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--dir", required=True)
    e = sub.add_parser("enviar")
    e.add_argument("--url", required=True)
    e.add_argument("--usuario", required=True)
    e.add_argument("--dir", required=True)
    e.add_argument("--threads", type=int, default=4)
    e.add_argument("--poll-interval", type=float, default=0.02)
    e.add_argument("--poll-lookahead", type=int, default=4)
    e.add_argument("--timeout", type=float, default=240.0)
    e.add_argument("--wave-gap", type=float, default=0.1)
    e.add_argument("--desde", type=int, default=0)
    e.add_argument("--cuantos", type=int, default=None)
    e.add_argument("--callbacks", action="store_true")
    args = ap.parse_args()
    return preparar(args) if args.command == "preparar" else enviar(args)


if __name__ == "__main__":
    sys.exit(main())
