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
#include "pki/issue.h"
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
  auto issuer = must(keyring.unlocked(env, issuing_ca_for(id.type())), "CA emisora");
  const Authority* root = must(keyring.certificate(env, CaKind::kRoot), "raíz");

  auto key = must(ossl::generate_rsa(2048), "llave RSA");
  const Bytes serial = must(random_serial(), "serie");
  const std::int64_t certificate_id =
      must(store.reserve_serial(
               SerialReservation{issuer.authority_id, serial_to_hex(serial), taxpayer->id, env}),
           "reservar la serie");

  // Midday, years_back years ago: notAfter (4 years − 1 day later) is long past.
  const UnixSeconds not_before = now_seconds() - static_cast<UnixSeconds>(years_back) * 366 * 86400;
  const TaxpayerSubject subject{id, taxpayer->nombre, taxpayer->apellidos};
  IssueRequest request{issuer.authority,
                       key.get(),
                       subject,
                       serial,
                       not_before,
                       dir->config().base_url,
                       dir->config().strict_profile};
  auto cert = must(issue_taxpayer_certificate(request), "emitir el certificado");
  const UnixSeconds not_after = taxpayer_not_after(not_before);

  const X509* chain[] = {issuer.authority->certificate.get(), root->certificate.get()};
  const Pin pin = must(Pin::parse("1234"), "PIN");
  const Bytes p12 = must(build_p12(*key, *cert, chain, taxpayer_common_name(subject), pin,
                                   P12Options{P12Profile::kCompatible, 2048}),
                         "armar el .p12");

  Bytes der = must(ossl::x509_to_der(*cert), "DER del certificado");
  must(store.activate_certificate(
           Activation{certificate_id, false, std::move(der), format_utc(not_before),
                      format_utc(not_after)},
           AuditEvent{"prueba", "llave.generar", id.digits(),
                      fmt::format("ambiente={} serie={} certificado vencido (prueba)",
                                  environment_name(env), serial_to_hex(serial))}),
       "activar el certificado");

  std::ofstream out(output, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(p12.data()), static_cast<std::streamsize>(p12.size()));
  out.close();
  if (!out) {
    std::cerr << "llavero_test_expired_p12: no se pudo escribir " << output << "\n";
    return 1;
  }
  std::cout << serial_to_hex(serial) << "\n";
  return 0;
}
