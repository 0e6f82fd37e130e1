// The bytes of a request as the server reads them: Beast's parser with the
// server's header limit, then the framing rule (Transfer-Encoding and
// Content-Length), the target and the form body, as dispatch() takes them.
#include <boost/beast/http.hpp>
#include <cstdint>
#include <string_view>

#include "http/http.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  namespace beast_http = llavero::http::beast_http;
  beast_http::request_parser<beast_http::string_body> parser;
  parser.header_limit(8 * 1024);
  parser.body_limit(64 * 1024);
  parser.eager(true);
  boost::beast::error_code ec;
  parser.put(boost::asio::buffer(data, size), ec);
  if (ec && ec != beast_http::error::need_more) return 0;
  if (!parser.is_header_done()) return 0;
  const auto& request = parser.get();
  (void)llavero::http::framing_problem(request);
  const std::string_view path = llavero::http::target_path(request.target());
  (void)llavero::http::safe_target(path);
  if (parser.is_done()) (void)llavero::http::parse_form(request.body());
  return 0;
}
