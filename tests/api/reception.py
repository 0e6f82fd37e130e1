#!/usr/bin/env python3
"""Helpers of tests/api/reception_test.sh: what is awkward in bash.

  reception.py doc SRC OUT NUMERO [CODIGO]
        copies a v4.4 example with a new consecutivo número (10 digits) and a
        matching clave (506 + DDMMYY + id + consecutivo + situación +
        security code, CODIGO or derived from NUMERO); changes only the text
        of <Clave> and <NumeroConsecutivo> (or NumeroConsecutivoReceptor of a
        MensajeReceptor, whose clave is the invoice's and is left alone);
        prints the clave
  reception.py fechar SRCDIR OUTDIR
        copies the v4.4 examples (*.xml) dated now: every 2026-11-26 time
        (FechaEmision, FechaEmisionDoc, FechaEmisionIR) becomes two minutes
        ago in Costa Rica time, and the DDMMYY of every clave (506261126…)
        that day's; prints "DDMMYY FECHA". The reception's FechaEmision rule
        (at most 30 days old) would otherwise reject the examples one day.
  reception.py drop SRC OUT ELEMENT
        copies SRC without the first <ELEMENT>…</ELEMENT> (and its line)
  reception.py grande SRC OUT N [relleno]
        a factura with N copies of the example's second line (1 x 40 000 +
        13 % IVA), renumbered, and the totals of ResumenFactura to match;
        with "relleno", each line also carries what v4.4 lets a line carry
        (a Detalle of 200 characters, 5 CodigoComercial, 4 NumeroVINoSerie):
        about 1.6 KB a line, so 1000 lines (the schema's maximum) make a
        1.6 MB factura
  reception.py envelope XML CLAVE FECHA ETIPO ENUM [RTIPO RNUM] [consecutivoReceptor=X]
        the JSON of a POST …/recepcion (comprobanteXml = base64 of XML)
  reception.py json FILE KEY=VALUE...
        rewrites fields of a JSON envelope (VALUE is a JSON literal, or text)
  reception.py tamper SRC OUT contenido|fecha_firma|politica
        changes ONE character: a digit of <Cantidad> outside the signature,
        a digit of xades:SigningTime (an earlier time), or the first
        character of the DigestValue inside xades:SigPolicyHash; prints
        "before -> after"
  reception.py unsign SRC
        prints SRC with its ds:Signature cut out (to compare with the input)
  reception.py respuesta GETJSON OUT
        writes the base64-decoded respuesta-xml of a GET answer to OUT
  reception.py jwt-part TOKEN header|payload   the decoded JSON of a part
  reception.py forge TOKEN                     the token with exp + 1 day
                                               (signature left as it was)
  reception.py alg-none TOKEN                  the payload with alg "none"
  reception.py jwks-verify TOKEN JWKSFILE      checks the RS256 signature
        with the JWK whose kid the header names (pure Python RSA);
        prints "ok" or why not
  reception.py huge PORT PATH TOKEN MIB        POSTs MIB MiB of JSON-looking
        bytes on a raw socket; prints the status line (or CLOSED/TIMEOUT)
"""
import base64
import hashlib
import json
import re
import socket
import sys
import time


def b64url_decode(text):
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data):
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def read(path):
    with open(path, "rb") as f:
        return f.read()


def write(path, data):
    with open(path, "wb") as f:
        f.write(data)


def element_text(data, name):
    m = re.search(rb"<(?:\w+:)?" + name + rb">([^<]*)</(?:\w+:)?" + name + rb">", data)
    return m


def cmd_doc(src, out, numero, codigo=None):
    data = read(src)
    numero = "%010d" % int(numero)
    mr = re.search(rb"<MensajeReceptor[\s>]", data) is not None
    if mr:
        m = element_text(data, b"NumeroConsecutivoReceptor")
        old = m.group(1).decode()
        new = old[:10] + numero
        data = data[: m.start(1)] + new.encode() + data[m.end(1):]
        clave = element_text(data, b"Clave").group(1).decode()
    else:
        mc = element_text(data, b"NumeroConsecutivo")
        old_consecutivo = mc.group(1).decode()
        consecutivo = old_consecutivo[:10] + numero
        data = data[: mc.start(1)] + consecutivo.encode() + data[mc.end(1):]
        mk = element_text(data, b"Clave")
        old_clave = mk.group(1).decode()
        assert old_clave[21:41] == old_consecutivo, "la clave del ejemplo no tiene su consecutivo"
        if codigo is None:
            codigo = "%08d" % (int(hashlib.sha256(numero.encode()).hexdigest(), 16) % 10**8)
        clave = old_clave[:21] + consecutivo + old_clave[41] + codigo
        assert len(clave) == 50 and clave.isdigit()
        data = data[: mk.start(1)] + clave.encode() + data[mk.end(1):]
    write(out, data)
    print(clave)


def cmd_fechar(src_dir, out_dir):
    import datetime
    import os
    cr = datetime.timezone(datetime.timedelta(hours=-6))
    now = datetime.datetime.now(cr) - datetime.timedelta(minutes=2)
    ddmmaa = now.strftime("%d%m%y")
    fecha = now.strftime("%Y-%m-%dT%H:%M:%S-06:00")
    os.makedirs(out_dir, exist_ok=True)
    for name in sorted(os.listdir(src_dir)):
        if not name.endswith(".xml"):
            continue
        data = read(os.path.join(src_dir, name))
        data = re.sub(rb"2026-11-26T\d\d:\d\d:\d\d-06:00", fecha.encode(), data)
        data = re.sub(rb"(?<!\d)506261126(?=\d{41}(?!\d))", b"506" + ddmmaa.encode(), data)
        write(os.path.join(out_dir, name), data)
    print(ddmmaa, fecha)


def cmd_drop(src, out, name):
    data = read(src)
    name = name.encode()
    m = re.search(rb"\n[ \t]*<" + name + rb">.*?</" + name + rb">", data, re.S)
    if not m:
        sys.exit("no element " + name.decode())
    write(out, data[: m.start()] + data[m.end():])


def cmd_grande(src, out, n, relleno=None):
    n = int(n)
    data = read(src)
    lines = re.findall(rb"[ \t]*<LineaDetalle>.*?</LineaDetalle>\n", data, re.S)
    assert len(lines) == 2, "el ejemplo debía tener dos líneas"
    start = data.index(lines[0])
    end = data.index(lines[1]) + len(lines[1])
    line = lines[1]
    if relleno == "relleno":
        codigos = b"".join(b"      <CodigoComercial><Tipo>04</Tipo><Codigo>INTERNO-%012d</Codigo>"
                           b"</CodigoComercial>\n" % i for i in range(5))
        line = line.replace(b"      <Cantidad>", codigos + b"      <Cantidad>", 1)
        detalle = ("Soporte mensual del sistema de facturación, noviembre 2026. " * 4)[:200]
        series = b"".join(b"      <NumeroVINoSerie>SERIE%012d</NumeroVINoSerie>\n" % i
                          for i in range(4))
        line, count = re.subn(rb"      <Detalle>[^<]*</Detalle>\n",
                              b"      <Detalle>" + detalle.encode() + b"</Detalle>\n" + series, line)
        assert count == 1
    body = b"".join(re.sub(rb"<NumeroLinea>\d+</NumeroLinea>",
                           b"<NumeroLinea>%d</NumeroLinea>" % (i + 1), line) for i in range(n))
    data = data[:start] + body + data[end:]
    venta, iva = 40000 * n, 5200 * n
    for name, value in ((b"TotalServGravados", venta), (b"TotalGravado", venta),
                        (b"TotalVenta", venta), (b"TotalVentaNeta", venta),
                        (b"TotalMontoImpuesto", iva), (b"TotalImpuesto", iva),
                        (b"TotalMedioPago", venta + iva), (b"TotalComprobante", venta + iva)):
        data, count = re.subn(rb"<" + name + rb">[^<]*</" + name + rb">",
                              b"<%s>%d.00000</%s>" % (name, value, name), data)
        assert count == 1, name
    write(out, data)


def cmd_envelope(xml, clave, fecha, etipo, enum, *rest):
    extra = {}
    rest = list(rest)
    for r in list(rest):
        if "=" in r:
            k, v = r.split("=", 1)
            extra[k] = v
            rest.remove(r)
    env = {
        "clave": clave,
        "fecha": fecha,
        "emisor": {"tipoIdentificacion": etipo, "numeroIdentificacion": enum},
    }
    if len(rest) >= 2:
        env["receptor"] = {"tipoIdentificacion": rest[0], "numeroIdentificacion": rest[1]}
    env.update(extra)
    env["comprobanteXml"] = base64.b64encode(read(xml)).decode()
    print(json.dumps(env))


def cmd_json(path, *assignments):
    d = json.loads(read(path))
    for a in assignments:
        k, v = a.split("=", 1)
        try:
            d[k] = json.loads(v)
        except ValueError:
            d[k] = v
    print(json.dumps(d))


def cmd_tamper(src, out, what):
    data = read(src)
    sig_start = data.find(b"<ds:Signature")
    if what == "contenido":
        m = element_text(data, b"Cantidad")
        assert m and m.start() < sig_start
        i = m.start(1)
        c = data[i:i + 1]
        new = b"2" if c != b"2" else b"3"
    elif what == "fecha_firma":
        m = re.search(rb"<xades:SigningTime>([^<]*)</xades:SigningTime>", data)
        assert m
        value = m.group(1)
        # The rightmost non-zero digit of the minutes or seconds, one less:
        # an earlier time, still within the certificate's validity.
        i = None
        for pos in (18, 17, 15, 14):
            if value[pos:pos + 1] not in (b"0", b""):
                i = m.start(1) + pos
                break
        assert i is not None, value
        new = bytes([data[i] - 1])
    elif what == "politica":
        m = re.search(rb"<xades:SigPolicyHash>.*?<ds:DigestValue>([^<]*)</ds:DigestValue>", data, re.S)
        assert m
        i = m.start(1)
        new = b"E" if data[i:i + 1] != b"E" else b"F"
    else:
        sys.exit("unknown tampering " + what)
    before = data[i:i + 1]
    data = data[:i] + new + data[i + 1:]
    write(out, data)
    print("%s -> %s at byte %d" % (before.decode(), new.decode(), i))


def cmd_unsign(src):
    data = read(src)
    start = data.find(b"<ds:Signature")
    end = data.find(b"</ds:Signature>")
    if start < 0 or end < 0:
        sys.exit("no ds:Signature")
    sys.stdout.buffer.write(data[:start] + data[end + len(b"</ds:Signature>"):])


def cmd_respuesta(path, out):
    d = json.loads(read(path))
    write(out, base64.b64decode(d["respuesta-xml"], validate=True))


def cmd_jwt_part(token, part):
    parts = token.split(".")
    print(json.dumps(json.loads(b64url_decode(parts[0 if part == "header" else 1]))))


def cmd_forge(token):
    h, p, s = token.split(".")
    claims = json.loads(b64url_decode(p))
    claims["exp"] = claims["exp"] + 86400
    print(h + "." + b64url_encode(json.dumps(claims, separators=(",", ":")).encode()) + "." + s)


def cmd_alg_none(token):
    _, p, _ = token.split(".")
    header = b64url_encode(json.dumps({"alg": "none", "typ": "JWT"}).encode())
    print(header + "." + p + ".")


def cmd_jwks_verify(token, jwks_path):
    h, p, s = token.split(".")
    header = json.loads(b64url_decode(h))
    keys = json.loads(read(jwks_path))["keys"]
    key = next((k for k in keys if k.get("kid") == header.get("kid")), None)
    if key is None:
        print("no JWK with kid %s" % header.get("kid"))
        return
    if header.get("alg") != "RS256" or key.get("kty") != "RSA":
        print("alg %s / kty %s" % (header.get("alg"), key.get("kty")))
        return
    n = int.from_bytes(b64url_decode(key["n"]), "big")
    e = int.from_bytes(b64url_decode(key["e"]), "big")
    k = (n.bit_length() + 7) // 8
    em = pow(int.from_bytes(b64url_decode(s), "big"), e, n).to_bytes(k, "big")
    digest_info = bytes.fromhex("3031300d060960864801650304020105000420")
    t = digest_info + hashlib.sha256((h + "." + p).encode()).digest()
    expected = b"\x00\x01" + b"\xff" * (k - len(t) - 3) + b"\x00" + t
    print("ok" if em == expected else "signature does not verify")


def cmd_huge(port, path, token, mib):
    size = int(float(mib) * 1024 * 1024)
    head = ("POST %s HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: bearer %s\r\n"
            "Content-Type: application/json\r\nContent-Length: %d\r\n\r\n" % (path, token, size)).encode()
    s = socket.create_connection(("127.0.0.1", int(port)), timeout=20)
    data = b""
    try:
        s.sendall(head)
        chunk = b'{"clave":"' + b"1" * 65536
        sent = 0
        s.setblocking(False)
        deadline = time.monotonic() + 20
        while sent < size and time.monotonic() < deadline:
            try:
                got = s.recv(4096)
                if got:
                    data += got
                    break
                break  # closed
            except BlockingIOError:
                pass
            except OSError:
                break
            try:
                sent += s.send(chunk[: min(len(chunk), size - sent)])
            except BlockingIOError:
                time.sleep(0.01)
            except OSError:
                break
        s.setblocking(True)
        s.settimeout(10)
        while b"\r\n" not in data:
            got = s.recv(4096)
            if not got:
                break
            data += got
    except socket.timeout:
        print("TIMEOUT")
        return
    except OSError:
        pass
    print(data.split(b"\r\n", 1)[0].decode("latin-1") if data else "CLOSED")


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    handlers = {
        "doc": cmd_doc, "fechar": cmd_fechar, "drop": cmd_drop, "grande": cmd_grande, "envelope": cmd_envelope, "json": cmd_json,
        "tamper": cmd_tamper, "unsign": cmd_unsign, "respuesta": cmd_respuesta,
        "jwt-part": cmd_jwt_part, "forge": cmd_forge, "alg-none": cmd_alg_none,
        "jwks-verify": cmd_jwks_verify, "huge": cmd_huge,
    }
    if cmd not in handlers:
        sys.exit("unknown command " + cmd)
    handlers[cmd](*args)


if __name__ == "__main__":
    main()
