// Deciding a received comprobante: official schema, XAdES signature (chain to
// this environment's CAs or to an extra root of the data directory's
// confianza/ folder, validity at signing time, revocation), signer ==
// emisor, and the clave and emisor of the XML matching the envelope. The
// answer is a MensajeHacienda v4.4 signed by the service, listing every
// reason in Spanish.
#pragma once

#include "service/authorities.h"
#include "service/config.h"
#include "service/reception.h"
#include "service/revocation_check.h"
#include "xml/schema.h"

namespace llavero::service {

class ComprobanteProcessor {
 public:
  ComprobanteProcessor(Store& store, CaKeyring& keyring, RevocationChecker& revocation,
                       const xml::SchemaValidator& schemas, const Config& config);

  // Loads or issues the certificate that signs MensajeHacienda in each
  // environment (needs the CA passphrase).
  Status start();

  // Roots trusted besides this installation's CAs, in both environments
  // (app/extra_roots.h); intermediates among them only link.
  void trust_also(std::vector<ossl::X509Ptr> certificates);

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
  const xml::SchemaValidator& schemas_;
  const Config& config_;
  std::map<Environment, Signer> signers_;
  std::vector<ossl::X509Ptr> extra_trust_;
};

}  // namespace llavero::service
