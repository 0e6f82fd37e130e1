// Whether xmlsec1 (an implementation other than ours) verifies a document
// signed with a key of a test installation's pruebas hierarchy (persona
// física or jurídica), trusting only its root. Returns the command run, for
// the failure message.
#pragma once

#include <fmt/format.h>
#include <openssl/pem.h>

#include <cstdlib>
#include <fstream>
#include <string>

#include "pki/openssl.h"
#include "testing.h"

namespace llavero::testing {

struct XmlsecResult {
  bool verified = false;
  std::string command;
};

inline XmlsecResult xmlsec_verify(Installation& inst, const std::string& xml) {
  TempDir dir;
  std::ofstream(dir.path() / "documento.xml") << xml;
  auto write_pem = [&](const std::string& name, const Bytes& der) {
    const auto path = dir.path() / name;
    auto cert = ossl::x509_from_der(der);
    BIO* bio = BIO_new_file(path.c_str(), "w");
    PEM_write_bio_X509(bio, cert->get());
    BIO_free(bio);
    return path.string();
  };
  std::string pems;
  auto authorities = inst.store->authorities();
  if (!authorities) return {false, authorities.error().message};
  for (const AuthorityRecord& a : *authorities) {
    if (a.environment != Environment::kPruebas) continue;
    const std::string name(ca_kind_name(a.kind));
    pems += fmt::format(" --{}-pem {}", a.kind == CaKind::kRoot ? "trusted" : "untrusted",
                        write_pem(name + ".pem", a.certificate_der));
  }
  XmlsecResult r;
  r.command = fmt::format(
      "xmlsec1 --verify --id-attr:Id 'http://uri.etsi.org/01903/v1.3.2#:SignedProperties'{} {} "
      ">/dev/null 2>&1",
      pems, (dir.path() / "documento.xml").string());
  r.verified = std::system(r.command.c_str()) == 0;
  return r;
}

}  // namespace llavero::testing
