#!/usr/bin/env python3
"""Attacks on a running `llavero serve`, each from a stranger's loopback
address, while a legitimate client at another address keeps working
(issue 12). Each attack prints one line:

    ATAQUE nombre: legitimo ok=N/M (P %) p99=X ms; sin ataque ok=N/M p99=Y ms; ...

and the exit status says whether the legitimate client got at least
--min-success of its requests answered as expected. The shell test asserts on
that; `make bench` prints the same lines as the benchmark.

    abuse.py PORT ATTACK [--user U --password P] [--seconds S]

Attacks:
  sockets     the stranger holds ~2 100 slow or idle sockets, reopening them
  tokens      the stranger floods the token endpoint with random user names
  contrabando one request smuggling a second through Transfer-Encoding
  bloqueo     a stranger's wrong passwords against a taxpayer's API user and
              portal log-in; the owner, from another address, gets in; a
              registered and an unknown identification answer alike
"""
import argparse
import random
import re
import resource
import socket
import string
import sys
import threading
import time
import urllib.parse

LEGIT = "127.0.0.9"


def connect(source, port, timeout=5.0):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    s.settimeout(timeout)
    s.bind((source, 0))
    s.connect(("127.0.0.1", port))
    return s


def exchange(source, port, raw, timeout=10.0):
    """Sends raw bytes, reads the answer until the server closes. Returns
    (status, text); status 0 when there was no answer."""
    try:
        s = connect(source, port, timeout)
        s.sendall(raw)
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
    except OSError:
        return 0, ""
    text = data.decode("latin-1")
    try:
        return int(text.split(" ", 2)[1]), text
    except (IndexError, ValueError):
        return 0, text


def get(path):
    return f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()


def post_form(path, fields):
    body = urllib.parse.urlencode(fields).encode()
    return (f"POST {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
            f"Content-Type: application/x-www-form-urlencoded\r\n"
            f"Content-Length: {len(body)}\r\n\r\n").encode() + body


TOKEN_PATH = "/auth/realms/rut-stag/protocol/openid-connect/token"


class Legit:
    """The legitimate client: one request after another, round robin over
    what a taxpayer and a relying party do, each with the status it expects."""

    def __init__(self, port, user, password):
        self.port = port
        self.requests = [("healthz", get("/healthz"), 200),
                         ("crl", get("/stag/intermediate-pf.crl"), 200),
                         ("portal", get("/ingresar"), 200)]
        if user:
            self.requests.append(("token", post_form(TOKEN_PATH, {
                "grant_type": "password", "client_id": "api-stag",
                "username": user, "password": password}), 200))

    def run(self, seconds, pause=0.02):
        results = []  # (name, ok, seconds)
        end = time.time() + seconds
        i = 0
        while time.time() < end:
            name, raw, expected = self.requests[i % len(self.requests)]
            i += 1
            t0 = time.time()
            status, _ = exchange(LEGIT, self.port, raw)
            results.append((name, status == expected, time.time() - t0, status))
            time.sleep(pause)
        return results


def summary(results):
    ok = sum(1 for r in results if r[1])
    times = sorted(r[2] for r in results)
    p99 = times[min(len(times) - 1, int(len(times) * 0.99))] * 1000 if times else 0
    return ok, len(results), p99


def p99_by_kind(results):
    kinds = {}
    for name, _, seconds, _ in results:
        kinds.setdefault(name, []).append(seconds)
    out = []
    for name, times in sorted(kinds.items()):
        times.sort()
        out.append(f"{name}={times[min(len(times) - 1, int(len(times) * 0.99))] * 1000:.0f}")
    return " ".join(out)


def failures(results):
    bad = {}
    for name, good, _, status in results:
        if not good:
            bad[(name, status)] = bad.get((name, status), 0) + 1
    return ", ".join(f"{n}→{s}: {c}" for (n, s), c in sorted(bad.items())) or "ninguna"


def attack_sockets(port, stop, stats):
    """Holds as many sockets as it can from 127.0.0.2, half idle, half
    dripping a header a byte at a time; reopens each one the server closes."""
    held = []
    opened = refused = 0
    while not stop.is_set():
        while len(held) < 2100 and not stop.is_set():
            try:
                s = connect("127.0.0.2", port, timeout=0.5)
                s.setblocking(False)
                held.append(s)
                opened += 1
            except OSError:
                refused += 1
                break
        keep = []
        for s in held:
            try:
                s.send(b"G")
                keep.append(s)
            except OSError:
                s.close()
        held = keep
        time.sleep(1.0 / 140 * 10)
    for s in held:
        s.close()
    stats.update(opened=opened, refused=refused)


def attack_tokens(port, stop, stats):
    """32 threads from 127.0.0.3 posting password grants for random users."""
    counts = {}
    lock = threading.Lock()

    def worker():
        while not stop.is_set():
            user = "".join(random.choice(string.ascii_lowercase) for _ in range(12))
            status, _ = exchange("127.0.0.3", port, post_form(TOKEN_PATH, {
                "grant_type": "password", "client_id": "api-stag",
                "username": f"cpf-{user}@stag.comprobanteselectronicos.go.cr",
                "password": "x" * 20}), timeout=15)
            with lock:
                counts[status] = counts.get(status, 0) + 1

    threads = [threading.Thread(target=worker) for _ in range(32)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats.update(answers=dict(sorted(counts.items())))


def smuggling(port):
    raw = (b"POST /healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked, identity\r\n"
           b"Content-Length: 5\r\n\r\n0\r\n\r\nGET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
    status, text = exchange("127.0.0.4", port, raw)
    answers = text.count("HTTP/1.1 ")
    print(f"CONTRABANDO: estado {status}, respuestas {answers}")
    return status == 400 and answers == 1


def patient_exchange(source, port, raw):
    """exchange(), waiting out the password routes' rate per address (429):
    this attack is about what a wrong password counts, not about the rate."""
    for _ in range(20):
        status, text = exchange(source, port, raw)
        if status != 429:
            break
        time.sleep(0.5)
    return status, text


def portal_login(source, port, identification, password):
    """GET /ingresar for its CSRF cookie, then POST it. Returns (status,
    location, flash) where flash is the decoded llavero_aviso cookie."""
    _, page = exchange(source, port, get("/ingresar"))
    cookie = re.search(r"Set-Cookie: llavero_ingreso=([^;\r\n]*)", page)
    csrf = re.search(r'name="csrf" value="([^"]*)"', page)
    if not cookie or not csrf:
        return 0, "", {}
    raw = post_form("/ingresar", {"csrf": csrf.group(1), "identificacion": identification,
                                  "contrasena": password})
    raw = raw.replace(b"Connection: close\r\n",
                      f"Connection: close\r\nCookie: llavero_ingreso={cookie.group(1)}\r\n".encode())
    status, text = patient_exchange(source, port, raw)
    location = re.search(r"Location: ([^\r\n]*)", text)
    flash = re.search(r"Set-Cookie: llavero_aviso=([^;\r\n]*)", text)
    fields = dict(urllib.parse.parse_qsl(flash.group(1))) if flash else {}
    return status, location.group(1) if location else "", fields


def lockout(port, user, password, identification, portal_password):
    """A stranger (127.0.0.3) who knows the cédula and the API user name
    types ten wrong passwords for each; the owner (LEGIT) then logs in."""
    stranger = "127.0.0.3"

    def token(source, pw):
        status, _ = patient_exchange(source, port, post_form(TOKEN_PATH, {
            "grant_type": "password", "client_id": "api-stag", "username": user, "password": pw}))
        return status
    api_wrong = [token(stranger, f"equivocada-{i}") for i in range(10)]
    api_stranger = token(stranger, password)
    api_owner = token(LEGIT, password)
    portal_wrong = [portal_login(stranger, port, identification, f"equivocada-{i}")[2].get("error")
                    for i in range(10)]
    portal_stranger = portal_login(stranger, port, identification, portal_password)
    portal_owner = portal_login(LEGIT, port, identification, portal_password)

    # Enumeration: the same seven wrong passwords, from a third address, for the
    # registered identification and for one nobody has; what the page will say.
    def answers(ident):
        out = []
        for i in range(7):
            status, location, flash = portal_login("127.0.0.4", port, ident, f"mala-{i}")
            out.append((status, location, flash.get("error"), flash.get("intentos")))
        return out
    registered, unknown = answers(identification), answers("2-0999-0999")

    print(f"BLOQUEO: API extraño 10 fallos {sorted(set(api_wrong))}, luego la correcta → {api_stranger}; "
          f"dueño desde otra dirección → {api_owner}. Portal extraño {sorted(set(map(str, portal_wrong)))}, "
          f"luego la correcta → {portal_stranger[1]} ({portal_stranger[2].get('error')}); "
          f"dueño → {portal_owner[1]}. Registrada y desconocida responden igual: {registered == unknown}")
    return (set(api_wrong) == {401} and api_stranger == 401 and api_owner == 200 and
            portal_stranger[1] == "/ingresar" and portal_stranger[2].get("error") == "demasiados" and
            portal_owner[1] == "/portal" and registered == unknown)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("port", type=int)
    p.add_argument("attack", choices=["sockets", "tokens", "contrabando", "bloqueo"])
    p.add_argument("--id", default="")
    p.add_argument("--portal-password", default="")
    p.add_argument("--user", default="")
    p.add_argument("--password", default="")
    p.add_argument("--seconds", type=float, default=12)
    p.add_argument("--min-success", type=float, default=0.99)
    a = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))

    if a.attack == "contrabando":
        sys.exit(0 if smuggling(a.port) else 1)
    if a.attack == "bloqueo":
        sys.exit(0 if lockout(a.port, a.user, a.password, a.id, a.portal_password) else 1)

    legit = Legit(a.port, a.user, a.password)
    quiet = legit.run(a.seconds / 3)
    stop = threading.Event()
    stats = {}
    target = attack_sockets if a.attack == "sockets" else attack_tokens
    attacker = threading.Thread(target=target, args=(a.port, stop, stats))
    attacker.start()
    time.sleep(1.5)  # let the attack take hold
    under = legit.run(a.seconds)
    stop.set()
    attacker.join()
    q_ok, q_n, q_p99 = summary(quiet)
    u_ok, u_n, u_p99 = summary(under)
    share = u_ok / u_n if u_n else 0
    ratio = u_p99 / q_p99 if q_p99 else 0
    print(f"ATAQUE {a.attack}: legitimo ok={u_ok}/{u_n} ({share * 100:.1f} %) "
          f"p99={u_p99:.1f} ms; sin ataque ok={q_ok}/{q_n} p99={q_p99:.1f} ms; "
          f"p99 bajo ataque / sin ataque = {ratio:.2f}; p99 por tipo (ms) bajo ataque: "
          f"{p99_by_kind(under)}, sin ataque: {p99_by_kind(quiet)}; fallas: {failures(under)}; "
          f"atacante: {stats}")
    sys.exit(0 if share >= a.min_success and q_ok == q_n else 1)


if __name__ == "__main__":
    main()
