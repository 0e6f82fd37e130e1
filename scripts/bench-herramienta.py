#!/usr/bin/env python3
"""The Herramienta Gratuita's documents per second, from the Emitir POST to
aceptado, through the whole tool (issue 11). Standard library only;
scripts/bench-herramienta.sh runs it next to the reception's own figure.

    python3 scripts/bench-herramienta.py --url http://127.0.0.1:PORT --id 3-101-522899 < password

The portal password of --id is read from standard input (never argv).

  1. Not measured: logs in (scripts/bench-portal.py's login, through the form)
     and generates a pruebas key with "Soy usuario del Facturador Gratuito de
     Hacienda" ticked (POST /llaves/pruebas/generar with facturador=si, then
     Aceptar and Descargar as the browser does), so that the key is active and
     kept in custody; then checks that /herramienta/pruebas/emitir shows the
     form.
  2. From --clients concurrent browsers (each its own session of the same
     taxpayer, one keep-alive connection each), for --duration seconds (or
     --count facturas): GET the Emitir form (its csrf and one-time
     `solicitud`, every other field as the browser sends it: hidden fields,
     defaults, the first or selected option), POST it with a receptor and
     three lines (accion=emitir), follow the 303 to the comprobante's page
     (200, with its clave). A poller reloads each comprobante's page until its
     state (#estado) is aceptado or rechazado.
  3. Reports facturas per second from the first Emitir POST to the last
     aceptado, the POST+page latency (what the taxpayer waits for the
     comprobante's page), the POST-to-aceptado latency, and DOCS_PER_SECOND=
     for the caller. Exit status 1 unless every POST was a 303 to a
     comprobante and every one was aceptado. EMITTED_TOTAL= is how many were
     emitted, for the caller to compare with the store.
"""

import argparse
import html
import importlib.util
import os
import re
import sys
import threading
import time
import urllib.parse
from html.parser import HTMLParser


def _load(name, filename):
    spec = importlib.util.spec_from_file_location(
        name, os.path.join(os.path.dirname(os.path.abspath(__file__)), filename))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


portal = _load("bench_portal", "bench-portal.py")  # Client, hidden, login, percentile

AMBIENTE = "pruebas"
EMITIR = f"/herramienta/{AMBIENTE}/emitir"
COMPROBANTE = f"/herramienta/{AMBIENTE}/comprobante?clave="
# The receptor and the three lines of every factura (as e2e/herramienta.test.mjs).
FACTURA = {
    "tipo_documento": "01",
    "receptor_tipo": "01",
    "receptor_identificacion": "2-0456-0789",
    "receptor_nombre": "ANA MORA SOLÍS",
    "otras_senas": "Avenida 2, calles 5 y 7",
    "linea1_cabys": "8313100000000", "linea1_detalle": "Consultoría", "linea1_cantidad": "2",
    "linea1_precio": "15000", "linea1_descuento": "1000", "linea1_naturaleza": "Cliente frecuente",
    "linea2_cabys": "4321000000000", "linea2_detalle": "Teclado", "linea2_cantidad": "1",
    "linea2_precio": "12500.50",
    "linea3_cabys": "8313100000000", "linea3_detalle": "Soporte", "linea3_cantidad": "1.5",
    "linea3_precio": "8000",
}


class FormFields(HTMLParser):
    """What a browser submits from the form whose action is `action`: text and
    hidden inputs with their value, checked boxes, and each select's selected
    (else first) option. Buttons are left out: the caller adds the one it
    clicks."""

    def __init__(self, action):
        super().__init__(convert_charrefs=True)
        self.action, self.inside, self.fields = action, False, {}
        self.select, self.first_option = None, None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            self.inside = a.get("action") == self.action and a.get("method", "get").lower() == "post"
        elif not self.inside or a.get("disabled") is not None:
            return
        elif tag == "input" and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.fields[a["name"]] = a.get("value", "on")
            elif kind not in ("submit", "button", "reset", "file", "image"):
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "select" and a.get("name"):
            self.select, self.first_option = a["name"], None
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.first_option is None:
                self.first_option = value
                self.fields.setdefault(self.select, value)
            if "selected" in a:
                self.fields[self.select] = value

    def handle_endtag(self, tag):
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def form_fields(page, action):
    parser = FormFields(action)
    parser.feed(page)
    return parser.fields


def state_of(page):
    """The state on a comprobante's page (the span inside #estado)."""
    m = re.search(r'<dd id="estado"><span class="estado estado-[^"]*">([^<]*)</span>([^<]*)', page)
    return (html.unescape(m.group(1)), html.unescape(m.group(2)).lstrip(": ")) if m else (None, "")


def custody_key(client):
    """Generar in pruebas with the Facturador Gratuito box ticked, Aceptar,
    Descargar: the key becomes active and stays in custody."""
    csrf, solicitud = portal.generar_form(client, AMBIENTE)
    status, headers, _ = client.request("POST", f"/llaves/{AMBIENTE}/generar", {
        "csrf": csrf, "solicitud": solicitud, "pin": "2580", "pin2": "2580", "facturador": "si"})
    location = headers.get("Location", "")
    serie = urllib.parse.parse_qs(urllib.parse.urlparse(location).query).get("serie", [""])[0]
    if status != 303 or not serie:
        sys.exit(f"Generar: estado {status}, Location {location!r}")
    status, _, page = client.request("GET", f"/llaves/{AMBIENTE}/generar/paso4?serie={serie}")
    descarga = portal.hidden(page, "descarga")
    if status != 200 or not descarga:
        sys.exit(f"GET paso4: estado {status}, sin el campo descarga")
    status, headers, _ = client.request(
        "POST", "/llaves/descargar", {"csrf": portal.hidden(page, "csrf"), "descarga": descarga})
    if status != 200 or "pkcs12" not in headers.get("Content-Type", ""):
        sys.exit(f"Descargar: estado {status}, {headers.get('Content-Type')}")
    status, _, page = client.request("GET", EMITIR)
    if status != 200 or 'name="solicitud"' not in page:
        sys.exit(f"GET {EMITIR}: estado {status}, sin el formulario Emitir (¿la llave no quedó en custodia?)")
    return serie


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", required=True, help="http://127.0.0.1:PORT")
    ap.add_argument("--id", required=True, help="the taxpayer's identification")
    ap.add_argument("--clients", type=int, default=4, help="concurrent browsers (4)")
    ap.add_argument("--duration", type=float, default=20.0, help="seconds of emitting (20)")
    ap.add_argument("--count", type=int, default=0, help="emit this many instead (0: --duration)")
    ap.add_argument("--poll-interval", type=float, default=0.05)
    ap.add_argument("--timeout", type=float, default=240.0, help="for every one to be decided (240)")
    args = ap.parse_args()

    url = urllib.parse.urlparse(args.url)
    password = sys.stdin.readline().rstrip("\n")
    if not password:
        sys.exit("falta la contraseña en la entrada estándar")
    host, port = url.hostname, url.port or 80
    first = portal.Client(host, port, 30)
    portal.login(first, args.id, password)
    serie = custody_key(first)
    clients = [first] + [portal.Client(host, port, 30) for _ in range(args.clients - 1)]
    for c in clients[1:]:
        portal.login(c, args.id, password)
    print(f"Llave de pruebas en custodia (serie {serie}); {args.clients} sesiones del portal.", flush=True)

    lock = threading.Lock()
    docs = []  # dicts: clave, post_at, page_at, final_at, state, detail
    errors = {}
    started = [0]
    stop_at = [None]

    def error(what):
        with lock:
            errors[what] = errors.get(what, 0) + 1

    def emitter(client):
        while True:
            with lock:
                if args.count and started[0] >= args.count:
                    return
                if not args.count and time.monotonic() >= stop_at[0]:
                    return
                started[0] += 1
            status, _, page = client.request("GET", EMITIR)
            fields = form_fields(page, EMITIR)
            if status != 200 or not fields.get("solicitud"):
                error(f"GET emitir: estado {status}")
                continue
            fields.update(FACTURA)
            fields["accion"] = "emitir"
            post_at = time.monotonic()
            status, headers, _ = client.request("POST", EMITIR, fields)
            location = headers.get("Location", "")
            if status != 303 or not location.startswith(COMPROBANTE):
                error(f"POST emitir: estado {status} a {location.split('?')[0] or '-'}")
                continue
            clave = location[len(COMPROBANTE):]
            status, _, page = client.request("GET", location)
            if status != 200 or clave not in page:
                error(f"página del comprobante: estado {status}")
                continue
            state, detail = state_of(page)
            doc = {"clave": clave, "post_at": post_at, "page_at": time.monotonic(),
                   "final_at": None, "state": state, "detail": detail, "client": client}
            if state in ("aceptado", "rechazado"):
                doc["final_at"] = doc["page_at"]
            with lock:
                docs.append(doc)

    emitting = threading.Event()

    def poller():
        while True:
            with lock:
                pending = [d for d in docs if d["final_at"] is None]
            if not pending:
                if not emitting.is_set():
                    return
                time.sleep(args.poll_interval)
                continue
            for d in pending:
                status, _, page = d["client"].request("GET", COMPROBANTE + d["clave"])
                state, detail = state_of(page) if status == 200 else (None, "")
                if state in ("aceptado", "rechazado"):
                    d.update(final_at=time.monotonic(), state=state, detail=detail)
            if time.monotonic() - t0 > (args.duration if not args.count else 0) + args.timeout:
                return
            time.sleep(args.poll_interval)

    what = f"{args.count} facturas" if args.count else f"{args.duration:g} s"
    print(f"Emitir (GET del formulario, POST con 3 líneas, página del comprobante) desde "
          f"{args.clients} navegadores durante {what}...", flush=True)
    t0 = time.monotonic()
    stop_at[0] = t0 + args.duration
    emitting.set()
    threads = [threading.Thread(target=emitter, args=(c,)) for c in clients]
    poll = threading.Thread(target=poller)
    for t in threads:
        t.start()
    poll.start()
    for t in threads:
        t.join()
    emitting.clear()
    poll.join()

    finals = [d for d in docs if d["final_at"] is not None]
    aceptados = [d for d in finals if d["state"] == "aceptado"]
    rechazados = [d for d in finals if d["state"] == "rechazado"]
    first_post = min((d["post_at"] for d in docs), default=t0)
    last_final = max((d["final_at"] for d in finals), default=first_post)
    last_page = max((d["page_at"] for d in docs), default=first_post)
    span = max(last_final - first_post, 1e-9)
    rate = len(aceptados) / span
    page_lat = sorted(d["page_at"] - d["post_at"] for d in docs)
    lat = sorted(d["final_at"] - d["post_at"] for d in finals)
    pct = portal.percentile

    print()
    print(f"Emitidos: {len(docs)} (POST 303 y página 200) en {last_page - first_post:.2f} s = "
          f"{len(docs) / max(last_page - first_post, 1e-9):.1f} POST/s; POST + página p50 "
          f"{pct(page_lat, 50) * 1e3:.0f} ms, p95 {pct(page_lat, 95) * 1e3:.0f} ms")
    print(f"Decididos: {len(finals)} ({len(aceptados)} aceptado, {len(rechazados)} rechazado) en "
          f"{span:.2f} s desde el primer POST")
    print(f"Emitir POST → aceptado: {rate:.1f} comprobantes/s; latencia por comprobante p50 "
          f"{pct(lat, 50):.2f} s, p95 {pct(lat, 95):.2f} s, max {pct(lat, 100):.2f} s")
    print(f"(estado leído en la página del comprobante cada {args.poll_interval * 1e3:.0f} ms como mucho)")
    print(f"DOCS_PER_SECOND={rate:.2f}")
    print(f"EMITTED_TOTAL={len(docs)}")
    failed = False
    for what, count in sorted(errors.items()):
        print(f"  error: {what} × {count}")
        failed = True
    if rechazados:
        failed = True
        print(f"  rechazado, p. ej. {rechazados[0]['clave']}: {rechazados[0]['detail'][:300]}")
    if not docs or len(aceptados) != len(docs):
        failed = True
        print(f"NO todos fueron aceptados: {len(aceptados)} de {len(docs)}")
    else:
        print(f"Todos aceptados: {len(aceptados)} de {len(docs)}.")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
