#!/usr/bin/env python3
"""Helpers of scripts/bench-growth.sh (issue 13, growth of the store).

  lua     wrk scripts asking OCSP for given serials: each DER request is a copy
          of a request made by `openssl ocsp` for one CA, its serial replaced;
          wrk's threads take every THREADS-th path, so no two ask the same
          serial until the list wraps.
  report  the table of figures: near-empty store, full store, their ratio,
          and whether the cost grew faster than the logarithm of the store.
"""
import argparse
import base64
import math
import sys
import urllib.parse


def lua(args):
    templates = {}
    for item in args.plantilla:
        name, path = item.split("=", 1)
        templates[name] = open(path, "rb").read()
    old = bytes.fromhex(args.serie_plantilla)
    paths = []
    for line in open(args.series):
        parts = line.split()
        if len(parts) != 2:
            continue
        name, serial = parts
        new = bytes.fromhex(serial.rjust(32, "0"))
        der = templates[name]
        if der.count(old) != 1 or len(new) != len(old) or new[0] & 0x80:
            sys.exit(f"no se puede poner la serie {serial} en la plantilla {name}")
        body = base64.b64encode(der.replace(old, new)).decode()
        paths.append(f"/{args.prefijo[name]}/{urllib.parse.quote(body, safe='')}")
    if not paths:
        sys.exit("no hay series")
    with open(args.salida, "w") as out:
        out.write("local paths = {\n" + ",\n".join(f'"{p}"' for p in paths) + "}\n")
        out.write(f"local step = {args.threads}\n")
        out.write(
            "local counter = 0\n"
            "function setup(thread)\n"
            "  thread:set(\"tid\", counter)\n"
            "  counter = counter + 1\n"
            "end\n"
            "local i = nil\n"
            "request = function()\n"
            "  if i == nil then i = tid end\n"
            "  local p = paths[(i % #paths) + 1]\n"
            "  i = i + step\n"
            "  return wrk.format(\"GET\", p)\n"
            "end\n")
    with open(args.salida + ".first", "w") as out:
        out.write(paths[0] + "\n")


# figure -> (label, unit, kind). kind: "time" (a cost: lower is better),
# "rate" (higher is better; its cost is 1/rate), "per-entry" (a cost per CRL
# line, which must stay flat), "info" (shown, not judged).
FIGURES = [
    ("crl_pruebas_ms", "CRL pruebas pf: llavero crl (mejor de 3)", "ms", "info"),
    ("crl_pruebas_entries", "  líneas de esa CRL", "", "info"),
    ("crl_pruebas_us_per_entry", "  por línea", "µs", "per-entry"),
    ("crl_produccion_ms", "CRL producción pf (0 líneas; N vencidas)", "ms", "time"),
    ("crl_get_ms", "GET CRL pruebas pf en memoria (mejor de 3)", "ms", "info"),
    ("startup_ms", "llavero serve hasta /healthz (construye las CRL)", "ms", "info"),
    ("ocsp_cold_rps", "OCSP series al azar, caché fría", "req/s", "rate"),
    ("ocsp_cold_p99", "  p99", "ms", "time"),
    ("ocsp_warm_rps", "OCSP series al azar, caché caliente", "req/s", "rate"),
    ("ocsp_warm_p99", "  p99", "ms", "time"),
    ("generar_p99", "Generar (portal) p99", "ms", "time"),
    ("generar_p50", "  p50", "ms", "info"),
    ("generar_server_cpu_s", "  CPU del servidor en esa fase", "s", "time"),
    ("generar_crls", "  CRL hechas en esa fase (todas las CA)", "", "info"),
    ("reception_dps", "Recepción: comprobantes/s hasta aceptado", "doc/s", "rate"),
]


def report(args):
    values = {}
    for line in open(args.resultados):
        parts = line.split()
        if len(parts) == 3:
            values[(parts[0], parts[1])] = float(parts[2])
    rows_small, rows_big = args.filas_chico, args.filas_grande
    bound = math.log2(rows_big) / math.log2(rows_small)
    print(f"\nAlmacén casi vacío: {rows_small} certificados; lleno: {rows_big} certificados.")
    print(f"Cota logarítmica: log2({rows_big}) / log2({rows_small}) = {bound:.2f}; "
          "un costo que crece más que eso se marca.\n")
    print(f"{'':<52}{'casi vacío':>12}{'lleno':>12}{'lleno/vacío':>13}")
    worse = []
    for key, label, unit, kind in FIGURES:
        small, big = values.get((key, "chico")), values.get((key, "grande"))
        if small is None or big is None:
            continue
        ratio = big / small if small else float("inf")
        mark = ""
        # A cost ratio: time grows by ratio, a rate's cost by 1/ratio.
        cost = ratio if kind in ("time", "per-entry") else (1 / ratio if kind == "rate" and ratio else None)
        if kind == "per-entry" and cost is not None and cost > bound:
            mark = "  ← crece por línea"
        elif kind in ("time", "rate") and cost is not None and cost > bound:
            mark = "  ← MÁS QUE LOGARÍTMICO"
        if mark:
            worse.append(label.strip())
        name = f"{label} ({unit})" if unit else label
        print(f"{name:<52}{small:>12.2f}{big:>12.2f}{ratio:>13.2f}{mark}")
    print()
    if worse:
        print("Crecen más que el logaritmo del almacén: " + "; ".join(worse))
    else:
        print("Ningún costo medido creció más que el logaritmo del almacén.")


def main():
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p = sub.add_parser("lua")
    p.add_argument("--plantilla", action="append", required=True, help="NOMBRE=archivo DER")
    p.add_argument("--prefijo", action="append", required=True, help="NOMBRE=ruta sin /")
    p.add_argument("--serie-plantilla", required=True)
    p.add_argument("--series", required=True, help="líneas 'NOMBRE SERIE_HEX'")
    p.add_argument("--threads", type=int, required=True)
    p.add_argument("--salida", required=True)
    p = sub.add_parser("report")
    p.add_argument("--resultados", required=True)
    p.add_argument("--filas-chico", type=int, required=True)
    p.add_argument("--filas-grande", type=int, required=True)
    args = parser.parse_args()
    if args.command == "lua":
        args.prefijo = dict(item.split("=", 1) for item in args.prefijo)
        lua(args)
    else:
        report(args)


if __name__ == "__main__":
    main()
