// The HTTP vocabulary (http/http.h): reading form bodies and request
// targets, and the router that decides between a handler, 404 and 405.
#include "http/http.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <rapidcheck/gtest.h>

#include "api/routes.h"
#include "testing.h"

namespace llavero {
namespace {

using http::Form;
using http::Route;
using http::Router;
using http::verb;

// --- forms -------------------------------------------------------------------------

TEST(ParseForm, FieldsAndValues) {
  auto form = http::parse_form("grant_type=password&client_id=api-stag&username=u%40x.cr");
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(*form,
            (Form{{"grant_type", "password"}, {"client_id", "api-stag"}, {"username", "u@x.cr"}}));
}

TEST(ParseForm, PlusIsASpaceAndEscapedPlusIsAPlus) {
  auto form = http::parse_form("nombre=Pe%C3%B1a+de+Prueba&clave=a%2Bb+c&mi+campo=1");
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(form->at("nombre"), "Peña de Prueba");
  EXPECT_EQ(form->at("clave"), "a+b c");
  EXPECT_EQ(form->at("mi campo"), "1");
}

TEST(ParseForm, EscapedSeparatorsAreData) {
  auto form = http::parse_form("a%3Db=c%26d%3De");
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(*form, (Form{{"a=b", "c&d=e"}}));
  // An unescaped '=' in a value belongs to the value.
  EXPECT_EQ(http::parse_form("password=ab==")->at("password"), "ab==");
}

TEST(ParseForm, EmptyPiecesAndMissingValues) {
  EXPECT_EQ(http::parse_form(""), Form{});
  EXPECT_EQ(http::parse_form("&&a=1&&"), (Form{{"a", "1"}}));
  EXPECT_EQ(http::parse_form("casilla"), (Form{{"casilla", ""}}));
  EXPECT_EQ(http::parse_form("a="), (Form{{"a", ""}}));
  EXPECT_EQ(http::parse_form("=v"), (Form{{"", "v"}}));
}

TEST(ParseForm, MalformedEscapesRefuseTheWholeForm) {
  for (std::string_view body :
       {"a=%", "a=%4", "a=%G1", "a=%4G", "a=%%41", "%zz=1", "a=1&b=%", "a=1&b=100%", "a=%+1"})
    EXPECT_FALSE(http::parse_form(body).has_value()) << body;
}

TEST(ParseForm, SixteenFieldsAreAcceptedAndSeventeenAreNot) {
  std::string body;
  for (int i = 0; i < 16; ++i) body += fmt::format("{}f{}={}", i ? "&" : "", i, i);
  auto sixteen = http::parse_form(body);
  ASSERT_TRUE(sixteen.has_value());
  EXPECT_EQ(sixteen->size(), 16u);
  EXPECT_FALSE(http::parse_form(body + "&f16=16").has_value());
}

TEST(ParseForm, ARepeatedKeyKeepsTheLastValue) {
  auto form = http::parse_form("client_id=api-prod&client_id=api-stag");
  ASSERT_TRUE(form.has_value());
  EXPECT_EQ(*form, (Form{{"client_id", "api-stag"}}));
}

TEST(ParseForm, SeventeenPairsAreRefusedEvenWhenOneRepeatsAKey) {
  std::string body;
  for (int i = 0; i < 16; ++i) body += fmt::format("f{}={}&", i, i);
  EXPECT_FALSE(http::parse_form(body + "f0=otra").has_value());
  // Fewer pairs with repeats are fine.
  EXPECT_EQ(http::parse_form("a=1&a=2&a=3")->size(), 1u);
}

RC_GTEST_PROP(ParseForm, EscapedFieldsComeBackAsTheyWere,
              (const std::string& key, const std::string& value)) {
  auto escape = [](const std::string& s) {
    std::string out;
    for (unsigned char c : s) out += fmt::format("%{:02X}", c);
    return out;
  };
  auto form = http::parse_form(escape(key) + "=" + escape(value));
  RC_ASSERT(form.has_value());
  RC_ASSERT(form->size() == 1u);
  RC_ASSERT(form->begin()->first == key);
  RC_ASSERT(form->begin()->second == value);
}

// --- targets -----------------------------------------------------------------------

TEST(TargetPath, DropsTheQueryString) {
  EXPECT_EQ(http::target_path("/ingresar?salida=1"), "/ingresar");
  EXPECT_EQ(http::target_path("/llaves/pruebas"), "/llaves/pruebas");
  EXPECT_EQ(http::target_path("/a?b?c"), "/a");
  EXPECT_EQ(http::target_path("/a?"), "/a");
  EXPECT_EQ(http::target_path("?x=1"), "");
  EXPECT_EQ(http::target_path(""), "");
}

TEST(PercentDecode, DecodesEscapesOfEitherCase) {
  EXPECT_EQ(http::percent_decode("%41%42c"), "ABc");
  EXPECT_EQ(http::percent_decode("%e2%82%ac"), "€");
  EXPECT_EQ(http::percent_decode("%E2%82%AC"), "€");
  EXPECT_EQ(http::percent_decode("a%2Fb"), "a/b");
  EXPECT_EQ(http::percent_decode("x%41"), "xA");  // an escape at the very end
  EXPECT_EQ(http::percent_decode(""), "");
}

TEST(PercentDecode, LeavesPlusAlone) {
  // '+' means space only in form bodies; parse_form handles it.
  EXPECT_EQ(http::percent_decode("a+b"), "a+b");
}

TEST(PercentDecode, MalformedEscapesAreRefused) {
  for (std::string_view text : {"%", "%4", "x%4", "100%", "%G0", "%0G", "%%", "% 41", "%-1"})
    EXPECT_FALSE(http::percent_decode(text).has_value()) << text;
}

// --- the router --------------------------------------------------------------------

// A route whose fast handler answers with `name` as the body, so a test can
// tell which route was found.
Route named(std::string name, std::size_t max_body = 0) {
  Route r;
  r.fast = [name](const http::Request& request,
                  const http::RouteContext&) -> std::optional<http::Response> {
    return http::make_response(request, http::status::ok, name, "text/plain");
  };
  r.max_body = max_body;
  return r;
}

std::string which(const Router& router, verb method, std::string_view path) {
  const Router::Match match = router.find(method, path);
  if (!match.route) return match.path_known ? "405" : "404";
  http::Request request(method, std::string(path), 11);
  return match.route->fast(request, http::RouteContext{})->body();
}

TEST(Router, ExactPathsMatchExactly) {
  Router router;
  router.add(verb::get, "/ingresar", named("ingresar"));
  router.add(verb::get, "/", named("raiz"));
  EXPECT_EQ(which(router, verb::get, "/ingresar"), "ingresar");
  EXPECT_EQ(which(router, verb::get, "/"), "raiz");
  for (std::string_view other : {"/ingresar/", "/ingresarx", "/Ingresar", "/ingresa", ""})
    EXPECT_EQ(which(router, verb::get, other), "404") << other;
}

TEST(Router, PrefixRoutesTakeWhatFollowsThePrefix) {
  Router router;
  router.add_prefix(verb::get, "/recepcion/", named("consulta"));
  const Router::Match match = router.find(verb::get, "/recepcion/506-clave");
  ASSERT_NE(match.route, nullptr);
  EXPECT_EQ(match.rest, "506-clave");
  EXPECT_EQ(router.find(verb::get, "/recepcion/a/b").rest, "a/b");
  // The prefix alone, or the path without its slash, is not under it.
  EXPECT_EQ(which(router, verb::get, "/recepcion/"), "404");
  EXPECT_EQ(which(router, verb::get, "/recepcion"), "404");
  EXPECT_EQ(which(router, verb::get, "/recepcionx/1"), "404");
}

TEST(Router, ExactAndPrefixRoutesOfOnePathLiveTogether) {
  Router router;
  router.add(verb::post, "/recepcion", named("envio"));
  router.add_prefix(verb::get, "/recepcion/", named("consulta"));
  router.add(verb::get, "/llaves", named("lista"));
  router.add_prefix(verb::get, "/llaves/", named("llave"));
  EXPECT_EQ(which(router, verb::post, "/recepcion"), "envio");
  EXPECT_EQ(which(router, verb::get, "/recepcion/1"), "consulta");
  EXPECT_EQ(which(router, verb::get, "/llaves"), "lista");
  EXPECT_EQ(which(router, verb::get, "/llaves/pruebas"), "llave");
  EXPECT_EQ(router.find(verb::get, "/recepcion").allow, "POST");
  EXPECT_EQ(router.find(verb::post, "/recepcion/1").allow, "GET");
}

TEST(Router, WrongMethodIs405AndAllowListsTheMethodsOfThePath) {
  Router router;
  router.add(verb::get, "/ingresar", named("form"));
  router.add(verb::post, "/ingresar", named("login"));
  router.add(verb::post, "/salir", named("salir"));
  EXPECT_EQ(which(router, verb::post, "/ingresar"), "login");
  const Router::Match put = router.find(verb::put, "/ingresar");
  EXPECT_EQ(put.route, nullptr);
  EXPECT_TRUE(put.path_known);
  EXPECT_EQ(put.allow, "GET, POST");
  const Router::Match get = router.find(verb::get, "/salir");
  EXPECT_EQ(get.route, nullptr);
  EXPECT_TRUE(get.path_known);
  EXPECT_EQ(get.allow, "POST");
  // HEAD is not answered for GET routes: it is a wrong method like any other.
  EXPECT_EQ(which(router, verb::head, "/ingresar"), "405");
}

TEST(Router, AllowNamesEachMethodOnce) {
  Router router;
  router.add(verb::get, "/llaves/x", named("exacta"));
  router.add_prefix(verb::get, "/llaves/", named("prefijo"));
  router.add_prefix(verb::post, "/llaves/", named("accion"));
  EXPECT_EQ(router.find(verb::delete_, "/llaves/x").allow, "GET, POST");
}

TEST(Router, UnknownPathIs404WithNoAllow) {
  Router router;
  router.add(verb::get, "/a", named("a"));
  const Router::Match match = router.find(verb::post, "/b");
  EXPECT_EQ(match.route, nullptr);
  EXPECT_FALSE(match.path_known);
  EXPECT_EQ(match.allow, "");
  EXPECT_EQ(which(Router{}, verb::get, "/"), "404");
}

TEST(Router, BodyLimitIsThatOfTheRouteTheRequestGoesTo) {
  Router router;
  router.add(verb::post, "/recepcion", named("envio", 2 * 1024 * 1024));
  router.add_prefix(verb::post, "/grande/", named("grande", 5000));
  router.add(verb::post, "/token", named("token"));
  EXPECT_EQ(router.body_limit(verb::post, "/recepcion"), 2u * 1024 * 1024);
  EXPECT_EQ(router.body_limit(verb::post, "/recepcion?x=1"), 2u * 1024 * 1024);  // target
  EXPECT_EQ(router.body_limit(verb::post, "/grande/1"), 5000u);
  EXPECT_EQ(router.body_limit(verb::post, "/token"), 0u);     // the server's default
  EXPECT_EQ(router.body_limit(verb::get, "/recepcion"), 0u);  // not this route
  EXPECT_EQ(router.body_limit(verb::post, "/otra"), 0u);
}

TEST(Router, TheReceptionTakesABodyBigEnoughForAOneMebibyteComprobante) {
  auto inst = testing::make_installation();
  service::AccountService accounts(*inst->store, inst->config);
  service::TokenService tokens(*inst->store, accounts, *inst->keyring, inst->config);
  service::ReceptionService reception(*inst->store, tokens, inst->config);
  Router router;
  api::add_api_routes(router, tokens, reception);
  const std::size_t base64_of_1_mib = (1024 * 1024 + 2) / 3 * 4;
  for (Environment env : kAllEnvironments) {
    const std::string path(service::ReceptionService::path(env));
    EXPECT_GT(router.body_limit(verb::post, path), base64_of_1_mib + 1024) << path;
    EXPECT_NE(
        router.find(verb::get, path + "/50626112600010647095800100001010000000001148213765").route,
        nullptr);
    EXPECT_EQ(router.find(verb::get, path).allow, "POST");
  }
  EXPECT_NE(router.find(verb::post, "/auth/realms/rut-stag/protocol/openid-connect/token").route,
            nullptr);
  EXPECT_EQ(router.find(verb::get, "/auth/realms/rut/protocol/openid-connect/token").allow, "POST");
}

// --- framing ------------------------------------------------------------------------

// A request header with these fields (repeats kept), as the parser hands it over.
http::Request header_with(std::initializer_list<std::pair<http::field, std::string_view>> fields) {
  http::Request r(verb::post, "/eco", 11);
  for (const auto& [name, value] : fields) r.insert(name, value);
  return r;
}

TEST(FramingProblem, ContentLengthWithTransferEncodingIsNamed) {
  using http::field;
  EXPECT_EQ(http::framing_problem(
                header_with({{field::transfer_encoding, "chunked"}, {field::content_length, "5"}})),
            "Content-Length y Transfer-Encoding juntos.");
  EXPECT_EQ(http::framing_problem(
                header_with({{field::content_length, "5"}, {field::content_length, "5"}})),
            "Content-Length repetido.");
  EXPECT_EQ(http::framing_problem(header_with(
                {{field::transfer_encoding, "chunked"}, {field::transfer_encoding, "chunked"}})),
            "Transfer-Encoding repetido.");
}

TEST(FramingProblem, OnlyAPlainChunkedTransferEncodingIsTaken) {
  using http::field;
  for (std::string_view te : {"gzip", "chunked, identity", "gzip, chunked", "xchunked", "identity"})
    EXPECT_EQ(http::framing_problem(header_with({{field::transfer_encoding, te}})),
              "Transfer-Encoding no admitido: solo chunked.")
        << te;
  for (std::string_view te : {"chunked", "Chunked", " chunked "})
    EXPECT_EQ(http::framing_problem(header_with({{field::transfer_encoding, te}})), "") << te;
  EXPECT_EQ(http::framing_problem(header_with({{field::content_length, "5"}})), "");
  EXPECT_EQ(http::framing_problem(header_with({})), "");
}

// --- responses ---------------------------------------------------------------------

TEST(Responses, CarryTheHeadersOfEveryAnswer) {
  http::Request request(verb::get, "/", 11);
  request.keep_alive(false);
  http::Response r = http::make_response(request, http::status::created, "{}", "application/json");
  EXPECT_EQ(r.result(), http::status::created);
  EXPECT_EQ(r[http::field::server], "llavero");
  EXPECT_EQ(r[http::field::content_type], "application/json");
  EXPECT_EQ(r["X-Content-Type-Options"], "nosniff");
  EXPECT_EQ(r[http::field::content_length], "2");
  EXPECT_FALSE(r.keep_alive());
  request.keep_alive(true);
  EXPECT_TRUE(http::make_response(request, http::status::ok, "", "text/plain").keep_alive());
}

TEST(Responses, ErrorIsAShortPlainTextLine) {
  http::Request request(verb::get, "/", 11);
  http::Response r = http::error_response(request, http::status::not_found, "No encontrado.");
  EXPECT_EQ(r.result(), http::status::not_found);
  EXPECT_EQ(r.body(), "No encontrado.\n");
  EXPECT_EQ(r[http::field::content_type], "text/plain; charset=utf-8");
}

}  // namespace
}  // namespace llavero
