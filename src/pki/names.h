// Who is who in the hierarchy: which CA issues to whom (the kinds of CA are
// in id/ca_kind.h), the CAs' distinguished names
// (docs/certificates.md, configurable), the taxpayer subject, and the URLs a certificate
// points relying parties to.
#pragma once

#include <string>
#include <string_view>

#include "id/ca_kind.h"
#include "id/environment.h"
#include "id/identification.h"
#include "pki/openssl.h"

namespace llavero {

// The issuing CA of an identification type: Jurídica → pj, all others → pf.
CaKind issuing_ca_for(IdType type);

// The configurable parts of the CA names. In pruebas every CN gets
// `sandbox_suffix` and O becomes `organization + sandbox_suffix`.
struct CaNaming {
  std::string country = "CR";
  std::string organization = "MINISTERIO DE HACIENDA";
  std::string organizational_unit = "DGT";
  std::string root_cn = "CA RAIZ MINISTERIO DE HACIENDA";
  std::string persona_fisica_cn = "CA PERSONA FISICA";
  std::string persona_juridica_cn = "CA PERSONA JURIDICA";
  std::string sandbox_suffix = " - SANDBOX";
  // The certificatePolicies OID of the issuing CAs' certificates; the
  // default, anyPolicy, claims no particular certificate policy.
  std::string policy_oid = "2.5.29.32.0";
};

// The CA subject, encoded C, O, OU, CN. An issuing CA's later generations
// (after `llavero ca renovar`) add " G<n>" to the CN, so that no two CAs of
// the hierarchy share a name.
Result<ossl::X509Name> ca_subject(const CaNaming& naming, Environment env, CaKind kind,
                                  int generation = 1);

// Who a taxpayer certificate is for. `apellidos` is empty for a Jurídica,
// whose `nombre` is the razón social.
struct TaxpayerSubject {
  Identification id;
  std::string nombre;
  std::string apellidos;
};

// The subject of docs/certificates.md: serialNumber, SN, GN, C, O, OU, CN for persons;
// serialNumber, C, O, OU, CN for jurídicas. serialNumber and C are
// PrintableString, the rest UTF8String.
Result<ossl::X509Name> taxpayer_subject(const TaxpayerSubject& subject);
// The CN alone ("nombre apellidos" or the razón social); also the friendlyName.
std::string taxpayer_common_name(const TaxpayerSubject& subject);

// Where a CA's certificate, CRL and OCSP responder are published under the
// public base URL (no trailing slash), e.g.
//   <base>/stag/intermediate-pf-pem.crt, <base>/stag/intermediate-pf.crl,
//   <base>/stag/ocsp/pf.
// The first generation of an issuing CA keeps these names; a later one
// inserts "-g<n>": <base>/stag/intermediate-pf-g2-pem.crt, …-pf-g2.crl,
// <base>/stag/ocsp/pf-g2. The root's CRL (its ARL) is <base>/stag/root.crl.
struct PublicationUrls {
  std::string ca_certificate;
  std::string crl;
  std::string ocsp;
};
PublicationUrls publication_urls(std::string_view base_url, Environment env, CaKind kind,
                                 int generation = 1);
// The path part alone, for the server's router: "/stag/intermediate-pf-pem.crt".
std::string ca_certificate_path(Environment env, CaKind kind, int generation = 1);
std::string crl_path(Environment env, CaKind kind, int generation = 1);
std::string ocsp_path(Environment env, CaKind kind, int generation = 1);

}  // namespace llavero
