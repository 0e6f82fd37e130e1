// xmlsec1 as the signer and the verifier use it: set up once per process,
// its handles owned, its errors kept instead of printed, a signature context
// restricted to the policy's algorithms, and OpenSSL keys handed to it.
// Internal to src/xades/.
#pragma once

#include <openssl/evp.h>
#include <xmlsec/keys.h>
#include <xmlsec/xmldsig.h>

#include <memory>
#include <string>
#include <string_view>

#include "util/result.h"

namespace llavero::xades {

struct FreeDsigContext {
  void operator()(xmlSecDSigCtx* ctx) const;
};
struct FreeDsigReferenceContext {
  void operator()(xmlSecDSigReferenceCtx* ctx) const;
};
struct FreeSecKey {
  void operator()(xmlSecKey* key) const;
};
using DsigContext = std::unique_ptr<xmlSecDSigCtx, FreeDsigContext>;
using DsigReferenceContext = std::unique_ptr<xmlSecDSigReferenceCtx, FreeDsigReferenceContext>;
using SecKey = std::unique_ptr<xmlSecKey, FreeSecKey>;

// libxml2 and xmlsec initialized, once per process; xmlsec is thread-safe
// afterwards as long as each thread uses its own contexts.
const Status& xmlsec_ready();

// xmlsec reports errors through a callback; the default one prints to
// stderr, which would clutter a command's output with the expected "digest
// mismatch" of a tampered document. The last message of this thread is kept.
const std::string& last_xmlsec_error();
void clear_xmlsec_error();
// An internal error about `what`, with xmlsec's last message.
Error xmlsec_error(std::string_view what);

// A signature context that only follows references inside the document and
// only runs the policy's algorithms (no XPath, XSLT or remote URIs from an
// untrusted signature), and ignores manifests.
Result<DsigContext> restricted_context();

// An xmlsec key holding (a new reference to) an OpenSSL key.
Result<SecKey> xmlsec_key(const EVP_PKEY& key);

}  // namespace llavero::xades
