// The HTTP vocabulary of the web layer: request and response types, the
// router that maps a method and path to a handler, and small response helpers.
#pragma once

#include <boost/beast/http.hpp>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "http/client_limits.h"

namespace llavero::http {

// Beast's HTTP vocabulary, under this layer's name: callers write
// http::verb, http::status and http::field.
namespace beast_http = boost::beast::http;
using beast_http::field;
using beast_http::status;
using beast_http::verb;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;

// Immutable bytes shared by every response that serves them (a CRL of
// megabytes asked by many clients at once): the server writes from the one
// buffer, no response copies it.
using SharedBytes = std::shared_ptr<const std::vector<std::uint8_t>>;

// A Beast body whose value is a SharedBytes: it is written in place, as one
// buffer, and the response holds the buffer alive until it was sent.
struct SharedBytesBody {
  using value_type = SharedBytes;
  static std::uint64_t size(const value_type& body) { return body ? body->size() : 0; }

  class writer {
   public:
    using const_buffers_type = boost::asio::const_buffer;
    template <bool isRequest, class Fields>
    writer(const beast_http::header<isRequest, Fields>&, const value_type& body) : body_(body) {}
    void init(boost::beast::error_code& ec) { ec = {}; }
    boost::optional<std::pair<const_buffers_type, bool>> get(boost::beast::error_code& ec) {
      ec = {};
      if (sent_ || !body_ || body_->empty()) return boost::none;
      sent_ = true;
      return std::make_pair(const_buffers_type(body_->data(), body_->size()), false);
    }

   private:
    const value_type& body_;
    bool sent_ = false;
  };
};

// What a handler sees besides the request.
struct RouteContext {
  std::string path;  // target without the query string
  std::string rest;  // for prefix routes: the part after the prefix
  std::string remote_address;
  bool tls = false;
  // A handler may set this; the server calls it once the response was
  // written, with true if it was written completely (e.g. to wipe a file
  // after its first complete download).
  std::shared_ptr<std::function<void(bool complete)>> after_send =
      std::make_shared<std::function<void(bool)>>();
  // A handler may set this: the server then sends these bytes as the body
  // of the handler's response (whose own body must be empty; its status and
  // headers are kept), without copying them.
  mutable SharedBytes shared_body;
};

// A route answers on the I/O thread when it can (`fast`, cheap work only:
// a lookup, a cached body) and otherwise on the worker pool (`slow`: signing,
// key generation, password hashing). `fast` returning nullopt passes the
// request on to `slow`.
struct Route {
  std::function<std::optional<Response>(const Request&, const RouteContext&)> fast;
  std::function<Response(const Request&, const RouteContext&)> slow;
  std::size_t max_body = 0;  // 0: the server's default limit
  // Which queue `slow` runs on and which request rate per address applies.
  Work work = Work::kGeneral;
};

class Router {
 public:
  // Exact path, or every path under `prefix` (which ends with '/').
  void add(http::verb method, std::string path, Route route);
  void add_prefix(http::verb method, std::string prefix, Route route);

  struct Match {
    const Route* route = nullptr;
    std::string_view rest;
    bool path_known = false;  // true with no route: wrong method (405)
    std::string allow;        // the methods the path answers, for 405's Allow
  };
  Match find(http::verb method, std::string_view path) const;
  // What answers a path no route knows (not a wrong method: that stays 405),
  // e.g. the portal's 404 page; without one the server answers plain text.
  void set_not_found(Route route) { not_found_ = std::move(route); }
  const Route* not_found() const { return not_found_ ? &*not_found_ : nullptr; }
  // The body limit of the route a request goes to (0: the default).
  std::size_t body_limit(http::verb method, std::string_view target) const;

 private:
  struct Entry {
    http::verb method;
    std::string path;
    bool prefix;
    Route route;
  };
  std::vector<Entry> entries_;
  std::optional<Route> not_found_;
};

// Wipes a request's body (it may hold a PIN or a password); the server does
// this once a request has been answered.
void wipe_body(Request& request);

// A response with the given status, body and content type, plus the headers
// every answer carries (Server, X-Content-Type-Options).
Response make_response(const Request& request, http::status status, std::string body,
                       std::string_view content_type);
// A short Spanish plain-text error.
Response error_response(const Request& request, http::status status, std::string_view message);

// The fields of an application/x-www-form-urlencoded body (at most 16);
// nullopt when malformed. Fields often hold a PIN or a password, so their
// values are wiped when the form goes away.
class Form : public std::map<std::string, std::string, std::less<>> {
 public:
  using map::map;
  Form() = default;
  Form(const Form&) = default;
  Form(Form&&) = default;
  Form& operator=(const Form&) = default;
  Form& operator=(Form&&) = default;
  ~Form();
};
// At most `max_fields` fields: the portal's forms are small, but for
// Emitir's lines.
std::optional<Form> parse_form(std::string_view body, std::size_t max_fields = 16);

// The path of a request target, without query string.
std::string_view target_path(std::string_view target);
// Percent-decoding; nullopt for a malformed escape.
std::optional<std::string> percent_decode(std::string_view text);

// Whether a request path is acceptable: absolute, without dot segments
// (also percent-encoded ones), NUL or backslash.
bool safe_target(std::string_view path);

// RFC 9112 §6: a request body is framed by Content-Length or by a final
// "chunked" coding, never both, and this server knows no other coding. Any
// other Transfer-Encoding would leave the end of the body in doubt: a proxy
// in front may frame it differently and smuggle a second request (§6.1
// requires a 400 and closing the connection). Returns the problem in
// Spanish, or empty.
std::string_view framing_problem(const Request& header);

}  // namespace llavero::http
