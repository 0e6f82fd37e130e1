#include "pki/crl.h"

#include <openssl/x509.h>

#include <algorithm>

namespace llavero {

namespace {

using Crl = ossl::Owned<X509_CRL, X509_CRL_free>;
using Revoked = ossl::Owned<X509_REVOKED, X509_REVOKED_free>;
using Time = ossl::Owned<ASN1_TIME, ASN1_TIME_free>;
using Enumerated = ossl::Owned<ASN1_ENUMERATED, ASN1_ENUMERATED_free>;

Status add_entry(X509_CRL* crl, const CrlEntry& entry) {
  Revoked revoked(X509_REVOKED_new());
  BIGNUM* raw = nullptr;
  if (!revoked || BN_hex2bn(&raw, entry.serial_hex.c_str()) == 0)
    return ossl::internal_error("serie de la CRL");
  ossl::Bignum serial(raw);
  ossl::Asn1Integer number(BN_to_ASN1_INTEGER(serial.get(), nullptr));
  Time when(ASN1_TIME_set(nullptr, static_cast<time_t>(entry.revoked_at)));
  if (!number || !when || X509_REVOKED_set_serialNumber(revoked.get(), number.get()) != 1 ||
      X509_REVOKED_set_revocationDate(revoked.get(), when.get()) != 1)
    return ossl::internal_error("entrada de la CRL");
  if (entry.reason) {
    Enumerated code(ASN1_ENUMERATED_new());
    if (!code || ASN1_ENUMERATED_set(code.get(), static_cast<long>(*entry.reason)) != 1 ||
        X509_REVOKED_add1_ext_i2d(revoked.get(), NID_crl_reason, code.get(), 0, 0) != 1)
      return ossl::internal_error("motivo de la CRL");
  }
  if (X509_CRL_add0_revoked(crl, revoked.get()) != 1) return ossl::internal_error("agregar a la CRL");
  revoked.release();  // owned by the CRL now
  return Ok{};
}

}  // namespace

Result<Bytes> build_crl(const CrlRequest& request) {
  const Authority& ca = *request.issuer;
  if (!ca.private_key) return make_error("ca_bloqueada", "La CA emisora no está desbloqueada.");
  Crl crl(X509_CRL_new());
  Time this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(request.this_update)));
  Time next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(request.next_update)));
  if (!crl || !this_update || !next_update || X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.certificate.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1)
    return ossl::internal_error("armar CRL");

  for (const CrlEntry& entry : request.entries) LLAVERO_TRY(add_entry(crl.get(), entry));
  X509_CRL_sort(crl.get());

  ossl::Asn1Integer number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), request.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
    return ossl::internal_error("número de CRL");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.certificate.get(), nullptr, nullptr, crl.get(), 0);
  ossl::X509Ext aki(X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1)
    return ossl::internal_error("AKI de la CRL");

  if (X509_CRL_sign(crl.get(), ca.private_key.get(), EVP_sha256()) <= 0)
    return ossl::internal_error("firmar CRL");
  int len = i2d_X509_CRL(crl.get(), nullptr);
  if (len <= 0) return ossl::internal_error("codificar CRL");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_X509_CRL(crl.get(), &p);
  return der;
}

}  // namespace llavero
