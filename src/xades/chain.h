// The signer's certificate chain to the trusted roots, built at SigningTime.
// Internal to src/xades/.
#pragma once

#include <openssl/x509.h>

#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "pki/openssl.h"
#include "util/clock.h"
#include "util/result.h"

namespace llavero::xades {

// The chain as OpenSSL built it. Building goes on past expired or not yet
// valid certificates, recording them, so that the chain and the validity
// are reported apart. Not movable: OpenSSL holds on to `time_errors`.
struct Chain {
  Chain() = default;
  Chain(const Chain&) = delete;
  Chain& operator=(const Chain&) = delete;

  bool ok = false;
  int error = 0;                     // X509_V_ERR_*, when not ok
  STACK_OF(X509) * chain = nullptr;  // signer first, root last; null unless ok (owned by ctx)
  std::vector<std::pair<int, int>> time_errors;  // (depth, X509_V_ERR_*)

  ossl::X509Store store;
  ossl::X509Stack untrusted;
  ossl::X509StoreCtx ctx;
};

// Builds `out`, the chain from `signer` to one of `roots` at `at` (default:
// now) through `intermediates`; never valid without roots. With
// `partial_chain`, any certificate of `roots` ends a chain, self-signed or
// not. An Error means OpenSSL itself failed.
Status build_chain(const X509& signer, std::span<const X509* const> roots,
                   std::span<const X509* const> intermediates, std::optional<UnixSeconds> at,
                   bool partial_chain, Chain& out);

}  // namespace llavero::xades
