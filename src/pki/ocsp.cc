#include "pki/ocsp.h"

#include <openssl/err.h>

#include "util/error_codes.h"

namespace llavero {

namespace {
using Response = ossl::Owned<OCSP_RESPONSE, OCSP_RESPONSE_free>;
using BasicResponse = ossl::Owned<OCSP_BASICRESP, OCSP_BASICRESP_free>;
using CertId = ossl::Owned<OCSP_CERTID, OCSP_CERTID_free>;
using Time = ossl::Owned<ASN1_TIME, ASN1_TIME_free>;

Bytes response_der(OCSP_RESPONSE* response) {
  int len = i2d_OCSP_RESPONSE(response, nullptr);
  if (len <= 0) return {};
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_OCSP_RESPONSE(response, &p);
  return der;
}
}  // namespace

Result<OcspRequest> OcspRequest::parse(std::span<const std::uint8_t> der) {
  const unsigned char* p = der.data();
  OcspRequestPtr request(d2i_OCSP_REQUEST(nullptr, &p, static_cast<long>(der.size())));
  if (!request || p != der.data() + der.size()) {
    ERR_clear_error();
    return make_error(errc::kOcspMalformado, "Solicitud OCSP mal formada.");
  }
  if (OCSP_request_onereq_count(request.get()) < 1)
    return make_error(errc::kOcspMalformado, "Solicitud OCSP sin certificados.");
  return OcspRequest(std::move(request));
}

OCSP_CERTID* OcspRequest::id(int i) const {
  return OCSP_onereq_get0_id(OCSP_request_onereq_get0(request_.get(), i));
}

std::string OcspRequest::serial_hex(int i) const {
  ASN1_INTEGER* serial = nullptr;
  OCSP_id_get0_info(nullptr, nullptr, nullptr, &serial, id(i));
  ossl::Bignum bn(ASN1_INTEGER_to_BN(serial, nullptr));
  if (!bn || BN_is_negative(bn.get())) return "";
  ossl::OpensslString hex(BN_bn2hex(bn.get()));
  return hex ? std::string(hex.get()) : "";
}

bool OcspRequest::has_nonce() const {
  return OCSP_REQUEST_get_ext_by_NID(request_.get(), NID_id_pkix_OCSP_Nonce, -1) >= 0;
}

int match_issuer(OCSP_CERTID* id, std::span<const X509* const> cas) {
  ASN1_OBJECT* digest_oid = nullptr;
  OCSP_id_get0_info(nullptr, &digest_oid, nullptr, nullptr, id);
  const EVP_MD* md = EVP_get_digestbyobj(digest_oid);
  if (md == nullptr) return -1;
  for (std::size_t i = 0; i < cas.size(); ++i) {
    CertId ours(OCSP_cert_to_id(md, nullptr, const_cast<X509*>(cas[i])));
    if (ours && OCSP_id_issuer_cmp(ours.get(), id) == 0) return static_cast<int>(i);
  }
  return -1;
}

namespace {
std::string octets(const ASN1_OCTET_STRING* s) {
  return s ? std::string(reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
                         static_cast<std::size_t>(ASN1_STRING_length(s)))
           : std::string();
}
}  // namespace

IssuerIndex::IssuerIndex(std::vector<const X509*> cas) : cas_(std::move(cas)) {
  for (const EVP_MD* md : {EVP_sha1(), EVP_sha256()}) {
    for (std::size_t i = 0; i < cas_.size(); ++i) {
      CertId id(OCSP_cert_to_id(md, nullptr, const_cast<X509*>(cas_[i])));
      if (!id) continue;
      ASN1_OCTET_STRING *name = nullptr, *key = nullptr;
      OCSP_id_get0_info(&name, nullptr, &key, nullptr, id.get());
      hashes_.push_back(
          Hashes{EVP_MD_get_type(md), static_cast<int>(i), octets(name), octets(key)});
    }
  }
}

int IssuerIndex::match(OCSP_CERTID* id) const {
  ASN1_OCTET_STRING *name = nullptr, *key = nullptr;
  ASN1_OBJECT* digest = nullptr;
  OCSP_id_get0_info(&name, &digest, &key, nullptr, id);
  const int nid = OBJ_obj2nid(digest);
  bool known_digest = false;
  for (const Hashes& h : hashes_) {
    if (h.digest_nid != nid) continue;
    known_digest = true;
    if (octets(name) == h.name_hash && octets(key) == h.key_hash) return h.ca;
  }
  return known_digest ? -1 : match_issuer(id, cas_);
}

Bytes ocsp_error_response(int status) {
  Response response(OCSP_response_create(status, nullptr));
  return response ? response_der(response.get()) : Bytes{};
}

Result<Bytes> sign_ocsp_response(const OcspSigner& signer, std::span<const OcspAnswer> answers,
                                 const OCSP_REQUEST* request, UnixSeconds now,
                                 UnixSeconds next_update) {
  BasicResponse basic(OCSP_BASICRESP_new());
  Time this_time(ASN1_TIME_set(nullptr, static_cast<time_t>(now)));
  Time next_time(ASN1_TIME_set(nullptr, static_cast<time_t>(next_update)));
  if (!basic || !this_time || !next_time) return ossl::internal_error("respuesta OCSP");
  for (const OcspAnswer& a : answers) {
    Time revoked_time;
    int status = V_OCSP_CERTSTATUS_UNKNOWN;
    int reason = -1;
    if (a.status.status == CertStatus::kGood) status = V_OCSP_CERTSTATUS_GOOD;
    if (a.status.status == CertStatus::kRevoked) {
      status = V_OCSP_CERTSTATUS_REVOKED;
      revoked_time.reset(ASN1_TIME_set(nullptr, static_cast<time_t>(a.status.revoked_at)));
      reason = a.status.reason ? static_cast<int>(*a.status.reason) : -1;
    }
    if (OCSP_basic_add1_status(basic.get(), a.id, status, reason, revoked_time.get(),
                               this_time.get(), next_time.get()) == nullptr)
      return ossl::internal_error("estado OCSP");
  }
  if (request != nullptr &&
      OCSP_REQUEST_get_ext_by_NID(const_cast<OCSP_REQUEST*>(request), NID_id_pkix_OCSP_Nonce, -1) >=
          0 &&
      OCSP_copy_nonce(basic.get(), const_cast<OCSP_REQUEST*>(request)) != 1)
    return ossl::internal_error("nonce OCSP");
  if (OCSP_basic_sign(basic.get(), const_cast<X509*>(signer.responder_certificate),
                      const_cast<EVP_PKEY*>(signer.responder_key), EVP_sha256(), nullptr, 0) != 1)
    return ossl::internal_error("firmar respuesta OCSP");
  Response response(OCSP_response_create(OCSP_RESPONSE_STATUS_SUCCESSFUL, basic.get()));
  if (!response) return ossl::internal_error("respuesta OCSP");
  return response_der(response.get());
}

Result<ResponderCertificate> issue_responder_certificate(const Authority& ca, ossl::PKey key,
                                                         const Bytes& serial, UnixSeconds now,
                                                         UnixSeconds validity_seconds) {
  if (!ca.private_key) return make_error(errc::kCaBloqueada, "La CA emisora no está desbloqueada.");
  if (!key) return make_error(errc::kLlaveInvalida, "Falta la llave del respondedor OCSP.");
  ossl::X509Name name(X509_NAME_dup(X509_get_subject_name(ca.certificate.get())));
  if (!name) return ossl::internal_error("nombre del respondedor");
  // Same C/O/OU as the CA, CN "<CA CN> OCSP": replace the last entry.
  const int last = X509_NAME_entry_count(name.get()) - 1;
  std::string cn;
  if (last >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(name.get(), last));
    cn.assign(reinterpret_cast<const char*>(ASN1_STRING_get0_data(data)),
              static_cast<std::size_t>(ASN1_STRING_length(data)));
    ossl::Owned<X509_NAME_ENTRY, X509_NAME_ENTRY_free> removed(
        X509_NAME_delete_entry(name.get(), last));
  }
  cn += " OCSP";
  X509_NAME_add_entry_by_txt(name.get(), "CN", MBSTRING_UTF8,
                             reinterpret_cast<const unsigned char*>(cn.data()),
                             static_cast<int>(cn.size()), -1, 0);

  ossl::X509Ptr cert(X509_new());
  ossl::Bignum bn(BN_bin2bn(serial.data(), static_cast<int>(serial.size()), nullptr));
  if (!cert || !bn || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) ||
      X509_set_subject_name(cert.get(), name.get()) != 1 ||
      X509_set_issuer_name(cert.get(), X509_get_subject_name(ca.certificate.get())) != 1 ||
      X509_set_pubkey(cert.get(), key.get()) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now - 300)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()), static_cast<time_t>(now + validity_seconds)))
    return ossl::internal_error("certificado del respondedor");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.certificate.get(), cert.get(), nullptr, nullptr, 0);
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_basic_constraints, "critical,CA:FALSE"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_key_usage, "critical,digitalSignature"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_ext_key_usage, "critical,OCSPSigning"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_id_pkix_OCSP_noCheck, "ignored"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
  if (X509_sign(cert.get(), ca.private_key.get(), EVP_sha256()) <= 0)
    return ossl::internal_error("firmar certificado del respondedor");
  return ResponderCertificate{std::move(cert), std::move(key)};
}

}  // namespace llavero
