#include "xades/chain.h"

namespace llavero::xades {

namespace {

int note_time_errors(int ok, X509_STORE_CTX* ctx) {
  if (ok) return ok;
  const int error = X509_STORE_CTX_get_error(ctx);
  if (error != X509_V_ERR_CERT_HAS_EXPIRED && error != X509_V_ERR_CERT_NOT_YET_VALID) return ok;
  if (auto* chain = static_cast<Chain*>(X509_STORE_CTX_get_app_data(ctx)))
    chain->time_errors.emplace_back(X509_STORE_CTX_get_error_depth(ctx), error);
  return 1;
}

}  // namespace

Status build_chain(const X509& signer, std::span<const X509* const> roots,
                   std::span<const X509* const> intermediates, std::optional<UnixSeconds> at,
                   bool partial_chain, Chain& out) {
  out.store.reset(X509_STORE_new());
  out.untrusted.reset(sk_X509_new_null());
  out.ctx.reset(X509_STORE_CTX_new());
  if (!out.store || !out.untrusted || !out.ctx) return ossl::internal_error("almacén de confianza");
  for (const X509* root : roots)
    if (X509_STORE_add_cert(out.store.get(), const_cast<X509*>(root)) != 1) ossl::last_error();
  for (const X509* c : intermediates) ossl::push_shared(out.untrusted.get(), c);
  if (X509_STORE_CTX_init(out.ctx.get(), out.store.get(), const_cast<X509*>(&signer),
                          out.untrusted.get()) != 1)
    return ossl::internal_error("validar cadena");
  X509_STORE_CTX_set_app_data(out.ctx.get(), &out);
  X509_STORE_CTX_set_verify_cb(out.ctx.get(), note_time_errors);
  if (at) X509_STORE_CTX_set_time(out.ctx.get(), 0, static_cast<time_t>(*at));
  if (partial_chain) X509_STORE_CTX_set_flags(out.ctx.get(), X509_V_FLAG_PARTIAL_CHAIN);
  out.ok = roots.empty() ? false : X509_verify_cert(out.ctx.get()) == 1;
  out.error = X509_STORE_CTX_get_error(out.ctx.get());
  ossl::last_error();  // whatever OpenSSL queued is in `error`
  out.chain = out.ok ? X509_STORE_CTX_get0_chain(out.ctx.get()) : nullptr;
  return Ok{};
}

}  // namespace llavero::xades
