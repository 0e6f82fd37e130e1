// Certificate authorities: making the hierarchy of one environment (a
// self-signed root and the two issuing CAs it signs), and holding a CA's
// certificate with its private key once unlocked.
//
// This layer only signs. Where keys and certificates are kept, and who may
// ask for a signature, is decided above it.
#pragma once

#include <string>
#include <vector>

#include "pki/key_store.h"
#include "pki/names.h"
#include "pki/openssl.h"
#include "util/clock.h"

namespace llavero {

// A CA's certificate and, when unlocked, its private key.
struct Authority {
  Environment environment;
  CaKind kind;
  ossl::X509Ptr certificate;
  ossl::PKey private_key;  // null while locked
  // What the key store keeps to open the key again (KeyStore::NewKey); empty
  // for a hierarchy made without a key store.
  std::string key_reference = {};
  int generation = 1;  // of an issuing CA: 1 from `init`, +1 per `llavero ca renovar`
};

struct HierarchyOptions {
  CaNaming naming;
  std::string base_url;  // for the issuing CAs' AIA (the root's certificate) and CRL DP (its ARL)
  int key_bits = 4096;
  UnixSeconds now = 0;
  int root_years = 20;
  int issuing_years = 12;  // outlives any taxpayer certificate it signs (4 years)
  // Where the keys are made (labelled "<ambiente>-<tipo>"); null: in memory,
  // with no reference (tests).
  KeyStore* keys = nullptr;
};

// The root and the two issuing CAs of one environment, with fresh keys.
// Returned in the order root, pf, pj.
Result<std::vector<Authority>> create_hierarchy(Environment env, const HierarchyOptions& options);

// A new issuing CA of `kind` signed by `root` (unlocked), with a fresh key:
// what `create_hierarchy` makes for generation 1 and `llavero ca renovar`
// for the next ones. Its certificate carries the CRL distribution point of
// the root's ARL and the certificatePolicies OID of `options.naming`.
Result<Authority> create_issuing_ca(const Authority& root, CaKind kind, int generation,
                                    const HierarchyOptions& options);

// A random positive serial of 127 bits (16 bytes, top bit clear, second bit
// set so the encoding is always 16 bytes long), from OpenSSL's CSPRNG.
Result<Bytes> random_serial();
// The serial as upper-case hex, as ossl::serial_hex prints a certificate's.
std::string serial_to_hex(const Bytes& serial);

// Adds one extension given in OpenSSL's config syntax ("critical,CA:TRUE").
Status add_extension(X509* cert, X509V3_CTX* ctx, int nid, const std::string& value);

}  // namespace llavero
