#!/usr/bin/env python3
"""Latency of the portal's Generar request at a steady rate, and of a plain
portal page at the same time (issue 4, "Benchmark").

    python3 scripts/bench-portal.py --url http://127.0.0.1:PORT --id 1-0647-0958 \
        [--page-id 3-101-522899] < passwords

The password of --id is read from the first line of standard input (never
argv), that of --page-id from the second. scripts/bench-portal.sh prepares a
throwaway server and runs this.

What it does, with the standard library only:
  1. logs in through the form (GET /ingresar for the csrf field and the
     llavero_ingreso cookie, POST /ingresar);
  2. fetches the Generar form (GET /llaves/<ambiente>/generar) once per
     Generar it will send, for the one-time `solicitud` field: these GETs are
     made before the measurement and are not counted;
  3. for --duration seconds (after --warmup seconds of the same load), sends Generar (POST with csrf, solicitud, pin,
     pin2) at --generar-rate per second and the plain page (GET --page) at
     --page-rate per second, both open loop: each request leaves at its
     scheduled time whether or not the earlier ones have been answered, from
     a small pool of keep-alive connections per stream. Generar answers 303
     (Post/Redirect/Get, issue 14) to /llaves/<ambiente>/generar/aviso; the
     client follows it as a browser does, and a Generar counts as ok when
     that page is 200 with the aviso ("favor de dar clic a la opción de
     descargar"); its time is the POST and the GET together, what the
     taxpayer waits. The page counts when it is 200 with its title. With --page-id
     the page is fetched in the session of that other taxpayer, whose key
     list does not grow during the run (every Generar adds a row to the key
     list of --id, and the page lists them all); without it, in the same
     session as Generar.
  4. prints p50, p95, p99 and max of each, measured from the scheduled send
     time to the end of the response body (so a client that falls behind
     shows in the figures instead of hiding), the achieved rates, and the
     errors. Exit status 1 if any request failed.
"""

import argparse
import concurrent.futures
import http.client
import re
import sys
import threading
import time
import urllib.parse

AVISO = "favor de dar clic a la opción de descargar"
PAGE_MARKERS = {"/llaves": "Estado de mis llaves", "/portal": "Inicio"}


class Client:
    """One keep-alive connection per thread, all in the same portal session."""

    def __init__(self, host, port, timeout):
        self.host, self.port, self.timeout = host, port, timeout
        self.cookies = {}
        self.lock = threading.Lock()
        self.local = threading.local()

    def _connection(self, fresh=False):
        conn = getattr(self.local, "conn", None)
        if conn is None or fresh:
            if conn is not None:
                conn.close()
            conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
            self.local.conn = conn
            self.local.used = False
        return conn

    def request(self, method, path, form=None):
        """(status, headers message, body text). Retries once on a keep-alive
        connection the server had closed before our request reached it."""
        body = urllib.parse.urlencode(form) if form is not None else None
        headers = {"Host": f"{self.host}:{self.port}"}
        with self.lock:
            if self.cookies:
                headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        for attempt in (0, 1):
            conn = self._connection(fresh=attempt == 1)
            reused = self.local.used
            try:
                conn.request(method, path, body=body, headers=headers)
                resp = conn.getresponse()
                data = resp.read()
            except (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError):
                conn.close()
                self.local.conn = None
                if attempt == 0 and reused:
                    continue
                raise
            self.local.used = True
            if resp.getheader("Connection", "").lower() == "close":
                conn.close()
                self.local.conn = None
            for line in resp.msg.get_all("Set-Cookie") or []:
                name, _, rest = line.partition("=")
                value = rest.split(";", 1)[0]
                with self.lock:
                    if "Max-Age=0" in line:
                        self.cookies.pop(name.strip(), None)
                    else:
                        self.cookies[name.strip()] = value
            return resp.status, resp.msg, data.decode("utf-8", "replace")
        raise RuntimeError("unreachable")


def hidden(html, name):
    m = re.search(r'<input type="hidden" name="%s" value="([^"]*)"' % re.escape(name), html)
    return m.group(1) if m else None


def login(client, identification, password):
    status, _, html = client.request("GET", "/ingresar")
    token = hidden(html, "csrf")
    if status != 200 or not token or "llavero_ingreso" not in client.cookies:
        sys.exit(f"GET /ingresar: estado {status}, sin csrf o sin la cookie llavero_ingreso")
    status, headers, html = client.request(
        "POST", "/ingresar", {"csrf": token, "identificacion": identification, "contrasena": password})
    if status != 303 or "llavero_sesion" not in client.cookies:
        sys.exit(f"POST /ingresar: estado {status} (se esperaba 303 con la cookie de sesión)")


def generar_form(client, env):
    status, _, html = client.request("GET", f"/llaves/{env}/generar")
    csrf, solicitud = hidden(html, "csrf"), hidden(html, "solicitud")
    if status != 200 or not csrf or not solicitud:
        sys.exit(f"GET /llaves/{env}/generar: estado {status}, sin csrf o solicitud")
    return csrf, solicitud


def percentile(sorted_values, p):
    """Nearest rank."""
    if not sorted_values:
        return float("nan")
    k = max(0, min(len(sorted_values) - 1, int(-(-p * len(sorted_values) // 100)) - 1))
    return sorted_values[k]


class Stream:
    def __init__(self, name, rate, workers):
        self.name, self.rate = name, rate
        self.pool = concurrent.futures.ThreadPoolExecutor(max_workers=workers, thread_name_prefix=name)
        self.lock = threading.Lock()
        self.latencies = []  # seconds, ok only
        self.service = []  # from the actual send, ok only
        self.lags = []  # actual send - scheduled
        self.errors = {}
        self.sent = 0
        self.first_send = None
        self.last_done = None
        self.in_flight = 0
        self.max_in_flight = 0
        self.ok_all = 0  # warm-up included
        self.errors_all = 0

    def record(self, scheduled, started, done, error):
        with self.lock:
            self.lags.append(started - scheduled)
            self.last_done = done if self.last_done is None else max(self.last_done, done)
            if error:
                self.errors[error] = self.errors.get(error, 0) + 1
            else:
                self.latencies.append(done - scheduled)
                self.service.append(done - started)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--id", required=True, help="the taxpayer's identification")
    ap.add_argument("--ambiente", default="pruebas", choices=["pruebas", "produccion"])
    ap.add_argument("--generar-rate", type=float, default=2.0, help="Generar per second (2)")
    ap.add_argument("--page-rate", type=float, default=20.0, help="plain page GETs per second (20)")
    ap.add_argument("--page", default="/llaves", help="the plain page (/llaves)")
    ap.add_argument("--page-id", default=None,
                    help="fetch the page as this other taxpayer (password: second line of stdin)")
    ap.add_argument("--duration", type=float, default=30.0, help="seconds (30)")
    ap.add_argument("--warmup", type=float, default=3.0,
                    help="seconds of the same load before the measured window, not counted (3)")
    ap.add_argument("--workers", type=int, default=6,
                    help="connections (threads) per stream; only busy ones are in flight (6)")
    ap.add_argument("--timeout", type=float, default=30.0)
    args = ap.parse_args()

    url = urllib.parse.urlparse(args.url)
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        sys.exit("falta la contraseña en la entrada estándar")
    client = Client(url.hostname, url.port or 80, args.timeout)
    login(client, args.id, password)
    page_client = client
    if args.page_id:
        page_password = sys.stdin.readline().rstrip("\n")
        if not page_password:
            sys.exit("falta la contraseña de --page-id en la segunda línea de la entrada estándar")
        page_client = Client(url.hostname, url.port or 80, args.timeout)
        login(page_client, args.page_id, page_password)

    # The page must answer and say what it is before we time it.
    status, _, html = page_client.request("GET", args.page)
    marker = PAGE_MARKERS.get(args.page)
    if status != 200 or (marker and marker not in html):
        sys.exit(f"GET {args.page}: estado {status}, no es la página esperada")

    # One fresh `solicitud` per Generar, from the form itself, before the clock starts.
    total = args.warmup + args.duration
    n_gen = int(round(total * args.generar_rate))
    n_page = int(round(total * args.page_rate))
    forms = [generar_form(client, args.ambiente) for _ in range(n_gen)]
    csrf = forms[0][0] if forms else None
    print(f"Sesión abierta; {n_gen} formularios Generar precargados (no se miden).", flush=True)

    gen = Stream("generar", args.generar_rate, args.workers)
    page = Stream("pagina", args.page_rate, args.workers)
    form_iter = iter(forms)
    form_lock = threading.Lock()

    def run(stream, scheduled, measured, do):
        with stream.lock:
            stream.in_flight += 1
            stream.max_in_flight = max(stream.max_in_flight, stream.in_flight)
        started = time.monotonic()
        error = None
        try:
            error = do()
        except Exception as e:  # noqa: BLE001 - any failure is an error to count
            error = type(e).__name__
        done = time.monotonic()
        with stream.lock:
            stream.in_flight -= 1
            if error:
                stream.errors_all += 1
            else:
                stream.ok_all += 1
        if measured:
            stream.record(scheduled, started, done, error)

    def do_generar():
        with form_lock:
            _, solicitud = next(form_iter)
        status, headers, _ = client.request(
            "POST", f"/llaves/{args.ambiente}/generar",
            {"csrf": csrf, "solicitud": solicitud, "pin": "1234", "pin2": "1234"})
        location = headers.get("Location", "")
        if status != 303:
            return f"estado {status}"
        if not location.startswith(f"/llaves/{args.ambiente}/generar/aviso?serie="):
            return "303 a otra página"
        status, _, html = client.request("GET", location)
        if status != 200:
            return f"aviso: estado {status}"
        if AVISO not in html:
            return "aviso: 200 sin el aviso"
        return None

    def do_page():
        status, _, html = page_client.request("GET", args.page)
        if status != 200:
            return f"estado {status}"
        if marker and marker not in html:
            return "200 sin el título"
        return None

    # The merged schedule of both streams; the page stream starts half a
    # period late so the two do not line up by construction.
    events = [(i / args.generar_rate, gen, do_generar) for i in range(n_gen)] if n_gen else []
    events += [((i + 0.5) / args.page_rate, page, do_page) for i in range(n_page)]
    events.sort(key=lambda e: e[0])
    print(f"Carga: Generar {args.generar_rate:g}/s y GET {args.page} {args.page_rate:g}/s, "
          f"{args.warmup:g} s de calentamiento + {args.duration:g} s medidos, bucle abierto...",
          flush=True)
    t0 = time.monotonic() + 0.2
    futures = []
    for offset, stream, do in events:
        scheduled = t0 + offset
        delay = scheduled - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        measured = offset >= args.warmup
        if measured:
            with stream.lock:
                stream.sent += 1
                if stream.first_send is None:
                    stream.first_send = scheduled
        futures.append(stream.pool.submit(run, stream, scheduled, measured, do))
    concurrent.futures.wait(futures)
    window_end = t0 + total

    failed = False
    print()
    print(f"{'':<34}{'enviadas':>9}{'ok':>6}{'errores':>9}{'tasa lograda':>14}"
          f"{'p50 ms':>9}{'p95 ms':>9}{'p99 ms':>9}{'max ms':>9}")
    page_label = f"GET {args.page}" + (f" ({args.page_id})" if args.page_id else "")
    for stream, label in ((gen, f"Generar ({args.ambiente})"), (page, page_label)):
        lat = sorted(stream.latencies)
        errors = sum(stream.errors.values())
        failed = failed or errors > 0
        span = max(window_end, stream.last_done or window_end) - (stream.first_send or t0)
        rate = len(lat) / span if span > 0 else float("nan")
        print(f"{label:<34}{stream.sent:>9}{len(lat):>6}{errors:>9}{rate:>11.2f}/s "
              f"{percentile(lat, 50) * 1e3:>8.1f} {percentile(lat, 95) * 1e3:>8.1f} "
              f"{percentile(lat, 99) * 1e3:>8.1f} {(lat[-1] if lat else float('nan')) * 1e3:>8.1f}")
    print()
    for stream, label in ((gen, "Generar"), (page, f"GET {args.page}")):
        svc = sorted(stream.service)
        lags = sorted(stream.lags)
        print(f"{label}: objetivo {stream.rate:g}/s; desde el envío real p50 "
              f"{percentile(svc, 50) * 1e3:.1f} ms, p99 {percentile(svc, 99) * 1e3:.1f} ms; "
              f"retraso del cliente al enviar p99 {percentile(lags, 99) * 1e3:.1f} ms; "
              f"máximo en vuelo {stream.max_in_flight}")
        for what, count in sorted(stream.errors.items()):
            print(f"  error: {what} × {count}")
    sessions = (f"Generar en la sesión de {args.id}, la página en la de {args.page_id}"
                if args.page_id else "una sola sesión del portal")
    print("\n(latencias desde la hora programada de envío hasta el final de la respuesta; "
          f"bucle abierto, conexiones keep-alive; {sessions})")
    gen.pool.shutdown()
    page.pool.shutdown()
    # For the caller: how many keys Generar made, to compare with the store.
    print(f"GENERAR_OK_TOTAL={gen.ok_all}")
    gen_lat = sorted(gen.latencies)
    print(f"GENERAR_P50_MS={percentile(gen_lat, 50) * 1e3:.1f}")
    print(f"GENERAR_P99_MS={percentile(gen_lat, 99) * 1e3:.1f}")
    if gen.errors_all or page.errors_all:
        failed = True
        print(f"errores incluido el calentamiento: Generar {gen.errors_all}, página {page.errors_all}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
