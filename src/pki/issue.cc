#include "pki/issue.h"

#include <ctime>

#include "util/error_codes.h"

namespace llavero {

UnixSeconds taxpayer_not_after(UnixSeconds not_before) {
  std::time_t t = static_cast<std::time_t>(not_before);
  std::tm tm{};
  gmtime_r(&t, &tm);
  tm.tm_year += 4;
  return static_cast<UnixSeconds>(timegm(&tm)) - 86400;
}

Result<ossl::X509Ptr> issue_taxpayer_certificate(const IssueRequest& request) {
  const Authority& ca = *request.issuer;
  if (!ca.private_key) return make_error(errc::kCaBloqueada, "La CA emisora no está desbloqueada.");
  auto subject = taxpayer_subject(request.subject);
  if (!subject) return subject.error();

  ossl::X509Ptr cert(X509_new());
  ossl::Bignum serial(
      BN_bin2bn(request.serial.data(), static_cast<int>(request.serial.size()), nullptr));
  if (!cert || !serial || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      !BN_to_ASN1_INTEGER(serial.get(), X509_get_serialNumber(cert.get())) ||
      X509_set_subject_name(cert.get(), subject->get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.certificate.get())) != 1 ||
      X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(request.subject_key)) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(request.not_before)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                     static_cast<time_t>(taxpayer_not_after(request.not_before))))
    return ossl::internal_error("armar certificado");

  const PublicationUrls urls =
      publication_urls(request.base_url, ca.environment, ca.kind, ca.generation);
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.certificate.get(), cert.get(), nullptr, nullptr, 0);
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  LLAVERO_TRY(
      add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature,nonRepudiation"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_ext_key_usage, "emailProtection"));
  std::string aia = "caIssuers;URI:" + urls.ca_certificate;
  if (!request.strict) {
    aia += ",OCSP;URI:" + urls.ocsp;
    LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_crl_distribution_points, "URI:" + urls.crl));
  }
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_info_access, aia));

  if (X509_sign(cert.get(), ca.private_key.get(), EVP_sha256()) <= 0)
    return ossl::internal_error("firmar certificado");
  return cert;
}

}  // namespace llavero
