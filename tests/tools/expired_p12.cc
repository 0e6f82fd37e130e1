// Test-only: issues an already expired key for a taxpayer, the way `llave
// generar` issues a fresh one, but with notBefore years in the past, so that
// tests/api/reception_test.sh can sign with a certificate that is in the
// store, chains to this installation's CA and is past its notAfter.
//
//   llavero_test_expired_p12 DATA ID AMBIENTE SALIDA.p12 [AÑOS_ATRAS]
//
// The PIN is 1234. The CA passphrase comes from DATA/ca-passphrase (or
// LLAVERO_CA_PASSPHRASE). The certificate becomes the taxpayer's active key
// of that environment (the previous one, if any, is revoked as superseded,
// as the store does for any activation). Prints the serial (hex).
#include <fmt/format.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>

#include "app/data_dir.h"
#include "id/environment.h"
#include "id/identification.h"
#include "service/key_service.h"
#include "pki/p12.h"
#include "pki/pin.h"
#include "service/authorities.h"
#include "util/clock.h"

using namespace llavero;
using namespace llavero::app;
using namespace llavero::service;

namespace {

template <typename T>
T must(Result<T> r, std::string_view what) {
  if (!r) {
    std::cerr << "llavero_test_expired_p12: " << what << ": " << r.error().message << "\n";
    std::exit(1);
  }
  return std::move(*r);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 5 || argc > 6) {
    std::cerr << "uso: llavero_test_expired_p12 DATA ID AMBIENTE SALIDA.p12 [AÑOS_ATRAS]\n";
    return 2;
  }
  const std::string data = argv[1], id_text = argv[2], env_text = argv[3], output = argv[4];
  const int years_back = argc == 6 ? std::atoi(argv[5]) : 5;
  if (years_back < 5) {
    std::cerr << "AÑOS_ATRAS debe ser al menos 5 (un certificado dura 4 años)\n";
    return 2;
  }

  auto dir = must(DataDir::open(data), "directorio de datos");
  const Environment env = must(parse_environment(env_text), "ambiente");
  const Identification id = must(Identification::parse(id_text), "identificación");
  Store& store = dir->store();
  auto taxpayer = must(store.find_taxpayer(id.digits()), "contribuyente");
  if (!taxpayer) {
    std::cerr << "llavero_test_expired_p12: no existe el contribuyente " << id.printed() << "\n";
    return 1;
  }

  CaKeyring keyring(store, must(dir->ca_passphrase(), "frase de las CA"));
  KeyService keys(store, dir->config(), keyring);

  // Midday, years_back years ago: notAfter (4 years − 1 day later) is long past.
  const UnixSeconds not_before = now_seconds() - static_cast<UnixSeconds>(years_back) * 366 * 86400;
  const Pin pin = must(Pin::parse("1234"), "PIN");
  auto write_p12 = [&](const IssuedKey& k) -> Status {
    auto p12 = build_p12(*k.key, *k.certificate, k.chain, k.common_name, pin,
                         P12Options{P12Profile::kCompatible, 2048});
    if (!p12) return p12.error();
    std::ofstream out(output, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(p12->data()),
              static_cast<std::streamsize>(p12->size()));
    out.close();
    if (!out) return make_error("salida_invalida", "no se pudo escribir " + output);
    return Ok{};
  };
  auto issued = must(keys.issue(IssueOrder{*taxpayer, env, false,
                                           "certificado vencido (prueba)", not_before},
                                write_p12, "prueba"),
                     "emitir el certificado");
  const std::string serial_hex = issued.key.serial_hex;
  std::cout << serial_hex << "\n";
  return 0;
}
