#include "pki/authority.h"

#include <fmt/format.h>
#include <openssl/rand.h>

#include "util/error_codes.h"

namespace llavero {

Result<Bytes> random_serial() {
  Bytes serial(16);
  if (RAND_bytes(serial.data(), static_cast<int>(serial.size())) != 1)
    return ossl::internal_error("RAND_bytes");
  serial[0] = static_cast<std::uint8_t>((serial[0] & 0x7f) | 0x40);
  return serial;
}

std::string serial_to_hex(const Bytes& serial) {
  std::string hex = to_hex(serial);
  for (char& c : hex)
    if (c >= 'a' && c <= 'f') c = static_cast<char>(c - 'a' + 'A');
  std::size_t first = hex.find_first_not_of('0');
  return first == std::string::npos ? "0" : hex.substr(first);
}

Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value) {
  ossl::X509Ext ext(X509V3_EXT_conf_nid(nullptr, ctx, nid, value.c_str()));
  if (!ext || X509_add_ext(cert, ext.get(), -1) != 1)
    return ossl::internal_error(fmt::format("extensión {}={}", OBJ_nid2sn(nid), value));
  return Ok{};
}

namespace {

// certificatePolicies with one policy OID and no qualifiers. Built by hand:
// OpenSSL's config syntax for it needs a config database.
Status add_certificate_policy(X509* cert, const std::string& oid) {
  using Policies = ossl::Owned<CERTIFICATEPOLICIES, CERTIFICATEPOLICIES_free>;
  Policies policies(sk_POLICYINFO_new_null());
  POLICYINFO* info = POLICYINFO_new();
  if (!policies || !info) {
    POLICYINFO_free(info);
    return ossl::internal_error("certificatePolicies");
  }
  info->policyid = OBJ_txt2obj(oid.c_str(), 1);
  if (!info->policyid || sk_POLICYINFO_push(policies.get(), info) <= 0) {
    POLICYINFO_free(info);
    return ossl::internal_error("certificatePolicies " + oid);
  }
  if (X509_add1_ext_i2d(cert, NID_certificate_policies, policies.get(), 0, X509V3_ADD_DEFAULT) != 1)
    return ossl::internal_error("certificatePolicies " + oid);
  return Ok{};
}

Result<ossl::X509Ptr> make_ca_certificate(const X509_NAME& subject, const EVP_PKEY& key,
                                          const X509* issuer, const EVP_PKEY& issuer_key,
                                          const X509_NAME& issuer_name, UnixSeconds now, int years,
                                          const PublicationUrls& root_urls,
                                          const std::string& policy_oid) {
  ossl::X509Ptr cert(X509_new());
  if (!cert) return ossl::internal_error("X509_new");
  auto serial = random_serial();
  if (!serial) return serial.error();
  ossl::Bignum bn(BN_bin2bn(serial->data(), static_cast<int>(serial->size()), nullptr));
  if (!bn || X509_set_version(cert.get(), X509_VERSION_3) != 1 ||
      !BN_to_ASN1_INTEGER(bn.get(), X509_get_serialNumber(cert.get())) ||
      X509_set_subject_name(cert.get(), &subject) != 1 ||
      X509_set_issuer_name(cert.get(), &issuer_name) != 1 ||
      X509_set_pubkey(cert.get(), const_cast<EVP_PKEY*>(&key)) != 1 ||
      !ASN1_TIME_set(X509_getm_notBefore(cert.get()), static_cast<time_t>(now)) ||
      !ASN1_TIME_set(X509_getm_notAfter(cert.get()),
                     static_cast<time_t>(now + static_cast<UnixSeconds>(years) * 365 * 86400)))
    return ossl::internal_error("armar certificado de CA");

  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, issuer ? const_cast<X509*>(issuer) : cert.get(), cert.get(), nullptr,
                 nullptr, 0);
  const bool root = issuer == nullptr;
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_basic_constraints,
                            root ? "critical,CA:TRUE" : "critical,CA:TRUE,pathlen:0"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_key_usage, "critical,keyCertSign,cRLSign"));
  LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_subject_key_identifier, "hash"));
  if (!root) {
    LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_authority_key_identifier, "keyid:always"));
    LLAVERO_TRY(add_extension(cert.get(), &ctx, NID_info_access,
                              "caIssuers;URI:" + root_urls.ca_certificate));
    // What zlint asks of a subordinate CA: where its revocation is told (the
    // root's ARL) and under which policy it issues.
    LLAVERO_TRY(
        add_extension(cert.get(), &ctx, NID_crl_distribution_points, "URI:" + root_urls.crl));
    LLAVERO_TRY(add_certificate_policy(cert.get(), policy_oid));
  }
  if (X509_sign(cert.get(), const_cast<EVP_PKEY*>(&issuer_key), EVP_sha256()) <= 0)
    return ossl::internal_error("firmar certificado de CA");
  return cert;
}

// A CA's key, from the key store when there is one. Labels in the token:
// "<ambiente>-<tipo>" for the first generation, "-g<N>" after a rollover.
Result<KeyStore::NewKey> new_ca_key(const HierarchyOptions& options, Environment env, CaKind kind,
                                    int generation = 1) {
  if (options.keys) {
    std::string label = fmt::format("{}-{}", environment_name(env), ca_kind_name(kind));
    if (generation > 1) label += fmt::format("-g{}", generation);
    return options.keys->generate_rsa(options.key_bits, label);
  }
  auto key = ossl::generate_rsa(options.key_bits);
  if (!key) return key.error();
  return KeyStore::NewKey{std::move(*key), ""};
}

}  // namespace

Result<Authority> create_issuing_ca(const Authority& root, CaKind kind, int generation,
                                    const HierarchyOptions& options) {
  if (!root.private_key) return make_error(errc::kCaBloqueada, "La CA raíz no está desbloqueada.");
  auto made = new_ca_key(options, root.environment, kind, generation);
  if (!made) return made.error();
  auto name = ca_subject(options.naming, root.environment, kind, generation);
  if (!name) return name.error();
  auto cert = make_ca_certificate(
      **name, *made->key, root.certificate.get(), *root.private_key,
      *X509_get_subject_name(root.certificate.get()), options.now, options.issuing_years,
      publication_urls(options.base_url, root.environment, CaKind::kRoot),
      options.naming.policy_oid);
  if (!cert) return cert.error();
  return Authority{root.environment,           kind,      std::move(*cert), std::move(made->key),
                   std::move(made->reference), generation};
}

Result<std::vector<Authority>> create_hierarchy(Environment env, const HierarchyOptions& options) {
  std::vector<Authority> out;
  auto root_made = new_ca_key(options, env, CaKind::kRoot);
  if (!root_made) return root_made.error();
  ossl::PKey* root_key = &root_made->key;
  auto root_name = ca_subject(options.naming, env, CaKind::kRoot);
  if (!root_name) return root_name.error();
  auto root = make_ca_certificate(**root_name, **root_key, nullptr, **root_key, **root_name,
                                  options.now, options.root_years, {}, "");
  if (!root) return root.error();
  out.push_back(Authority{env, CaKind::kRoot, std::move(*root), std::move(root_made->key),
                          std::move(root_made->reference)});
  for (CaKind kind : {CaKind::kPersonaFisica, CaKind::kPersonaJuridica}) {
    auto ca = create_issuing_ca(out.front(), kind, 1, options);
    if (!ca) return ca.error();
    out.push_back(std::move(*ca));
  }
  return out;
}

}  // namespace llavero
