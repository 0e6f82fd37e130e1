// A browser without a network for the portal's tests: requests go straight
// to a router's routes (or its not-found route), cookies are kept between
// them, as a browser would.
#pragma once

#include <gtest/gtest.h>

#include <map>
#include <regex>
#include <string>

#include "http/http.h"

namespace llavero::testing {

struct PortalBrowser {
  http::Router router;
  std::map<std::string, std::string> cookies;

  http::Response go(http::verb method, const std::string& target, const std::string& body = "") {
    http::Request request(method, target, 11);
    std::string jar;
    for (const auto& [name, value] : cookies) jar += (jar.empty() ? "" : "; ") + name + "=" + value;
    if (!jar.empty()) request.set(http::field::cookie, jar);
    if (method == http::verb::post) {
      request.set(http::field::content_type, "application/x-www-form-urlencoded");
      request.body() = body;
      request.prepare_payload();
    }
    http::RouteContext context;
    context.path = std::string(http::target_path(target));
    context.remote_address = "10.0.0.1";
    const http::Router::Match match = router.find(method, context.path);
    const http::Route* route = match.route ? match.route : router.not_found();
    if (route == nullptr) return http::Response(http::status::not_found, 11);
    context.rest = std::string(match.rest);
    http::Response r = route->slow(request, context);
    for (const auto& h : r) {
      if (h.name() != http::field::set_cookie) continue;
      const std::string line(h.value());
      const std::size_t eq = line.find('=');
      const std::string name = line.substr(0, eq);
      if (line.find("Max-Age=0") != std::string::npos)
        cookies.erase(name);
      else
        cookies[name] = line.substr(eq + 1, line.find(';') - eq - 1);
    }
    return r;
  }
  http::Response get(const std::string& target) { return go(http::verb::get, target); }
  http::Response post(const std::string& target, const std::string& body) {
    return go(http::verb::post, target, body);
  }

  static std::string hidden(const std::string& html, const std::string& name) {
    std::smatch m;
    const std::regex field("name=\"" + name + "\" value=\"([^\"]*)\"");
    return std::regex_search(html, m, field) ? m[1].str() : std::string();
  }

  // Logs in through the form; the session's CSRF token.
  std::string log_in(const std::string& person, const std::string& password) {
    const std::string login_csrf = hidden(get("/ingresar").body(), "csrf");
    http::Response r = post("/ingresar", "csrf=" + login_csrf + "&identificacion=" + person +
                                             "&contrasena=" + password);
    EXPECT_EQ(r.result(), http::status::see_other);
    EXPECT_EQ(r[http::field::location], "/portal");
    return hidden(get("/portal").body(), "csrf");
  }
};

}  // namespace llavero::testing
