#!/usr/bin/env python3
"""The HTTP clients of tests/deploy/deploy_test.sh (and scripts/bench-cluster.sh):
what is awkward in bash. Standard library only; loopback only.

  cluster.py portal URL ID OUT.p12 < password
        logs in to the portal, Generar in pruebas (PIN 1234), downloads the
        .p12 once into OUT.p12, then tries the download again; prints
        "login=303 generar=303 descarga=200 segunda=410 serie=HEX". Each
        request is a new connection, so behind a round-robin balancer each
        one may reach another server.
  cluster.py revoke URL ID < password
        logs in and revokes the active key in pruebas; prints
        "revocar=303 serie=HEX".
  cluster.py post URL TOKEN OUT ENVELOPE...
        POSTs each envelope to the sandbox reception, 4 at a time, each
        worker pausing 0.4 s after an answer (about 10 a second); a request
        that got no HTTP answer (a server killed under it) is sent again,
        at most 5 times. Writes "CLAVE STATUS" per envelope to OUT.
  cluster.py states URL TOKEN CLAVES_FILE SECONDS
        polls GET …/recepcion/CLAVE of each clave until every one is
        aceptado, rechazado or error, or SECONDS passed; prints
        "CLAVE STATE" lines.
  cluster.py crls URL SECONDS OUT
        fetches the CRL at URL over and over for SECONDS; writes one CRL
        number (decimal) per line to OUT, "-" for a failed fetch.
"""

import concurrent.futures
import http.client
import json
import re
import sys
import time
import urllib.parse

RECEPCION = "/recepcion-sandbox/v1/recepcion"


class Session:
    """Cookies kept across requests; a fresh connection per request."""

    def __init__(self, url):
        u = urllib.parse.urlparse(url)
        self.host, self.port = u.hostname, u.port or 80
        self.cookies = {}

    def request(self, method, path, form=None, headers=None, body=None):
        h = dict(headers or {})
        if self.cookies:
            h["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if form is not None:
            body = urllib.parse.urlencode(form)
            h["Content-Type"] = "application/x-www-form-urlencoded"
        conn = http.client.HTTPConnection(self.host, self.port, timeout=30)
        try:
            conn.request(method, path, body=body, headers=h)
            resp = conn.getresponse()
            data = resp.read()
        finally:
            conn.close()
        for line in resp.msg.get_all("Set-Cookie") or []:
            name, _, rest = line.partition("=")
            if "Max-Age=0" in line:
                self.cookies.pop(name.strip(), None)
            else:
                self.cookies[name.strip()] = rest.split(";", 1)[0]
        return resp.status, resp.msg, data


def hidden(html, name):
    m = re.search(r'<input type="hidden" name="%s" value="([^"]*)"' % re.escape(name), html)
    return m.group(1) if m else ""


def retried(attempt, times=5):
    """A person whose request met the instance that was killed tries again:
    502/503 from HAProxy mean no instance answered, so nothing was
    acknowledged. `attempt` returns (status, headers, body)."""
    for _ in range(times):
        answer = attempt()
        if answer[0] not in (502, 503):
            return answer
        time.sleep(0.5)
    return answer


def login(s, identification, password):
    def attempt():
        got, headers, html = s.request("GET", "/ingresar")
        if got != 200:
            return got, headers, html
        return s.request("POST", "/ingresar", {
            "csrf": hidden(html.decode(), "csrf"), "identificacion": identification,
            "contrasena": password})
    status, _, _ = retried(attempt)
    return status


def portal(url, identification, out):
    s = Session(url)
    password = sys.stdin.readline().rstrip("\n")
    logged = login(s, identification, password)
    csrf = ""

    def generate():
        nonlocal csrf
        got, headers, html = s.request("GET", "/llaves/pruebas/generar")
        if got != 200:
            return got, headers, html
        html = html.decode()
        csrf = hidden(html, "csrf")
        return s.request("POST", "/llaves/pruebas/generar", {
            "csrf": csrf, "solicitud": hidden(html, "solicitud"), "pin": "1234", "pin2": "1234"})
    status, headers, _ = retried(generate)
    serial = (re.search(r"serie=([0-9A-Fa-f]+)", headers.get("Location", "")) or [None, ""])[1]
    got, _, p12 = s.request("POST", "/llaves/descargar", {"csrf": csrf})
    if got == 200:
        with open(out, "wb") as f:
            f.write(p12)
    # The file is wiped once the first answer has been sent; give that a
    # moment (the second request may reach another instance first).
    time.sleep(1)
    again, _, _ = s.request("POST", "/llaves/descargar", {"csrf": csrf})
    print(f"login={logged} generar={status} descarga={got} segunda={again} serie={serial}")


def revoke(url, identification):
    s = Session(url)
    login(s, identification, sys.stdin.readline().rstrip("\n"))
    _, _, html = s.request("GET", "/llaves/pruebas/revocar")
    html = html.decode()
    serial = hidden(html, "serie")
    status, _, _ = s.request("POST", "/llaves/pruebas/revocar", {
        "csrf": hidden(html, "csrf"), "serie": serial, "motivo": "keyCompromise"})
    print(f"revocar={status} serie={serial}")


def post(url, token, out, envelopes):
    def one(path):
        body = open(path, "rb").read()
        clave = json.loads(body)["clave"]
        for _ in range(5):
            try:
                status, _, _ = Session(url).request("POST", RECEPCION, body=body, headers={
                    "Authorization": f"bearer {token}", "Content-Type": "application/json"})
                time.sleep(0.4)  # a steady load of about 10 a second, not a burst
                return clave, status
            except (OSError, http.client.HTTPException):
                time.sleep(0.3)  # no answer: the request may be sent again
        return clave, 0

    with concurrent.futures.ThreadPoolExecutor(4) as pool:
        results = list(pool.map(one, envelopes))
    with open(out, "w") as f:
        for clave, status in results:
            f.write(f"{clave} {status}\n")


def states(url, token, claves_file, seconds):
    claves = [line.split()[0] for line in open(claves_file) if line.strip()]
    final = {}
    deadline = time.time() + float(seconds)
    while True:
        for clave in claves:
            if clave in final:
                continue
            try:
                status, _, data = Session(url).request(
                    "GET", f"{RECEPCION}/{clave}", headers={"Authorization": f"bearer {token}"})
                state = json.loads(data).get("ind-estado", "") if status == 200 else f"http{status}"
            except (OSError, http.client.HTTPException, ValueError):
                state = "sin-respuesta"
            if state in ("aceptado", "rechazado", "error"):
                final[clave] = state
        if len(final) == len(claves) or time.time() > deadline:
            break
        time.sleep(0.5)
    for clave in claves:
        print(clave, final.get(clave, "sin-decidir"))


def crls(url, seconds, out):
    import subprocess
    s = Session(url)
    path = urllib.parse.urlparse(url).path
    deadline = time.time() + float(seconds)
    with open(out, "w") as f:
        while time.time() < deadline:
            try:
                status, _, der = s.request("GET", path)
                text = subprocess.run(["openssl", "crl", "-inform", "DER", "-noout", "-crlnumber"],
                                      input=der, capture_output=True).stdout.decode()
                number = text.strip().split("=", 1)[1] if status == 200 and "=" in text else "-"
                f.write(f"{int(number, 16) if number.startswith('0x') else number}\n")
            except (OSError, http.client.HTTPException, ValueError):
                f.write("-\n")
            f.flush()
            time.sleep(0.2)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "portal":
        portal(*args)
    elif cmd == "revoke":
        revoke(*args)
    elif cmd == "post":
        post(args[0], args[1], args[2], args[3:])
    elif cmd == "states":
        states(*args)
    elif cmd == "crls":
        crls(*args)
    else:
        sys.exit(f"orden desconocida: {cmd}")


if __name__ == "__main__":
    main()
