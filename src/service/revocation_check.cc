#include "service/revocation_check.h"

#include <fmt/format.h>
#include <openssl/err.h>
#include <openssl/ocsp.h>
#include <openssl/pem.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <ctime>

#include "pki/ocsp.h"

namespace llavero::service {

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;

constexpr const char* kStoreSource = "almacén de esta instalación";

RevocationAnswer not_checked(std::string source, std::string detail) {
  RevocationAnswer a;
  a.status = RevocationStatus::kNotChecked;
  a.source = std::move(source);
  a.detail = std::move(detail);
  return a;
}

std::optional<UnixSeconds> asn1_seconds(const ASN1_TIME* t) {
  std::tm tm{};
  if (t == nullptr || ASN1_TIME_to_tm(t, &tm) != 1) return std::nullopt;
  return static_cast<UnixSeconds>(timegm(&tm));
}

std::optional<RevocationReason> reason_from_code(long code) {
  switch (code) {
    case 1: return RevocationReason::kKeyCompromise;
    case 3: return RevocationReason::kAffiliationChanged;
    case 4: return RevocationReason::kSuperseded;
    case 5: return RevocationReason::kCessationOfOperation;
    default: return std::nullopt;
  }
}

// --- a small HTTP client --------------------------------------------------------------------

struct HttpUrl {
  std::string host, port, target;
};

// Only plain http: OCSP and CRL answers are signed, and their URLs are
// http by convention (RFC 5280 §4.2.1.13, RFC 6960 appendix A).
std::optional<HttpUrl> parse_http_url(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (!url.starts_with(kScheme)) return std::nullopt;
  url.remove_prefix(kScheme.size());
  const auto slash = url.find('/');
  std::string_view authority = url.substr(0, slash);
  HttpUrl out;
  out.target = slash == std::string_view::npos ? "/" : std::string(url.substr(slash));
  if (authority.empty() || authority.find('@') != std::string_view::npos) return std::nullopt;
  const auto colon = authority.rfind(':');
  if (colon != std::string_view::npos && authority.find(']') == std::string_view::npos) {
    out.host = std::string(authority.substr(0, colon));
    out.port = std::string(authority.substr(colon + 1));
  } else {
    out.host = std::string(authority);
    out.port = "80";
  }
  if (out.host.empty() || out.port.empty()) return std::nullopt;
  for (char c : out.port)
    if (c < '0' || c > '9') return std::nullopt;
  return out;
}

// One request, one response, within `timeout` from the first DNS lookup to
// the last byte; the body is refused beyond `limit` bytes. Returns the body
// of a 200 answer or a Spanish reason.
struct Fetched {
  std::optional<std::string> body;
  std::string problem;
};

Fetched http_exchange(const std::string& url_text, http::verb method, std::string body,
                      const char* content_type, std::size_t limit, std::chrono::seconds timeout) {
  Fetched out;
  auto url = parse_http_url(url_text);
  if (!url) {
    out.problem = fmt::format("la dirección {} no es http://", url_text);
    return out;
  }
  boost::asio::io_context io;
  tcp::resolver resolver(io);
  beast::tcp_stream stream(io);
  beast::flat_buffer buffer;
  http::request<http::string_body> request{method, url->target, 11};
  request.set(http::field::host, url->port == "80" ? url->host : url->host + ":" + url->port);
  request.set(http::field::user_agent, "llavero");
  request.set(http::field::connection, "close");
  if (content_type != nullptr) request.set(http::field::content_type, content_type);
  request.body() = std::move(body);
  request.prepare_payload();
  http::response_parser<http::string_body> parser;
  parser.body_limit(limit);
  beast::error_code failure;
  bool done = false;

  stream.expires_after(timeout);
  resolver.async_resolve(
      url->host, url->port, [&](beast::error_code ec, tcp::resolver::results_type results) {
        if (ec) {
          failure = ec;
          done = true;
          return;
        }
        stream.async_connect(results, [&](beast::error_code ec, const tcp::endpoint&) {
          if (ec) {
            failure = ec;
            done = true;
            return;
          }
          http::async_write(stream, request, [&](beast::error_code ec, std::size_t) {
            if (ec) {
              failure = ec;
              done = true;
              return;
            }
            http::async_read(stream, buffer, parser, [&](beast::error_code ec, std::size_t) {
              failure = ec;
              done = true;
            });
          });
        });
      });
  io.run_for(timeout);
  if (!done) {
    // The lookup is not covered by the stream's timer: cancel everything and
    // let the handlers run out.
    resolver.cancel();
    beast::error_code ignored;
    stream.socket().close(ignored);
    io.restart();
    io.run();
    out.problem = fmt::format("{} no respondió en {} s", url_text, timeout.count());
    return out;
  }
  if (failure) {
    out.problem = fmt::format("no se pudo consultar {}: {}", url_text, failure.message());
    return out;
  }
  auto response = parser.release();
  if (response.result() != http::status::ok) {
    out.problem = fmt::format("{} respondió {}", url_text, response.result_int());
    return out;
  }
  out.body = std::move(response.body());
  return out;
}

// --- where a certificate says to ask --------------------------------------------------------

std::vector<std::string> ocsp_urls(const X509& cert) {
  std::vector<std::string> out;
  ossl::UrlStack urls(X509_get1_ocsp(const_cast<X509*>(&cert)));
  for (int i = 0; urls && i < sk_OPENSSL_STRING_num(urls.get()); ++i)
    out.emplace_back(sk_OPENSSL_STRING_value(urls.get(), i));
  return out;
}

std::vector<std::string> crl_urls(const X509& cert) {
  std::vector<std::string> out;
  ossl::CrlDistPoints points(static_cast<CRL_DIST_POINTS*>(
      X509_get_ext_d2i(&cert, NID_crl_distribution_points, nullptr, nullptr)));
  for (int i = 0; points && i < sk_DIST_POINT_num(points.get()); ++i) {
    const DIST_POINT* point = sk_DIST_POINT_value(points.get(), i);
    if (point->distpoint == nullptr || point->distpoint->type != 0) continue;
    const GENERAL_NAMES* names = point->distpoint->name.fullname;
    for (int j = 0; j < sk_GENERAL_NAME_num(names); ++j) {
      const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, j);
      if (name->type != GEN_URI) continue;
      const ASN1_IA5STRING* uri = name->d.uniformResourceIdentifier;
      out.emplace_back(reinterpret_cast<const char*>(ASN1_STRING_get0_data(uri)),
                       static_cast<std::size_t>(ASN1_STRING_length(uri)));
    }
  }
  return out;
}

}  // namespace

RevocationChecker::RevocationChecker(CertificateStore* store, RevocationCheckOptions options)
    : store_(store), options_(options) {}

RevocationCallback RevocationChecker::callback() {
  return [this](const X509& cert, const X509& issuer) { return check(cert, issuer); };
}

Result<const std::vector<RevocationChecker::OwnCa>*> RevocationChecker::own_cas() {
  std::lock_guard lock(mu_);
  if (!own_cas_) {
    auto records = store_->authorities();
    if (!records) return records.error();
    std::vector<OwnCa> cas;
    for (const AuthorityRecord& r : *records) {
      auto cert = ossl::x509_from_der(r.certificate_der);
      if (!cert) return cert.error();
      cas.push_back(OwnCa{r.id, std::move(*cert)});
    }
    own_cas_ = std::move(cas);
  }
  return &*own_cas_;
}

Result<RevocationAnswer> RevocationChecker::check(const X509& cert, const X509& issuer) {
  if (store_ != nullptr) {
    auto cas = own_cas();
    if (!cas) return cas.error();
    for (const OwnCa& ca : **cas)
      if (X509_cmp(ca.certificate.get(), &issuer) == 0) return from_store(ca.authority_id, cert);
  }
  std::vector<std::string> tried;
  if (options_.use_ocsp) {
    for (const std::string& url : ocsp_urls(cert)) {
      RevocationAnswer answer = by_ocsp(cert, issuer, url);
      if (answer.status != RevocationStatus::kNotChecked) return answer;
      tried.push_back(fmt::format("OCSP: {}", answer.detail));
    }
  }
  if (options_.use_crl) {
    for (const std::string& url : crl_urls(cert)) {
      RevocationAnswer answer = by_crl(cert, issuer, url);
      if (answer.status != RevocationStatus::kNotChecked) return answer;
      tried.push_back(fmt::format("CRL: {}", answer.detail));
    }
  }
  if (tried.empty())
    return not_checked("", "el certificado no indica dónde consultar (ni OCSP ni CRL)");
  std::string detail;
  for (const std::string& t : tried) detail += (detail.empty() ? "" : "; ") + t;
  return not_checked("", detail);
}

Result<RevocationAnswer> RevocationChecker::from_store(std::int64_t authority_id,
                                                       const X509& cert) {
  const std::string serial = ossl::serial_hex(cert);
  auto record = store_->find_certificate(authority_id, serial);
  if (!record) return record.error();
  RevocationAnswer answer;
  answer.source = kStoreSource;
  auto der = ossl::x509_to_der(cert);
  if (!der) return der.error();
  if (!*record || (*record)->status == CertificateStatus::kReserved ||
      (*record)->certificate_der != *der) {
    answer.status = RevocationStatus::kUnknown;
    answer.detail = fmt::format("no hay un certificado emitido con el número de serie {}", serial);
    return answer;
  }
  const CertificateRecord& c = **record;
  if (c.status == CertificateStatus::kRevoked) {
    answer.status = RevocationStatus::kRevoked;
    answer.revoked_at = c.revoked_at.value_or(0);
    answer.reason = c.revocation_reason;
    return answer;
  }
  answer.status = RevocationStatus::kGood;
  return answer;
}

RevocationAnswer RevocationChecker::by_ocsp(const X509& cert, const X509& issuer,
                                            const std::string& url) {
  const std::string source = "OCSP " + url;
  OcspRequestPtr request(OCSP_REQUEST_new());
  ossl::OcspCertId id(OCSP_cert_to_id(EVP_sha1(), &cert, &issuer));
  ossl::OcspCertId asked(id ? OCSP_CERTID_dup(id.get()) : nullptr);
  if (!request || !asked || OCSP_request_add0_id(request.get(), id.get()) == nullptr)
    return not_checked(source, "no se pudo armar la solicitud OCSP");
  id.release();  // owned by the request now
  if (OCSP_request_add1_nonce(request.get(), nullptr, -1) != 1)
    return not_checked(source, "no se pudo armar la solicitud OCSP");
  const int len = i2d_OCSP_REQUEST(request.get(), nullptr);
  std::string der(static_cast<std::size_t>(std::max(len, 0)), '\0');
  unsigned char* p = reinterpret_cast<unsigned char*>(der.data());
  i2d_OCSP_REQUEST(request.get(), &p);

  Fetched fetched = http_exchange(url, http::verb::post, std::move(der), "application/ocsp-request",
                                  options_.max_ocsp_bytes, options_.timeout);
  if (!fetched.body) return not_checked(source, fetched.problem);
  const auto* data = reinterpret_cast<const unsigned char*>(fetched.body->data());
  ossl::OcspResponse response(
      d2i_OCSP_RESPONSE(nullptr, &data, static_cast<long>(fetched.body->size())));
  if (!response) {
    ossl::last_error();
    return not_checked(source, "la respuesta OCSP está mal formada");
  }
  const int status = OCSP_response_status(response.get());
  if (status != OCSP_RESPONSE_STATUS_SUCCESSFUL)
    return not_checked(source, fmt::format("el respondedor OCSP no respondió ({})",
                                           OCSP_response_status_str(status)));
  ossl::OcspBasicResponse basic(OCSP_response_get1_basic(response.get()));
  if (!basic) return not_checked(source, "la respuesta OCSP está mal formada");
  // 1: our nonce came back; -1: the responder does not use nonces (its answer
  // must then be fresh, checked below); anything else is a replay or a mix-up.
  const int nonce = OCSP_check_nonce(request.get(), basic.get());
  if (nonce != 1 && nonce != -1)
    return not_checked(source, "el nonce de la respuesta OCSP no coincide");

  // The response must be signed by the issuer or by a responder it
  // delegated (EKU OCSPSigning): the issuer is the only anchor.
  ossl::X509Store anchors(X509_STORE_new());
  ossl::X509Stack helpers(sk_X509_new_null());
  if (!anchors || !helpers || X509_STORE_add_cert(anchors.get(), const_cast<X509*>(&issuer)) != 1 ||
      X509_STORE_set_flags(anchors.get(), X509_V_FLAG_PARTIAL_CHAIN) != 1)
    return not_checked(source, "no se pudo preparar la verificación OCSP");
  ossl::push_shared(helpers.get(), &issuer);
  if (OCSP_basic_verify(basic.get(), helpers.get(), anchors.get(), OCSP_NOEXPLICIT) <= 0) {
    ossl::last_error();
    return not_checked(source, "la respuesta OCSP no está firmada por el emisor del certificado");
  }

  int cert_status = V_OCSP_CERTSTATUS_UNKNOWN, reason = -1;
  ASN1_GENERALIZEDTIME *revoked_at = nullptr, *this_update = nullptr, *next_update = nullptr;
  if (OCSP_resp_find_status(basic.get(), asked.get(), &cert_status, &reason, &revoked_at,
                            &this_update, &next_update) != 1)
    return not_checked(source, "la respuesta OCSP no habla de este certificado");
  if (OCSP_check_validity(this_update, next_update, options_.clock_skew, -1) != 1) {
    ossl::last_error();
    return not_checked(source, "la respuesta OCSP no está vigente");
  }
  RevocationAnswer answer;
  answer.source = source;
  if (cert_status == V_OCSP_CERTSTATUS_GOOD) {
    answer.status = RevocationStatus::kGood;
  } else if (cert_status == V_OCSP_CERTSTATUS_REVOKED) {
    answer.status = RevocationStatus::kRevoked;
    answer.revoked_at = asn1_seconds(revoked_at).value_or(0);
    answer.reason = reason_from_code(reason);
  } else {
    answer.status = RevocationStatus::kUnknown;
    answer.detail = "el respondedor OCSP no conoce el certificado";
  }
  return answer;
}

RevocationAnswer RevocationChecker::by_crl(const X509& cert, const X509& issuer,
                                           const std::string& url) {
  const std::string source = "CRL " + url;
  Fetched fetched =
      http_exchange(url, http::verb::get, "", nullptr, options_.max_crl_bytes, options_.timeout);
  if (!fetched.body) return not_checked(source, fetched.problem);
  const auto* data = reinterpret_cast<const unsigned char*>(fetched.body->data());
  ossl::X509Crl crl(d2i_X509_CRL(nullptr, &data, static_cast<long>(fetched.body->size())));
  if (!crl) {  // some publish PEM
    ossl::Bio bio(BIO_new_mem_buf(fetched.body->data(), static_cast<int>(fetched.body->size())));
    crl.reset(PEM_read_bio_X509_CRL(bio.get(), nullptr, nullptr, nullptr));
  }
  ossl::last_error();
  if (!crl) return not_checked(source, "la CRL está mal formada");
  if (X509_NAME_cmp(X509_CRL_get_issuer(crl.get()), X509_get_subject_name(&issuer)) != 0 ||
      X509_CRL_verify(crl.get(), X509_get0_pubkey(&issuer)) != 1) {
    ossl::last_error();
    return not_checked(source, "la CRL no está firmada por el emisor del certificado");
  }
  const UnixSeconds now = now_seconds();
  const auto next_update = asn1_seconds(X509_CRL_get0_nextUpdate(crl.get()));
  if (next_update && *next_update + options_.clock_skew < now)
    return not_checked(source, "la CRL está vencida");
  RevocationAnswer answer;
  answer.source = source;
  X509_REVOKED* entry = nullptr;
  if (X509_CRL_get0_by_cert(crl.get(), &entry, const_cast<X509*>(&cert)) == 1 && entry != nullptr) {
    answer.status = RevocationStatus::kRevoked;
    answer.revoked_at = asn1_seconds(X509_REVOKED_get0_revocationDate(entry)).value_or(0);
    ossl::Asn1Enumerated code(static_cast<ASN1_ENUMERATED*>(
        X509_REVOKED_get_ext_d2i(entry, NID_crl_reason, nullptr, nullptr)));
    if (code) answer.reason = reason_from_code(ASN1_ENUMERATED_get(code.get()));
    return answer;
  }
  answer.status = RevocationStatus::kGood;
  return answer;
}

}  // namespace llavero::service
