#!/usr/bin/env python3
"""A reception client that speaks exactly as CRLibre/API_Hacienda does
(api/contrib/token/mhToken.php, send/send.php, consultar/consultar.php):

  - token: form-encoded POST with client_id, client_secret (empty),
    grant_type=password, username, password;
  - send: JSON {clave, fecha, emisor{...}, receptor{...}, comprobanteXml}
    with "Authorization: bearer <token>";
  - on a 400 whose X-Error-Cause says "ya fue recibido anteriormente", poll
    instead of failing (as the Odoo l10n_cr modules do);
  - poll GET …/recepcion/{clave} until ind-estado is aceptado, rechazado or
    error, and decode respuesta-xml.

  cliente_php.py BASE_URL RECEPCION_PATH REALM CLIENT USER PASSWORD ENVELOPE [HOST]

Prints one line per step ("token 200", "send 202", "send-again duplicate",
"estado aceptado", "mensaje <EstadoMensaje>") and exits non-zero on anything
the PHP client would not accept.
"""
import base64
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request


def call(method, url, body=None, headers=None, host=None):
    headers = dict(headers or {})
    if host:
        headers["Host"] = host
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def main():
    base, path, realm, client, user, password, envelope = sys.argv[1:8]
    host = sys.argv[8] if len(sys.argv) > 8 else None
    form = urllib.parse.urlencode({"client_id": client, "client_secret": "", "grant_type": "password",
                                   "username": user, "password": password}).encode()
    status, _, body = call("POST", f"{base}/auth/realms/{realm}/protocol/openid-connect/token", form,
                           {"Content-Type": "application/x-www-form-urlencoded"})
    print("token", status)
    if status != 200:
        return 1
    token = json.loads(body)
    for key in ("access_token", "refresh_token", "id_token", "expires_in", "refresh_expires_in"):
        if key not in token:
            print("token sin", key)
            return 1
    auth = {"Authorization": "bearer " + token["access_token"], "Content-Type": "application/json"}
    data = open(envelope, "rb").read()
    clave = json.loads(data)["clave"]
    for attempt in ("send", "send-again"):
        status, headers, body = call("POST", base + path, data, auth, host)
        cause = {k.lower(): v for k, v in headers.items()}.get("x-error-cause", "")
        if status == 202:
            print(attempt, 202)
        elif status == 400 and cause.find("ya fue recibido anteriormente") != -1:
            print(attempt, "duplicate", cause)
        else:
            print(attempt, status, cause)
            return 1
    for _ in range(150):
        status, _, body = call("GET", f"{base}{path}/{clave}",
                               headers={"Authorization": "Bearer " + token["access_token"]}, host=host)
        if status == 200:
            answer = json.loads(body)
            state = answer.get("ind-estado")
            if state in ("aceptado", "rechazado", "error"):
                print("estado", state)
                if "nota" in answer:
                    print("campo no estándar: nota")
                    return 1
                xml = base64.b64decode(answer["respuesta-xml"]).decode()
                print("mensaje", re.search(r"<EstadoMensaje>(\w+)</EstadoMensaje>", xml).group(1))
                return 0
        time.sleep(0.2)
    print("sin estado final")
    return 1


if __name__ == "__main__":
    sys.exit(main())
