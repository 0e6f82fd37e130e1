// Deciding a received comprobante: official schema, XAdES signature (chain to
// this environment's CAs, validity at signing time, revocation), signer ==
// emisor, and the clave and emisor of the XML matching the envelope. The
// answer is a MensajeHacienda v4.4 signed by the service, listing every
// reason in Spanish.
#pragma once

#include "api/reception.h"
#include "api/schema.h"
#include "keys/authorities.h"
#include "keys/config.h"
#include "keys/revocation_check.h"

namespace llavero::api {

class ComprobanteProcessor {
 public:
  ComprobanteProcessor(Store& store, CaKeyring& keyring, RevocationChecker& revocation,
                       const SchemaValidator& schemas, const Config& config);

  // Loads or issues the certificate that signs MensajeHacienda in each
  // environment (needs the CA passphrase).
  Status start();

  Result<ProcessingResult> process(const ComprobanteRecord& comprobante);

 private:
  struct Signer {
    ossl::X509Ptr certificate;
    ossl::PKey key;
    std::vector<const X509*> chain;
  };

  Store& store_;
  CaKeyring& keyring_;
  RevocationChecker& revocation_;
  const SchemaValidator& schemas_;
  const Config& config_;
  std::map<Environment, Signer> signers_;
};

}  // namespace llavero::api
