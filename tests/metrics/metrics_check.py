#!/usr/bin/env python3
"""What an operator's Prometheus sees (issue 15), checked from outside:
/metrics on the metrics listener parsed with Prometheus' own parser
(prometheus_client.parser, Debian's python3-prometheus-client), and the
numbers a user's actions must move.

    metrics_check.py --public URL --metrics URL --id ID --ocsp-url URL \
        --ocsp-request FILE [--pool N] < password

Prints one line per check, "ok: ..." or "FALLO: ...", and exits 1 on any
failure. tests/metrics/metrics_test.sh prepares the server.
"""

import argparse
import http.client
import re
import sys
import time
import urllib.parse

from prometheus_client.parser import text_string_to_metric_families

FAILURES = []


def check(desc, cond, detail=""):
    print(("ok: " if cond else "FALLO: ") + desc + ("" if cond else f" ({detail})"), flush=True)
    if not cond:
        FAILURES.append(desc)


class Client:
    """One connection's cookies, like a browser."""

    def __init__(self, base):
        u = urllib.parse.urlparse(base)
        self.host, self.port = u.hostname, u.port
        self.cookies = {}

    def request(self, method, path, form=None, body=None, ctype=None):
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        headers = {}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form)
            ctype = "application/x-www-form-urlencoded"
        if ctype:
            headers["Content-Type"] = ctype
        conn.request(method, path, body=body, headers=headers)
        resp = conn.getresponse()
        data = resp.read()
        for line in resp.msg.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            if "Max-Age=0" in line:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        conn.close()
        return resp.status, resp.msg, data


def hidden(html, name):
    m = re.search(r'name="%s" value="([^"]*)"' % re.escape(name), html)
    return m.group(1) if m else None


def scrape(base):
    status, headers, body = Client(base).request("GET", "/metrics")
    if status != 200:
        sys.exit(f"GET {base}/metrics: estado {status}")
    samples = {}
    for family in text_string_to_metric_families(body.decode("utf-8")):
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return samples, headers.get("Content-Type", "")


def value(samples, name, **labels):
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def total(samples, name, **labels):
    """Sum over every series of `name` whose labels include `labels`."""
    return sum(v for (n, ls), v in samples.items()
               if n == name and all((k, w) in ls for k, w in labels.items()))


def login(client, identification, password):
    status, _, html = client.request("GET", "/ingresar")
    token = hidden(html.decode(), "csrf")
    status, _, _ = client.request("POST", "/ingresar", {
        "csrf": token, "identificacion": identification, "contrasena": password})
    return status


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--public", required=True)
    ap.add_argument("--metrics", required=True)
    ap.add_argument("--id", required=True)
    ap.add_argument("--ocsp-url", required=True)
    ap.add_argument("--ocsp-request", required=True)
    ap.add_argument("--pool", type=int, default=4)
    args = ap.parse_args()
    password = sys.stdin.readline().rstrip("\n")

    before, ctype = scrape(args.metrics)
    check("/metrics se lee con el analizador de Prometheus y es text/plain 0.0.4",
          ctype.startswith("text/plain; version=0.0.4"), ctype)
    names = {n for (n, _) in before}
    for name in ("llavero_http_requests_total", "llavero_http_request_duration_seconds_bucket",
                 "llavero_keys_issued_total", "llavero_keys_revoked_total",
                 "llavero_ocsp_responses_total", "llavero_login_failures_total",
                 "llavero_callback_failures_total", "llavero_comprobantes_total",
                 "llavero_http_queue_depth", "llavero_key_pool_available"):
        check(f"/metrics publica {name}", name in names, sorted(names))

    # Not on the public listener: the portal's 404 there.
    status, _, _ = Client(args.public).request("GET", "/metrics")
    check("/metrics no se sirve en el puerto público", status == 404, status)

    # The pool fills on its own while the server is idle (bounded wait).
    for _ in range(120):
        now, _ = scrape(args.metrics)
        if value(now, "llavero_key_pool_available") >= args.pool:
            break
        time.sleep(0.5)
    check(f"las llaves pregeneradas llegan a {args.pool}",
          value(now, "llavero_key_pool_available") == args.pool,
          value(now, "llavero_key_pool_available"))

    # A wrong password moves the login failures, once.
    wrong = Client(args.public)
    status = login(wrong, args.id, password + "-equivocada")
    after, _ = scrape(args.metrics)
    moved = (value(after, "llavero_login_failures_total", kind="portal")
             - value(before, "llavero_login_failures_total", kind="portal"))
    check("un ingreso fallido suma 1 a llavero_login_failures_total{kind=portal}", moved == 1,
          f"estado {status}, cambio {moved}")

    # The same OCSP request twice: the second is answered from the cache.
    url = urllib.parse.urlparse(args.ocsp_url)
    der = open(args.ocsp_request, "rb").read()
    ocsp_before, _ = scrape(args.metrics)
    for _ in range(2):
        status, _, _ = Client(args.public).request("POST", url.path or "/", body=der,
                                                   ctype="application/ocsp-request")
    ocsp_after, _ = scrape(args.metrics)
    hits = (value(ocsp_after, "llavero_ocsp_responses_total", source="cache")
            - value(ocsp_before, "llavero_ocsp_responses_total", source="cache"))
    check("una consulta OCSP repetida suma a llavero_ocsp_responses_total{source=cache}",
          hits >= 1 and status == 200, f"estado {status}, cambio {hits}")

    # Generar in the portal: one key issued, its pair taken from the pool.
    user = Client(args.public)
    check("ingreso con la contraseña correcta", login(user, args.id, password) == 303)
    gen_before, _ = scrape(args.metrics)
    status, _, html = user.request("GET", "/llaves/pruebas/generar")
    html = html.decode()
    status, headers, _ = user.request("POST", "/llaves/pruebas/generar", {
        "csrf": hidden(html, "csrf"), "solicitud": hidden(html, "solicitud"),
        "pin": "8642", "pin2": "8642"})
    gen_after, _ = scrape(args.metrics)
    issued = (value(gen_after, "llavero_keys_issued_total", environment="pruebas")
              - value(gen_before, "llavero_keys_issued_total", environment="pruebas"))
    check("Generar suma 1 a llavero_keys_issued_total{environment=pruebas}",
          status == 303 and issued == 1, f"estado {status}, cambio {issued}")
    pooled = (value(gen_after, "llavero_key_pairs_total", source="pool")
              - value(gen_before, "llavero_key_pairs_total", source="pool"))
    check("el par de Generar salió de las llaves pregeneradas", pooled == 1, pooled)

    # Revocar in the portal moves the revoked counter of that environment.
    status, _, html = user.request("GET", "/llaves/pruebas/revocar")
    html = html.decode()
    rev_before, _ = scrape(args.metrics)
    status, _, _ = user.request("POST", "/llaves/pruebas/revocar", {
        "csrf": hidden(html, "csrf"), "serie": hidden(html, "serie") or "", "motivo": ""})
    rev_after, _ = scrape(args.metrics)
    revoked = (value(rev_after, "llavero_keys_revoked_total", environment="pruebas")
               - value(rev_before, "llavero_keys_revoked_total", environment="pruebas"))
    check("Revocar suma 1 a llavero_keys_revoked_total{environment=pruebas}",
          status == 303 and revoked == 1, f"estado {status}, cambio {revoked}")

    # Requests by class and status, and their latency histogram.
    general = total(rev_after, "llavero_http_requests_total", **{"class": "general"}) - total(
        before, "llavero_http_requests_total", **{"class": "general"})
    check("las páginas suman a llavero_http_requests_total{class=general}", general >= 5, general)
    check("un 404 se cuenta con su estado",
          total(rev_after, "llavero_http_requests_total", status="404") >= 1)
    latency = (value(rev_after, "llavero_http_request_duration_seconds_count", **{"class": "general"})
               - value(before, "llavero_http_request_duration_seconds_count", **{"class": "general"}))
    check("el histograma de latencia cuenta las mismas solicitudes", latency >= 5, latency)
    check("la profundidad de cada cola se publica",
          all((("class", c),) in [ls for (n, ls) in rev_after if n == "llavero_http_queue_depth"]
              for c in ("publico", "general", "contrasenas")))

    return 1 if FAILURES else 0


if __name__ == "__main__":
    sys.exit(main())
