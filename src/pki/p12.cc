#include "pki/p12.h"

#include <fmt/format.h>

#include "util/error_codes.h"

namespace llavero {

Result<P12Profile> parse_p12_profile(std::string_view text) {
  if (text == "compatible") return P12Profile::kCompatible;
  if (text == "moderno") return P12Profile::kModerno;
  return make_error(errc::kPerfilInvalido,
                    fmt::format("Perfil de archivo .p12 desconocido \"{}\": use \"compatible\" o "
                                "\"moderno\".",
                                text));
}

std::string_view p12_profile_name(P12Profile profile) {
  return profile == P12Profile::kCompatible ? "compatible" : "moderno";
}

Result<Bytes> build_p12(const EVP_PKEY& key, const X509& cert, std::span<const X509* const> chain,
                        const std::string& friendly_name, const Pin& pin,
                        const P12Options& options) {
  if (options.iterations < 1)
    return make_error(errc::kIteracionesInvalidas,
                      "Las iteraciones del .p12 deben ser al menos 1.");
  ossl::X509Stack ca(sk_X509_new_null());
  if (!ca) return ossl::internal_error("sk_X509_new_null");
  for (const X509* c : chain) {
    ossl::X509Ptr copy(X509_dup(c));
    if (!copy || sk_X509_push(ca.get(), copy.get()) <= 0) return ossl::internal_error("cadena");
    copy.release();  // now owned by the stack
  }

  const bool modern = options.profile == P12Profile::kModerno;
  const int bag_nid = modern ? NID_aes_256_cbc : NID_pbe_WithSHA1And3_Key_TripleDES_CBC;
  // The MAC is added afterwards (mac_iter -1 = none here) so that its digest
  // can be chosen: PKCS12_create always uses SHA-1.
  ossl::Pkcs12 p12(PKCS12_create(pin.secret().c_str(), friendly_name.c_str(),
                                 const_cast<EVP_PKEY*>(&key), const_cast<X509*>(&cert), ca.get(),
                                 bag_nid, bag_nid, options.iterations, -1, 0));
  if (!p12) return ossl::internal_error("armar .p12");
  if (PKCS12_set_mac(p12.get(), pin.secret().c_str(), -1, nullptr, 0, options.iterations,
                     modern ? EVP_sha256() : EVP_sha1()) != 1)
    return ossl::internal_error("MAC del .p12");

  int len = i2d_PKCS12(p12.get(), nullptr);
  if (len <= 0) return ossl::internal_error("codificar .p12");
  Bytes der(static_cast<std::size_t>(len));
  unsigned char* p = der.data();
  i2d_PKCS12(p12.get(), &p);
  return der;
}

}  // namespace llavero
