// What the server's outgoing deliveries share (the callbacks of the
// reception, service/callbacks.h; the correo to the receptor,
// service/mailer.h): libcurl's handles owned, and the rule of their retries.
#pragma once

#include <curl/curl.h>

#include <optional>

#include "util/clock.h"

namespace llavero::service {

struct CurlFree {
  void operator()(CURL* c) const { curl_easy_cleanup(c); }
};
struct SlistFree {
  void operator()(curl_slist* l) const { curl_slist_free_all(l); }
};

// After the failed attempt number `failed` (from 1) of a round made at `at`,
// when the next one is due: `delay_seconds`, then twice that, four times, …
// until `retries` retries were made; then none (given up).
inline std::optional<UnixSeconds> next_retry(int failed, int retries, int delay_seconds,
                                             UnixSeconds at) {
  if (failed > retries) return std::nullopt;
  return at + (static_cast<UnixSeconds>(delay_seconds) << (failed - 1));
}

// Due deliveries are claimed in the store before they are attempted (for as
// long as the attempts of the batch may take, plus this margin), so that of several servers
// sharing one database exactly one makes each attempt; if that server dies
// mid-attempt, another makes it once the claim has lapsed.
inline constexpr UnixSeconds kLeaseMargin = 15;

}  // namespace llavero::service
