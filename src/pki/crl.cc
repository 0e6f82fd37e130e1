#include "pki/crl.h"

#include <fmt/format.h>
#include <openssl/x509.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstring>
#include <limits>

#include "util/error_codes.h"

namespace llavero {

// OpenSSL writes the header, the extensions and the signature algorithm; the
// revoked list we encode ourselves. Through OpenSSL a CRL of 10^6 entries took
// seconds: one X509_REVOKED object per entry, and the whole list DER-encoded
// twice (the TBSCertList for X509_CRL_sign, then again for i2d_X509_CRL).
// Here each entry is written once, straight into the TBSCertList, which is
// then signed once.

namespace {

using Crl = ossl::Owned<X509_CRL, X509_CRL_free>;
using Time = ossl::Owned<ASN1_TIME, ASN1_TIME_free>;
using MdCtx = ossl::Owned<EVP_MD_CTX, EVP_MD_CTX_free>;

constexpr std::uint8_t kInteger = 0x02;
constexpr std::uint8_t kBitString = 0x03;
constexpr std::uint8_t kUtcTime = 0x17;
constexpr std::uint8_t kGeneralizedTime = 0x18;
constexpr std::uint8_t kSequence = 0x30;

// crlEntryExtensions holding only a reasonCode, as X509_REVOKED_add1_ext_i2d
// writes it: SEQUENCE { Extension { id-ce-cRLReasons (2.5.29.21), OCTET STRING
// { ENUMERATED code } } }, not critical (so no BOOLEAN). The code byte follows.
constexpr std::array<std::uint8_t, 13> kReasonExtensions = {
    0x30, 0x0c, 0x30, 0x0a, 0x06, 0x03, 0x55, 0x1d, 0x15, 0x04, 0x03, 0x0a, 0x01};
constexpr std::size_t kReasonSize = kReasonExtensions.size() + 1;
constexpr int kMaxReasonCode = 10;  // RFC 5280 CRLReason: 0..10, one ENUMERATED byte

// ASN1_TIME_set's choice: UTCTime for 1950–2049, GeneralizedTime otherwise,
// and nothing outside years 0000–9999.
using std::chrono::sys_days;
using std::chrono::sys_seconds;
using std::chrono::year;
constexpr UnixSeconds unix_seconds(sys_days day) {
  return sys_seconds(day).time_since_epoch().count();
}
constexpr UnixSeconds kUtcTimeFrom = unix_seconds(sys_days{year{1950} / 1 / 1});
constexpr UnixSeconds kUtcTimeUntil = unix_seconds(sys_days{year{2050} / 1 / 1});
constexpr UnixSeconds kTimeFrom = unix_seconds(sys_days{year{0} / 1 / 1});
constexpr UnixSeconds kTimeUntil = unix_seconds(sys_days{year{10000} / 1 / 1});

bool is_utc_time(UnixSeconds t) {
  return t >= kUtcTimeFrom && t < kUtcTimeUntil;
}

std::size_t length_size(std::size_t length) {
  if (length < 0x80) return 1;
  std::size_t bytes = 0;
  for (; length > 0; length >>= 8) ++bytes;
  return 1 + bytes;
}
std::size_t tlv_size(std::size_t length) {
  return 1 + length_size(length) + length;
}

// DER into a buffer sized beforehand.
class Writer {
 public:
  explicit Writer(std::uint8_t* at) : at_(at) {}
  std::uint8_t* at() const { return at_; }

  void byte(std::uint8_t b) { *at_++ = b; }
  void bytes(const std::uint8_t* data, std::size_t size) {
    std::memcpy(at_, data, size);
    at_ += size;
  }
  void header(std::uint8_t tag, std::size_t length) {
    byte(tag);
    if (length < 0x80) {
      byte(static_cast<std::uint8_t>(length));
      return;
    }
    const std::size_t n = length_size(length) - 1;
    byte(static_cast<std::uint8_t>(0x80 | n));
    for (std::size_t i = n; i-- > 0;) byte(static_cast<std::uint8_t>(length >> (8 * i)));
  }
  void two_digits(unsigned value) {
    byte(static_cast<std::uint8_t>('0' + value / 10));
    byte(static_cast<std::uint8_t>('0' + value % 10));
  }

 private:
  std::uint8_t* at_;
};

void write_time(Writer& out, UnixSeconds t) {
  using namespace std::chrono;
  const sys_seconds at{seconds{t}};
  const sys_days day = floor<days>(at);
  const year_month_day date{day};
  const hh_mm_ss<seconds> clock{at - day};
  const auto y = static_cast<unsigned>(static_cast<int>(date.year()));
  if (is_utc_time(t)) {
    out.header(kUtcTime, 13);
  } else {
    out.header(kGeneralizedTime, 15);
    out.two_digits(y / 100);
  }
  out.two_digits(y % 100);
  out.two_digits(static_cast<unsigned>(date.month()));
  out.two_digits(static_cast<unsigned>(date.day()));
  out.two_digits(static_cast<unsigned>(clock.hours().count()));
  out.two_digits(static_cast<unsigned>(clock.minutes().count()));
  out.two_digits(static_cast<unsigned>(clock.seconds().count()));
  out.byte('Z');
}

int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// An entry's serial as the ASN1_INTEGER that X509_CRL_sort compares with
// ASN1_STRING_cmp: the magnitude without leading zero bytes (zero is one 00
// byte), ordered by length, then bytes. Its first 8 bytes are kept here so
// most comparisons need not reach into the arena.
struct Serial {
  std::uint64_t head = 0;  // big-endian, zero-padded on the right
  std::size_t offset = 0;  // of the magnitude in the arena
  std::uint32_t length = 0;
  std::uint32_t entry = 0;  // index in the request
};

// Decodes `hex` into `arena` at `s.offset`, filling `s`.
Status decode_serial(const std::string& hex, std::uint8_t* arena, Serial& s) {
  const auto invalid = [&hex] {
    return make_error(
        errc::kDatoInvalido,
        fmt::format("La serie \"{}\" de una entrada de la CRL no es hexadecimal.", hex));
  };
  if (hex.empty()) return invalid();
  std::size_t i = 0;
  while (i < hex.size() && hex[i] == '0') ++i;
  std::uint8_t* out = arena + s.offset;
  std::size_t n = 0;
  if ((hex.size() - i) % 2 == 1) {
    const int d = hex_digit(hex[i++]);
    if (d < 0) return invalid();
    out[n++] = static_cast<std::uint8_t>(d);
  }
  for (; i < hex.size(); i += 2) {
    const int hi = hex_digit(hex[i]), lo = hex_digit(hex[i + 1]);
    if (hi < 0 || lo < 0) return invalid();
    out[n++] = static_cast<std::uint8_t>(hi << 4 | lo);
  }
  if (n == 0) out[n++] = 0;  // all zeros
  s.length = static_cast<std::uint32_t>(n);
  s.head = 0;
  for (std::size_t k = 0; k < 8; ++k) s.head = s.head << 8 | (k < n ? out[k] : 0);
  return Ok{};
}

// The INTEGER needs a leading 00 when the magnitude's top bit is set.
std::size_t integer_length(const Serial& s, const std::uint8_t* arena) {
  return s.length + ((arena[s.offset] & 0x80) ? 1 : 0);
}

std::size_t entry_length(const Serial& s, const std::uint8_t* arena, const CrlEntry& e) {
  return tlv_size(integer_length(s, arena)) + 2 + (is_utc_time(e.revoked_at) ? 13 : 15) +
         (e.reason ? kReasonSize : 0);
}

// revokedCertificates SEQUENCE OF SEQUENCE { userCertificate INTEGER,
// revocationDate Time, crlEntryExtensions OPTIONAL }.
void write_entry(Writer& out, const Serial& s, const std::uint8_t* arena, const CrlEntry& e) {
  const std::size_t integer = integer_length(s, arena);
  out.header(kSequence, entry_length(s, arena, e));
  out.header(kInteger, integer);
  if (integer > s.length) out.byte(0);
  out.bytes(arena + s.offset, s.length);
  write_time(out, e.revoked_at);
  if (e.reason) {
    out.bytes(kReasonExtensions.data(), kReasonExtensions.size());
    out.byte(static_cast<std::uint8_t>(*e.reason));
  }
}

// The entries checked, their serials decoded into `arena` and sorted.
Result<std::vector<Serial>> sorted_serials(const std::vector<CrlEntry>& entries, Bytes& arena) {
  if (entries.size() > std::numeric_limits<std::uint32_t>::max())
    return make_error(errc::kDatoInvalido, "Demasiadas entradas para una CRL.");
  std::vector<Serial> serials(entries.size());
  std::size_t bound = 0;
  for (const CrlEntry& e : entries) bound += e.serial_hex.size() / 2 + 1;
  arena.resize(bound);
  std::size_t offset = 0;
  for (std::size_t i = 0; i < entries.size(); ++i) {
    const CrlEntry& e = entries[i];
    Serial& s = serials[i];
    s.offset = offset;
    s.entry = static_cast<std::uint32_t>(i);
    LLAVERO_TRY(decode_serial(e.serial_hex, arena.data(), s));
    offset += s.length;
    if (e.revoked_at < kTimeFrom || e.revoked_at >= kTimeUntil)
      return make_error(errc::kDatoInvalido,
                        fmt::format("La fecha de revocación de la serie {} está fuera de los años "
                                    "0000–9999.",
                                    e.serial_hex));
    if (e.reason &&
        (static_cast<int>(*e.reason) < 0 || static_cast<int>(*e.reason) > kMaxReasonCode))
      return make_error(
          errc::kDatoInvalido,
          fmt::format("Motivo de revocación desconocido para la serie {}.", e.serial_hex));
  }
  // The index breaks ties so equal serials keep their order, as glibc's qsort
  // (a merge sort) does in X509_CRL_sort; the store keeps serials unique anyway.
  const std::uint8_t* bytes = arena.data();
  std::sort(serials.begin(), serials.end(), [bytes](const Serial& a, const Serial& b) {
    if (a.length != b.length) return a.length < b.length;
    if (a.head != b.head) return a.head < b.head;
    if (a.length > 8) {
      if (int c = std::memcmp(bytes + a.offset + 8, bytes + b.offset + 8, a.length - 8); c != 0)
        return c < 0;
    }
    return a.entry < b.entry;
  });
  return serials;
}

// What OpenSSL contributes: the CRL without entries, signed only so that it
// fills in both signature AlgorithmIdentifiers (the TBSCertList's and the
// outer one), as DER.
struct Frame {
  Bytes tbs;
  Bytes algorithm;
};

Result<Frame> entryless_crl(const CrlRequest& request) {
  const Authority& ca = *request.issuer;
  Crl crl(X509_CRL_new());
  Time this_update(ASN1_TIME_set(nullptr, static_cast<time_t>(request.this_update)));
  Time next_update(ASN1_TIME_set(nullptr, static_cast<time_t>(request.next_update)));
  if (!crl || !this_update || !next_update ||
      X509_CRL_set_version(crl.get(), X509_CRL_VERSION_2) != 1 ||
      X509_CRL_set_issuer_name(crl.get(), X509_get_subject_name(ca.certificate.get())) != 1 ||
      X509_CRL_set1_lastUpdate(crl.get(), this_update.get()) != 1 ||
      X509_CRL_set1_nextUpdate(crl.get(), next_update.get()) != 1)
    return ossl::internal_error("armar CRL");

  ossl::Asn1Integer number(ASN1_INTEGER_new());
  if (!number || ASN1_INTEGER_set_int64(number.get(), request.number) != 1 ||
      X509_CRL_add1_ext_i2d(crl.get(), NID_crl_number, number.get(), 0, 0) != 1)
    return ossl::internal_error("número de CRL");
  X509V3_CTX ctx;
  X509V3_set_ctx(&ctx, ca.certificate.get(), nullptr, nullptr, crl.get(), 0);
  ossl::X509Ext aki(
      X509V3_EXT_conf_nid(nullptr, &ctx, NID_authority_key_identifier, "keyid:always"));
  if (!aki || X509_CRL_add_ext(crl.get(), aki.get(), -1) != 1)
    return ossl::internal_error("AKI de la CRL");

  if (X509_CRL_sign(crl.get(), ca.private_key.get(), EVP_sha256()) <= 0)
    return ossl::internal_error("firmar CRL");
  Frame frame;
  const int tbs_len = i2d_re_X509_CRL_tbs(crl.get(), nullptr);
  if (tbs_len <= 0) return ossl::internal_error("codificar CRL");
  frame.tbs.resize(static_cast<std::size_t>(tbs_len));
  unsigned char* p = frame.tbs.data();
  if (i2d_re_X509_CRL_tbs(crl.get(), &p) != tbs_len) return ossl::internal_error("codificar CRL");

  const ASN1_BIT_STRING* signature = nullptr;
  const X509_ALGOR* algorithm = nullptr;
  X509_CRL_get0_signature(crl.get(), &signature, &algorithm);
  const int alg_len = i2d_X509_ALGOR(algorithm, nullptr);
  if (alg_len <= 0) return ossl::internal_error("algoritmo de la CRL");
  frame.algorithm.resize(static_cast<std::size_t>(alg_len));
  p = frame.algorithm.data();
  if (i2d_X509_ALGOR(algorithm, &p) != alg_len) return ossl::internal_error("algoritmo de la CRL");
  return frame;
}

// Where revokedCertificates goes in the entry-less TBSCertList: after its
// five fields (version, signature, issuer, thisUpdate, nextUpdate), where the
// [0] crlExtensions start.
struct Splice {
  std::size_t contents = 0;  // offset of the SEQUENCE's contents
  std::size_t at = 0;
};

Result<Splice> find_splice(const Bytes& tbs) {
  const auto malformed = [] { return ossl::internal_error("TBSCertList inesperado"); };
  const unsigned char* p = tbs.data();
  const unsigned char* const end = p + tbs.size();
  long length = 0;
  int tag = 0, cls = 0;
  if (ASN1_get_object(&p, &length, &tag, &cls, static_cast<long>(tbs.size())) !=
          V_ASN1_CONSTRUCTED ||
      tag != V_ASN1_SEQUENCE || p + length != end)
    return malformed();
  Splice splice{static_cast<std::size_t>(p - tbs.data()), 0};
  for (int fields = 0; p < end; ++fields) {
    const unsigned char* field = p;
    if (ASN1_get_object(&p, &length, &tag, &cls, end - p) & 0x80) return malformed();
    if (cls == V_ASN1_CONTEXT_SPECIFIC && tag == 0) {
      if (fields != 5) return malformed();
      splice.at = static_cast<std::size_t>(field - tbs.data());
      return splice;
    }
    p += length;
  }
  return malformed();
}

Result<Bytes> sign(EVP_PKEY* key, const Bytes& tbs) {
  MdCtx md(EVP_MD_CTX_new());
  std::size_t size = 0;
  if (!md || EVP_DigestSignInit(md.get(), nullptr, EVP_sha256(), nullptr, key) != 1 ||
      EVP_DigestSign(md.get(), nullptr, &size, tbs.data(), tbs.size()) != 1)
    return ossl::internal_error("firmar CRL");
  Bytes signature(size);
  if (EVP_DigestSign(md.get(), signature.data(), &size, tbs.data(), tbs.size()) != 1)
    return ossl::internal_error("firmar CRL");
  signature.resize(size);
  return signature;
}

}  // namespace

Result<Bytes> build_crl(const CrlRequest& request) {
  const Authority& ca = *request.issuer;
  if (!ca.private_key) return make_error(errc::kCaBloqueada, "La CA emisora no está desbloqueada.");
  Bytes arena;
  auto serials = sorted_serials(request.entries, arena);
  if (!serials) return serials.error();
  auto frame = entryless_crl(request);
  if (!frame) return frame.error();
  auto splice = find_splice(frame->tbs);
  if (!splice) return splice.error();

  std::size_t list = 0;
  for (const Serial& s : *serials)
    list += tlv_size(entry_length(s, arena.data(), request.entries[s.entry]));
  // No entries, no revokedCertificates field at all (not an empty SEQUENCE).
  const std::size_t list_size = serials->empty() ? 0 : tlv_size(list);
  const Bytes& head = frame->tbs;
  const std::size_t contents = head.size() - splice->contents + list_size;
  Bytes tbs(tlv_size(contents));
  Writer out(tbs.data());
  out.header(kSequence, contents);
  out.bytes(head.data() + splice->contents, splice->at - splice->contents);
  if (!serials->empty()) {
    out.header(kSequence, list);
    for (const Serial& s : *serials) write_entry(out, s, arena.data(), request.entries[s.entry]);
  }
  out.bytes(head.data() + splice->at, head.size() - splice->at);
  if (out.at() != tbs.data() + tbs.size()) return ossl::internal_error("tamaño de la CRL");

  auto signature = sign(ca.private_key.get(), tbs);
  if (!signature) return signature.error();
  // CertificateList: SEQUENCE { tbsCertList, signatureAlgorithm, signature
  // BIT STRING (no unused bits) }.
  const std::size_t bits = 1 + signature->size();
  const std::size_t whole = tbs.size() + frame->algorithm.size() + tlv_size(bits);
  Bytes der(tlv_size(whole));
  Writer crl(der.data());
  crl.header(kSequence, whole);
  crl.bytes(tbs.data(), tbs.size());
  crl.bytes(frame->algorithm.data(), frame->algorithm.size());
  crl.header(kBitString, bits);
  crl.byte(0);
  crl.bytes(signature->data(), signature->size());
  return der;
}

}  // namespace llavero
