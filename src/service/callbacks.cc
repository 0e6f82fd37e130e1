#include "service/callbacks.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <fmt/format.h>
#include <netdb.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>
#include <memory>

#include "service/outgoing.h"
#include "service/reception.h"
#include "util/clock.h"
#include "util/error_codes.h"
#include "util/metrics.h"

namespace llavero::service {

namespace {

// A POST to a callbackUrl that was not answered 200, for /metrics.
metrics::Counter& callback_failures =
    metrics::process()
        .counters("llavero_callback_failures",
                  "Intentos de POST a la callbackUrl de un comprobante que no recibieron HTTP 200.")
        .with({});

void count_callback_failure() {
  callback_failures.add();
}

struct CurlUrlFree {
  void operator()(CURLU* u) const { curl_url_cleanup(u); }
};

// The scheme, host and port of a URL (libcurl's parser, the one that sends).
struct UrlParts {
  std::string scheme, host;
  long port = 0;
};

std::optional<UrlParts> url_parts(const std::string& url) {
  std::unique_ptr<CURLU, CurlUrlFree> u(curl_url());
  if (!u || curl_url_set(u.get(), CURLUPART_URL, url.c_str(), 0) != CURLUE_OK) return std::nullopt;
  UrlParts parts;
  for (auto [part, out] :
       {std::pair{CURLUPART_SCHEME, &parts.scheme}, std::pair{CURLUPART_HOST, &parts.host}}) {
    char* text = nullptr;
    if (curl_url_get(u.get(), part, &text, 0) != CURLUE_OK) return std::nullopt;
    *out = text;
    curl_free(text);
  }
  char* port = nullptr;
  if (curl_url_get(u.get(), CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK) {
    parts.port = std::strtol(port, nullptr, 10);
    curl_free(port);
  }
  if (parts.host.size() > 2 && parts.host.front() == '[')
    parts.host = parts.host.substr(1, parts.host.size() - 2);
  return parts;
}

// Loopback, private (RFC 1918, RFC 4193), link-local, unspecified and
// carrier-grade NAT addresses: where a callback could reach the operator's
// own network.
bool internal_address(const sockaddr* addr) {
  if (addr->sa_family == AF_INET) {
    const auto ip = ntohl(reinterpret_cast<const sockaddr_in*>(addr)->sin_addr.s_addr);
    const auto in = [&](std::uint32_t net, int bits) {
      return bits == 0 || (ip >> (32 - bits)) == (net >> (32 - bits));
    };
    return in(0x7f000000, 8) || in(0x0a000000, 8) || in(0xac100000, 12) || in(0xc0a80000, 16) ||
           in(0xa9fe0000, 16) || in(0x00000000, 8) || in(0x64400000, 10);
  }
  if (addr->sa_family == AF_INET6) {
    const auto& a = reinterpret_cast<const sockaddr_in6*>(addr)->sin6_addr;
    if (IN6_IS_ADDR_LOOPBACK(&a) || IN6_IS_ADDR_UNSPECIFIED(&a) || IN6_IS_ADDR_LINKLOCAL(&a))
      return true;
    if ((a.s6_addr[0] & 0xfe) == 0xfc) return true;  // fc00::/7
    if (IN6_IS_ADDR_V4MAPPED(&a)) {
      sockaddr_in v4{};
      v4.sin_family = AF_INET;
      std::memcpy(&v4.sin_addr, a.s6_addr + 12, 4);
      return internal_address(reinterpret_cast<const sockaddr*>(&v4));
    }
  }
  return false;
}

std::size_t discard(char*, std::size_t size, std::size_t count, void*) {
  return size * count;  // the receiver's body is not read
}

}  // namespace

Status callback_destination_allowed(const std::string& url, Environment env, const Config& config) {
  auto parts = url_parts(url);
  if (!parts || (parts->scheme != "http" && parts->scheme != "https") || parts->host.empty())
    return make_error(errc::kCallbackDestino, "callbackUrl debe ser una URL http o https.");
  if (env == Environment::kPruebas) return Ok{};
  for (const std::string& allowed : config.callback_allowed_hosts)
    if (allowed == parts->host) return Ok{};
  addrinfo hints{};
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* found = nullptr;
  if (getaddrinfo(parts->host.c_str(), nullptr, &hints, &found) != 0 || found == nullptr)
    return make_error(errc::kCallbackDestino,
                      fmt::format("El host de callbackUrl ({}) no se pudo resolver.", parts->host));
  bool internal = false;
  for (const addrinfo* a = found; a != nullptr; a = a->ai_next)
    internal = internal || internal_address(a->ai_addr);
  freeaddrinfo(found);
  if (internal)
    return make_error(errc::kCallbackDestino,
                      fmt::format("callbackUrl apunta a una dirección privada, local o de enlace "
                                  "local ({}), no permitida en producción.",
                                  parts->host));
  return Ok{};
}

CallbackSender::CallbackSender(Store& store, const Config& config)
    : store_(store), config_(config) {
  curl_global_init(CURL_GLOBAL_DEFAULT);
}

std::pair<int, std::string> CallbackSender::post(const ComprobanteRecord& c) {
  if (Status allowed = callback_destination_allowed(*c.callback_url, c.environment, config_);
      !allowed)
    return {0, allowed.error().message};
  std::unique_ptr<CURL, CurlFree> curl(curl_easy_init());
  if (!curl) return {0, "libcurl no se pudo iniciar"};
  const std::string body = estado_json(c);
  std::unique_ptr<curl_slist, SlistFree> headers(
      curl_slist_append(nullptr, "Content-Type: application/json"));
  char error[CURL_ERROR_SIZE] = {};
  CURL* h = curl.get();
  curl_easy_setopt(h, CURLOPT_URL, c.callback_url->c_str());
  curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
  curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
  curl_easy_setopt(h, CURLOPT_POST, 1L);
  curl_easy_setopt(h, CURLOPT_POSTFIELDS, body.data());
  curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE, static_cast<long>(body.size()));
  curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers.get());
  curl_easy_setopt(h, CURLOPT_TIMEOUT, static_cast<long>(config_.callback_timeout_seconds));
  curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
  curl_easy_setopt(h, CURLOPT_ERRORBUFFER, error);
  curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
  curl_easy_setopt(h, CURLOPT_USERAGENT, "llavero-recepcion");
  const CURLcode rc = curl_easy_perform(h);
  long status = 0;
  curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
  if (rc != CURLE_OK) return {0, error[0] != '\0' ? error : curl_easy_strerror(rc)};
  if (status != 200) return {static_cast<int>(status), fmt::format("respuesta HTTP {}", status)};
  return {200, ""};
}

Result<int> CallbackSender::deliver_due() {
  std::unique_lock lock(busy_, std::try_to_lock);
  if (!lock) return 0;
  // The due ones are claimed for as long as their POSTs may take, one after
  // the other: other servers on the same store skip them meanwhile, so one
  // server makes each attempt (service/outgoing.h).
  constexpr int kBatch = 20;
  const UnixSeconds now = now_seconds();
  auto due = store_.claim_callbacks(
      now, now + kBatch * static_cast<UnixSeconds>(config_.callback_timeout_seconds) + kLeaseMargin,
      kBatch);
  if (!due) return due.error();
  int attempts = 0;
  for (const ComprobanteRecord& c : *due) {
    if (!c.callback_url) continue;
    const auto [status, error] = post(c);
    ++attempts;
    CallbackAttempt attempt{c.callback_attempts + 1, now_seconds(), status, error};
    CallbackState state = CallbackState::kPendiente;
    UnixSeconds next = 0;
    if (status != 200) count_callback_failure();
    if (status == 200) {
      state = CallbackState::kEntregado;
    } else if (auto retry = next_retry(attempt.number, config_.callback_attempts,
                                       config_.callback_delay_seconds, attempt.at)) {
      next = *retry;  // 5 s, 10 s, 20 s, … by default
    } else {
      state = CallbackState::kAbandonado;
    }
    spdlog::info("recepción: callback de {} intento {}: {}{}", c.clave, attempt.number,
                 status == 0 ? std::string("sin respuesta") : fmt::format("HTTP {}", status),
                 state == CallbackState::kAbandonado ? " (abandonado)" : "");
    LLAVERO_TRY(store_.record_callback_attempt(c.clave, attempt, state, next));
  }
  return attempts;
}

}  // namespace llavero::service
