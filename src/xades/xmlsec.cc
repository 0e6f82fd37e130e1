#include "xades/xmlsec.h"

#include <fmt/format.h>
#include <libxml/parser.h>
#include <xmlsec/crypto.h>
#include <xmlsec/errors.h>
#include <xmlsec/openssl/evp.h>
#include <xmlsec/xmlsec.h>

#include "pki/openssl.h"
#include "util/error_codes.h"
#include "xades/policy.h"

namespace llavero::xades {

void FreeDsigContext::operator()(xmlSecDSigCtx* ctx) const {
  xmlSecDSigCtxDestroy(ctx);
}
void FreeDsigReferenceContext::operator()(xmlSecDSigReferenceCtx* ctx) const {
  xmlSecDSigReferenceCtxDestroy(ctx);
}
void FreeSecKey::operator()(xmlSecKey* key) const {
  xmlSecKeyDestroy(key);
}

namespace {

struct FreeSecKeyData {
  void operator()(xmlSecKeyData* data) const { xmlSecKeyDataDestroy(data); }
};
using SecKeyData = std::unique_ptr<xmlSecKeyData, FreeSecKeyData>;

thread_local std::string last_error;

void record_xmlsec_error(const char*, int, const char* func, const char* object,
                         const char* subject, int reason, const char* msg) {
  last_error = fmt::format("{} ({}{}{}): {} [{}]", func ? func : "?", object ? object : "",
                           subject ? "/" : "", subject ? subject : "", msg ? msg : "", reason);
}

}  // namespace

const Status& xmlsec_ready() {
  static const Status status = []() -> Status {
    xmlInitParser();
    if (xmlSecInit() < 0) return make_error(errc::kErrorXmlsec, "No se pudo iniciar xmlsec.");
    if (xmlSecCheckVersion() != 1)
      return make_error(errc::kErrorXmlsec, "La versión de xmlsec instalada no es compatible.");
    if (xmlSecCryptoAppInit(nullptr) < 0 || xmlSecCryptoInit() < 0)
      return make_error(errc::kErrorXmlsec, "No se pudo iniciar xmlsec con OpenSSL.");
    xmlSecErrorsSetCallback(record_xmlsec_error);
    return Ok{};
  }();
  return status;
}

const std::string& last_xmlsec_error() {
  return last_error;
}

void clear_xmlsec_error() {
  last_error.clear();
}

Error xmlsec_error(std::string_view what) {
  return make_error(errc::kErrorXmlsec,
                    fmt::format("Error interno de la firma XML ({}): {}", what,
                                last_error.empty() ? "sin detalle" : last_error));
}

Result<DsigContext> restricted_context() {
  DsigContext ctx(xmlSecDSigCtxCreate(nullptr));
  if (!ctx) return xmlsec_error("contexto de firma");
  ctx->flags |= XMLSEC_DSIG_FLAGS_IGNORE_MANIFESTS;
  ctx->enabledReferenceUris = xmlSecTransformUriTypeEmpty | xmlSecTransformUriTypeSameDocument;
  if (!admit_policy_algorithms(ctx.get())) return xmlsec_error("algoritmos permitidos");
  return ctx;
}

Result<SecKey> xmlsec_key(const EVP_PKEY& key) {
  EVP_PKEY* raw = const_cast<EVP_PKEY*>(&key);
  if (EVP_PKEY_up_ref(raw) != 1) return ossl::internal_error("referencia a la llave");
  ossl::PKey reference(raw);
  SecKeyData data(xmlSecOpenSSLEvpKeyAdopt(reference.get()));
  if (!data) return xmlsec_error("llave");
  reference.release();  // owned by `data` now
  SecKey out(xmlSecKeyCreate());
  if (!out || xmlSecKeySetValue(out.get(), data.get()) < 0) return xmlsec_error("llave");
  data.release();  // owned by `out` now
  return out;
}

}  // namespace llavero::xades
