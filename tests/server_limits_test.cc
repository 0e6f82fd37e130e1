// What one hostile client may take of the server (http/client_limits.h,
// http/access_log.h, http/server.h): its share of connections and requests,
// the separate queue of password hashing, /readyz, strict body framing and
// the bounded access log. The server runs in-process on loopback; strangers
// connect from 127.0.0.2 and 127.0.0.3, bound as their source address.
#include <fmt/format.h>
#include <fmt/ranges.h>
#include <gtest/gtest.h>

#include <boost/asio.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <future>
#include <mutex>
#include <thread>

#include "http/access_log.h"
#include "http/client_limits.h"
#include "http/server.h"
#include "service/config.h"
#include "testing.h"

namespace llavero {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
using http::ClientLimitOptions;
using http::ClientLimits;
using http::Rate;
using http::Work;
using Clock = std::chrono::steady_clock;

// --- ClientLimits --------------------------------------------------------------------

TEST(ClientLimits, AnAddressHoldsAtMostItsShareOfConnections) {
  ClientLimitOptions options;
  options.connections_per_address = 2;
  ClientLimits limits(options);
  EXPECT_TRUE(limits.open_connection("10.0.0.1"));
  EXPECT_TRUE(limits.open_connection("10.0.0.1"));
  EXPECT_FALSE(limits.open_connection("10.0.0.1"));
  EXPECT_TRUE(limits.open_connection("10.0.0.2")) << "another address is not affected";
  limits.release_connection("10.0.0.1");
  EXPECT_TRUE(limits.open_connection("10.0.0.1")) << "a closed connection gives its slot back";
  EXPECT_EQ(limits.connections("10.0.0.1"), 2u);
}

TEST(ClientLimits, ABurstThenTheSteadyRateAndRetryAfterSaysWhen) {
  ClientLimitOptions options;
  options.rates[static_cast<std::size_t>(Work::kHashing)] = Rate{0.5, 2};
  ClientLimits limits(options);
  const auto t0 = Clock::now();
  EXPECT_TRUE(limits.admit("a", Work::kHashing, t0).allowed);
  EXPECT_TRUE(limits.admit("a", Work::kHashing, t0).allowed);
  auto refused = limits.admit("a", Work::kHashing, t0);
  EXPECT_FALSE(refused.allowed);
  EXPECT_EQ(refused.retry_after, 2) << "one token every two seconds";
  EXPECT_TRUE(limits.admit("b", Work::kHashing, t0).allowed) << "limits are per address";
  EXPECT_TRUE(limits.admit("a", Work::kPublic, t0).allowed) << "and per class of work";
  EXPECT_TRUE(limits.admit("a", Work::kHashing, t0 + std::chrono::seconds(2)).allowed);
  EXPECT_FALSE(limits.admit("a", Work::kHashing, t0 + std::chrono::seconds(2)).allowed);
}

TEST(ClientLimits, ARateOfZeroMeansNoLimit) {
  ClientLimitOptions options;
  options.rates[static_cast<std::size_t>(Work::kGeneral)] = Rate{0, 0};
  ClientLimits limits(options);
  for (int i = 0; i < 10000; ++i) ASSERT_TRUE(limits.admit("a", Work::kGeneral).allowed);
}

TEST(ClientLimits, FloodingTheTableDoesNotResetABusyAddress) {
  ClientLimitOptions options;
  options.max_addresses = 10;
  options.rates[static_cast<std::size_t>(Work::kHashing)] = Rate{0.001, 1};
  ClientLimits limits(options);
  const auto t0 = Clock::now();
  ASSERT_TRUE(limits.admit("victim-of-itself", Work::kHashing, t0).allowed);
  for (int i = 0; i < 100; ++i) limits.admit("stranger" + std::to_string(i), Work::kHashing, t0);
  EXPECT_FALSE(limits.admit("victim-of-itself", Work::kHashing, t0).allowed)
      << "an address whose bucket is empty is never forgotten to make room";
}

// --- AccessLog -----------------------------------------------------------------------

TEST(AccessLog, WritesAtMostItsBudgetPerSecondAndCountsTheRest) {
  http::AccessLog log(3);
  const auto t0 = Clock::now();
  int written = 0;
  for (int i = 0; i < 10; ++i) written += log.write("linea", t0) ? 1 : 0;
  EXPECT_EQ(written, 3);
  EXPECT_EQ(log.suppressed_total(), 7u);
  EXPECT_TRUE(log.write("linea", t0 + std::chrono::milliseconds(1001))) << "a new second";
}

TEST(AccessLog, ItsOwnFileRotatesBySizeAndKeepsOnlySoManyFiles) {
  testing::TempDir dir;
  const auto path = dir.path() / "accesos.log";
  auto logger = http::open_rotating_access_log(path, 4096, 2);
  ASSERT_TRUE(logger.ok()) << logger.error().message;
  http::AccessLog log(0, *logger);
  for (int i = 0; i < 2000; ++i)
    log.write(fmt::format("127.0.0.9 GET /stag/intermediate-pf.crl 200 {:06} 12us", i));
  std::vector<std::string> names;
  std::uintmax_t total = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir.path())) {
    names.push_back(entry.path().filename().string());
    EXPECT_LE(entry.file_size(), 4096u) << entry.path();
    total += entry.file_size();
  }
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"accesos.1.log", "accesos.2.log", "accesos.log"}));
  EXPECT_LE(total, 3u * 4096u) << "2000 lines of ~70 bytes, but never more than three files";
  std::ifstream newest(path);
  const std::string text((std::istreambuf_iterator<char>(newest)), {});
  EXPECT_NE(text.find(" 001999 "), std::string::npos) << "the newest line is in the current file";
}

TEST(AccessLog, AFileThatCannotBeOpenedIsAClearError) {
  testing::TempDir dir;
  std::ofstream(dir.path() / "archivo") << "no soy un directorio";
  auto logger = http::open_rotating_access_log(dir.path() / "archivo" / "accesos.log", 4096, 2);
  ASSERT_FALSE(logger.ok());
  EXPECT_NE(logger.error().message.find("No se pudo abrir el registro de accesos"),
            std::string::npos)
      << logger.error().message;
}

TEST(AccessLog, ItsSettingsAreReadAndCheckedFromTheConfiguration) {
  auto config = service::parse_config(
      "registro_archivo = registro/accesos.log\nregistro_tamano_maximo_mb = 8\n"
      "registro_archivos = 3\n");
  ASSERT_TRUE(config.ok()) << config.error().message;
  EXPECT_EQ(config->client_limits.access_log_file, "registro/accesos.log");
  EXPECT_EQ(config->client_limits.access_log_max_megabytes, 8);
  EXPECT_EQ(config->client_limits.access_log_files, 3);
  for (const char* bad : {"registro_tamano_maximo_mb = 0\n", "registro_archivos = 0\n",
                          "registro_archivos = muchos\n"}) {
    auto refused = service::parse_config(bad);
    ASSERT_FALSE(refused.ok()) << bad;
    EXPECT_NE(refused.error().message.find("registro_"), std::string::npos)
        << refused.error().message;
  }
  // The defaults are written out by `llavero init`, and read back the same.
  auto defaults = service::parse_config(service::render_config(service::Config{}));
  ASSERT_TRUE(defaults.ok()) << defaults.error().message;
  EXPECT_EQ(defaults->client_limits.access_log_file, "");
  EXPECT_EQ(defaults->client_limits.access_log_files, 5);
}

// --- the server ----------------------------------------------------------------------

// A raw HTTP/1.1 exchange from a chosen source address: sends `request` and
// reads until the server closes or `deadline` passes.
struct Exchange {
  std::string answer;
  bool closed = false;  // the server closed the connection
};

tcp::socket connect_from(asio::io_context& io, const std::string& source, unsigned short port) {
  tcp::socket socket(io);
  socket.open(tcp::v4());
  socket.bind(tcp::endpoint(asio::ip::make_address(source), 0));
  socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  return socket;
}

Exchange exchange(const std::string& source, unsigned short port, const std::string& request,
                  std::chrono::milliseconds deadline = std::chrono::milliseconds(5000)) {
  asio::io_context io;
  tcp::socket socket = connect_from(io, source, port);
  Exchange result;
  boost::system::error_code write_error;
  asio::write(socket, asio::buffer(request), write_error);
  if (write_error) {  // a refused connection is reset before it is read
    result.closed = true;
    return result;
  }
  std::array<char, 4096> buffer;
  const auto end = Clock::now() + deadline;
  socket.non_blocking(true);
  while (Clock::now() < end) {
    boost::system::error_code ec;
    std::size_t n = socket.read_some(asio::buffer(buffer), ec);
    if (ec == asio::error::would_block) {
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
      continue;
    }
    if (ec) {
      result.closed = true;
      break;
    }
    result.answer.append(buffer.data(), n);
  }
  return result;
}

std::string get(const std::string& path) {
  return "GET " + path + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
}

int status_of(const std::string& answer) {
  if (answer.size() < 12) return 0;
  return std::stoi(answer.substr(9, 3));
}

// A gate that holds the hashing route's workers until the test opens it.
class Gate {
 public:
  void wait() {
    std::unique_lock lock(mu_);
    ++waiting_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return open_; });
  }
  void open() {
    std::lock_guard lock(mu_);
    open_ = true;
    changed_.notify_all();
  }
  void wait_for_waiters(int n) {
    std::unique_lock lock(mu_);
    changed_.wait_for(lock, std::chrono::seconds(10), [&] { return waiting_ >= n; });
  }

 private:
  std::mutex mu_;
  std::condition_variable changed_;
  bool open_ = false;
  int waiting_ = 0;
};

class RunningServer {
 public:
  RunningServer(http::ServerOptions options, http::Router router) {
    options.address = "127.0.0.1";
    options.port = 0;
    options.handle_signals = false;
    server_ = std::make_unique<http::Server>(std::move(options), std::move(router));
    EXPECT_TRUE(static_cast<bool>(server_->listen()));
    thread_ = std::thread([this] { server_->run(); });
  }
  ~RunningServer() {
    server_->stop();
    thread_.join();
  }
  unsigned short port() const { return server_->port(); }

 private:
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
};

http::Route text_route(Work work, std::function<void()> before = {}) {
  http::Route route;
  route.work = work;
  route.slow = [before](const http::Request& request, const http::RouteContext&) {
    if (before) before();
    return http::make_response(request, http::status::ok, "hecho", "text/plain");
  };
  return route;
}

TEST(Server, TransferEncodingOtherThanAFinalChunkedIsRefusedAndTheConnectionClosed) {
  http::Router router;
  router.add(http::verb::post, "/eco", text_route(Work::kGeneral));
  RunningServer server({}, std::move(router));
  const std::string smuggled = "0\r\n\r\nGET /eco HTTP/1.1\r\nHost: x\r\n\r\n";
  for (std::string te : {"chunked, identity", "xchunked", "gzip", "gzip, chunked", "identity"}) {
    Exchange e = exchange("127.0.0.1", server.port(),
                          "POST /eco HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: " + te +
                              "\r\nContent-Length: 5\r\n\r\nhola!" + smuggled);
    EXPECT_EQ(status_of(e.answer), 400) << te;
    EXPECT_TRUE(e.closed) << te;
    EXPECT_EQ(e.answer.find("HTTP/1.1", 1), std::string::npos)
        << "the smuggled request got an answer: " << te;
  }
  Exchange both = exchange("127.0.0.1", server.port(),
                           "POST /eco HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                           "Content-Length: 5\r\n\r\n5\r\nhola!\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(both.answer), 400) << "Content-Length and Transfer-Encoding together";
  EXPECT_TRUE(both.closed);
  Exchange gzip =
      exchange("127.0.0.1", server.port(),
               "POST /eco HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip\r\n\r\n" + smuggled);
  EXPECT_EQ(status_of(gzip.answer), 400);
  EXPECT_NE(gzip.answer.find("Transfer-Encoding no admitido: solo chunked."), std::string::npos)
      << "the answer names the problem: " << gzip.answer;
  EXPECT_TRUE(gzip.closed);
  EXPECT_EQ(gzip.answer.find("HTTP/1.1", 1), std::string::npos) << "the smuggled request";
  Exchange chunked = exchange("127.0.0.1", server.port(),
                              "POST /eco HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                              "Transfer-Encoding: Chunked\r\n\r\n5\r\nhola!\r\n0\r\n\r\n");
  EXPECT_EQ(status_of(chunked.answer), 200) << "a plain chunked body is fine";
}

// A route that hands the server a shared body (the CRL's, RouteContext::
// shared_body) has it written from that one buffer to every client: while two
// slow clients are still being sent 32 MiB, both responses hold the very
// buffer the route gave (a copy per response would leave it only to the
// test); each client gets every byte; once sent, the server lets it go.
TEST(Server, ASharedBodyIsWrittenFromTheOneBufferToEveryClient) {
  auto bytes = std::make_shared<std::vector<std::uint8_t>>(32u << 20);
  for (std::size_t i = 0; i < bytes->size(); ++i)
    (*bytes)[i] = static_cast<std::uint8_t>((i * 2654435761u) >> 13);
  const http::SharedBytes buffer = std::move(bytes);
  http::Router router;
  http::Route route;
  route.work = Work::kPublic;
  // By address: the router's copies of this handler hold no reference.
  route.slow = [source = &buffer](const http::Request& request, const http::RouteContext& context) {
    context.shared_body = *source;
    return http::make_response(request, http::status::ok, "", "application/pkix-crl");
  };
  router.add(http::verb::get, "/lista.crl", std::move(route));
  RunningServer server({}, std::move(router));

  asio::io_context io;
  std::vector<tcp::socket> clients;
  for (int i = 0; i < 2; ++i) {
    clients.push_back(connect_from(io, "127.0.0.1", server.port()));
    asio::write(clients.back(), asio::buffer(get("/lista.crl")));
  }
  // Neither client reads yet: 32 MiB do not fit in loopback's socket buffers.
  for (int i = 0; i < 1000 && buffer.use_count() < 3; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(buffer.use_count(), 3) << "the two responses in flight do not share the buffer";

  for (tcp::socket& client : clients) {
    std::string answer;
    boost::system::error_code ec;
    std::array<char, 65536> chunk;
    while (!ec) answer.append(chunk.data(), client.read_some(asio::buffer(chunk), ec));
    const std::size_t end = answer.find("\r\n\r\n");
    ASSERT_NE(end, std::string::npos);
    EXPECT_EQ(status_of(answer), 200);
    EXPECT_NE(answer.find(fmt::format("Content-Length: {}\r\n", buffer->size())), std::string::npos)
        << answer.substr(0, end);
    EXPECT_NE(answer.find("Content-Type: application/pkix-crl\r\n"), std::string::npos);
    EXPECT_TRUE(answer.compare(end + 4, std::string::npos,
                               reinterpret_cast<const char*>(buffer->data()), buffer->size()) == 0)
        << "the body is not the buffer's bytes";
  }
  for (int i = 0; i < 1000 && buffer.use_count() > 1; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  EXPECT_EQ(buffer.use_count(), 1) << "the server still holds the buffer after sending it";
}

// A body over the limit of the route it goes to is 413 before the server
// holds it, whether its length is announced or it comes in chunks; a route
// with a larger limit (the reception's) takes more than the default.
TEST(Server, ABodyBeyondTheLimitOfItsRouteIs413AnnouncedOrChunked) {
  http::Router router;
  router.add(http::verb::post, "/eco", text_route(Work::kGeneral));
  http::Route large = text_route(Work::kGeneral);
  large.max_body = 4096;
  router.add(http::verb::post, "/grande", std::move(large));
  http::ServerOptions options;
  options.body_limit = 1024;
  RunningServer server(options, std::move(router));
  const auto post = [&](const std::string& path, std::size_t n) {
    return exchange("127.0.0.1", server.port(),
                    fmt::format("POST {} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                                "Content-Length: {}\r\n\r\n{}",
                                path, n, std::string(n, 'a')));
  };
  // Chunks of 500 bytes, `n` of them.
  const auto chunked = [&](const std::string& path, int n) {
    std::string body;
    for (int i = 0; i < n; ++i) body += "1f4\r\n" + std::string(500, 'a') + "\r\n";
    return exchange("127.0.0.1", server.port(),
                    "POST " + path +
                        " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
                        "Transfer-Encoding: chunked\r\n\r\n" +
                        body + "0\r\n\r\n");
  };
  EXPECT_EQ(status_of(post("/eco", 1024).answer), 200) << "the limit itself is fine";
  Exchange announced = post("/eco", 1025);
  EXPECT_EQ(status_of(announced.answer), 413);
  EXPECT_NE(announced.answer.find("El cuerpo de la solicitud es demasiado grande."),
            std::string::npos)
      << announced.answer;
  EXPECT_TRUE(announced.closed);
  EXPECT_EQ(status_of(chunked("/eco", 2).answer), 200);
  EXPECT_EQ(status_of(chunked("/eco", 3).answer), 413) << "1500 bytes in chunks";
  EXPECT_EQ(status_of(post("/grande", 4096).answer), 200) << "the route's own limit";
  EXPECT_EQ(status_of(post("/grande", 4097).answer), 413);
  EXPECT_EQ(status_of(chunked("/grande", 9).answer), 413) << "4500 bytes in chunks";
}

// The configured header limit is the one applied (not only Beast's default
// of 8 KiB): a larger header is 431 and the connection closed.
TEST(Server, AHeaderBeyondTheConfiguredLimitIs431) {
  http::Router router;
  router.add(http::verb::get, "/ocsp", text_route(Work::kPublic));
  http::ServerOptions options;
  options.header_limit = 2048;
  RunningServer server(options, std::move(router));
  const auto with_header = [&](std::size_t n) {
    return exchange("127.0.0.1", server.port(),
                    "GET /ocsp HTTP/1.1\r\nHost: x\r\nConnection: close\r\nX-Grande: " +
                        std::string(n, 'a') + "\r\n\r\n");
  };
  EXPECT_EQ(status_of(with_header(1500).answer), 200);
  Exchange big = with_header(3000);
  EXPECT_EQ(status_of(big.answer), 431);
  EXPECT_NE(big.answer.find("Los encabezados de la solicitud son demasiado grandes."),
            std::string::npos)
      << big.answer;
  EXPECT_TRUE(big.closed);
}

TEST(Server, OneAddressCannotTakeEveryConnection) {
  http::Router router;
  router.add(http::verb::get, "/ocsp", text_route(Work::kPublic));
  http::ServerOptions options;
  options.client_limits.connections_per_address = 3;
  RunningServer server(options, std::move(router));
  asio::io_context io;
  std::vector<tcp::socket> held;
  for (int i = 0; i < 3; ++i) held.push_back(connect_from(io, "127.0.0.2", server.port()));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // let the server accept them
  Exchange fourth = exchange("127.0.0.2", server.port(), get("/ocsp"));
  EXPECT_TRUE(fourth.closed);
  EXPECT_EQ(fourth.answer, "") << "the stranger's fourth connection is refused unread";
  Exchange other = exchange("127.0.0.3", server.port(), get("/ocsp"));
  EXPECT_EQ(status_of(other.answer), 200) << "everyone else is still served";
  held.clear();
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(status_of(exchange("127.0.0.2", server.port(), get("/ocsp")).answer), 200)
      << "closed connections give their slots back";
}

TEST(Server, AHeaderTrickledByteByByteMeetsItsDeadline) {
  http::Router router;
  router.add(http::verb::get, "/ocsp", text_route(Work::kPublic));
  http::ServerOptions options;
  options.header_timeout = std::chrono::seconds(1);
  RunningServer server(options, std::move(router));
  asio::io_context io;
  tcp::socket socket = connect_from(io, "127.0.0.2", server.port());
  const std::string request = get("/ocsp");
  const auto start = Clock::now();
  boost::system::error_code ec;
  for (std::size_t i = 0; i < request.size() - 2 && !ec; ++i) {
    asio::write(socket, asio::buffer(request.data() + i, 1), ec);
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    if (Clock::now() - start > std::chrono::seconds(4)) break;
  }
  std::array<char, 256> buffer;
  socket.read_some(asio::buffer(buffer), ec);
  EXPECT_TRUE(ec) << "the connection was closed";
  EXPECT_LT(Clock::now() - start, std::chrono::seconds(4))
      << "a byte every 150 ms did not keep it open past the 1 s header deadline";
}

TEST(Server, RequestsBeyondTheRateOfAnAddressGet429WithRetryAfter) {
  http::Router router;
  router.add(http::verb::post, "/token", text_route(Work::kHashing));
  router.add(http::verb::get, "/ocsp", text_route(Work::kPublic));
  http::ServerOptions options;
  options.client_limits.rates[static_cast<std::size_t>(Work::kHashing)] = Rate{0.2, 2};
  RunningServer server(options, std::move(router));
  const std::string post =
      "POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  EXPECT_EQ(status_of(exchange("127.0.0.2", server.port(), post).answer), 200);
  EXPECT_EQ(status_of(exchange("127.0.0.2", server.port(), post).answer), 200);
  Exchange refused = exchange("127.0.0.2", server.port(), post);
  EXPECT_EQ(status_of(refused.answer), 429);
  EXPECT_NE(refused.answer.find("Retry-After: 5"), std::string::npos) << refused.answer;
  EXPECT_EQ(status_of(exchange("127.0.0.2", server.port(), get("/ocsp")).answer), 200)
      << "the public routes have their own rate";
  EXPECT_EQ(status_of(exchange("127.0.0.3", server.port(), post).answer), 200)
      << "another address has its own rate";
}

TEST(Server, HashingQueueFullLeavesOcspAndOtherAddressesServedAndReadyzSaysSo) {
  Gate gate;
  http::Router router;
  router.add(http::verb::post, "/token", text_route(Work::kHashing, [&] { gate.wait(); }));
  router.add(http::verb::get, "/ocsp", text_route(Work::kPublic));
  http::ServerOptions options;
  options.hashing_threads = 1;
  options.hashing_queue = 3;
  options.hashing_per_address = 2;
  RunningServer server(options, std::move(router));
  const std::string post =
      "POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  std::vector<std::future<Exchange>> flood;
  for (int i = 0; i < 2; ++i)
    flood.push_back(std::async(std::launch::async, [&] {
      return exchange("127.0.0.2", server.port(), post, std::chrono::milliseconds(15000));
    }));
  gate.wait_for_waiters(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Exchange third = exchange("127.0.0.2", server.port(), post);
  EXPECT_EQ(status_of(third.answer), 503) << "the stranger used up its share of the queue";
  EXPECT_NE(third.answer.find("Retry-After"), std::string::npos);
  EXPECT_EQ(status_of(exchange("127.0.0.4", server.port(), get("/ocsp")).answer), 200)
      << "OCSP does not wait behind hashing";
  EXPECT_EQ(status_of(exchange("127.0.0.4", server.port(), get("/readyz")).answer), 200);
  auto owner = std::async(std::launch::async, [&] {
    return exchange("127.0.0.3", server.port(), post, std::chrono::milliseconds(15000));
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  Exchange ready = exchange("127.0.0.4", server.port(), get("/readyz"));
  EXPECT_EQ(status_of(ready.answer), 503) << ready.answer;
  EXPECT_NE(ready.answer.find("contrasenas: 3/3"), std::string::npos) << ready.answer;
  gate.open();
  EXPECT_EQ(status_of(owner.get().answer), 200) << "another address got its place in the queue";
  for (auto& f : flood) EXPECT_EQ(status_of(f.get().answer), 200);
  EXPECT_EQ(status_of(exchange("127.0.0.4", server.port(), get("/readyz")).answer), 200);
}

TEST(Server, HashingJobsTakeTurnsByAddress) {
  Gate gate;
  std::mutex mu;
  std::vector<std::string> order;
  http::Router router;
  http::Route route;
  route.work = Work::kHashing;
  route.slow = [&](const http::Request& request, const http::RouteContext& context) {
    gate.wait();
    std::lock_guard lock(mu);
    order.push_back(context.remote_address);
    return http::make_response(request, http::status::ok, "hecho", "text/plain");
  };
  router.add(http::verb::post, "/token", std::move(route));
  http::ServerOptions options;
  options.hashing_threads = 1;
  options.hashing_per_address = 4;
  RunningServer server(options, std::move(router));
  const std::string post =
      "POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  auto send_from = [&](std::string source) {
    return std::async(std::launch::async, [&, source] {
      return exchange(source, server.port(), post, std::chrono::milliseconds(15000));
    });
  };
  std::vector<std::future<Exchange>> all;
  all.push_back(send_from("127.0.0.2"));
  gate.wait_for_waiters(1);  // the stranger's first job runs and holds the only thread
  for (int i = 0; i < 3; ++i) {
    all.push_back(send_from("127.0.0.2"));
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  all.push_back(send_from("127.0.0.3"));
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  gate.open();
  for (auto& f : all) EXPECT_EQ(status_of(f.get().answer), 200);
  ASSERT_EQ(order.size(), 5u);
  // First in, first out would run 127.0.0.3 last; taking turns, it waits for
  // one of the stranger's queued jobs, not three.
  EXPECT_EQ(order[2], "127.0.0.3") << fmt::format("{}", fmt::join(order, " "));
}

TEST(Server, OneAddressNeverHoldsEveryHashingThread) {
  // Two hashing threads: a stranger with three passwords to hash gets one
  // of them; the other stays free, so the owner's password is hashed at
  // once instead of after the stranger's (the token flood of issue 12).
  Gate gate;
  std::mutex mu;
  std::vector<std::string> started;
  http::Router router;
  http::Route route;
  route.work = Work::kHashing;
  route.slow = [&](const http::Request& request, const http::RouteContext& context) {
    {
      std::lock_guard lock(mu);
      started.push_back(context.remote_address);
    }
    gate.wait();
    return http::make_response(request, http::status::ok, "hecho", "text/plain");
  };
  router.add(http::verb::post, "/token", std::move(route));
  http::ServerOptions options;
  options.hashing_threads = 2;
  options.hashing_per_address = 4;
  RunningServer server(options, std::move(router));
  const std::string post =
      "POST /token HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: 0\r\n\r\n";
  auto send_from = [&](std::string source) {
    return std::async(std::launch::async, [&, source] {
      return exchange(source, server.port(), post, std::chrono::milliseconds(15000));
    });
  };
  auto started_now = [&] {
    std::lock_guard lock(mu);
    return started;
  };
  std::vector<std::future<Exchange>> all;
  for (int i = 0; i < 3; ++i) all.push_back(send_from("127.0.0.2"));
  gate.wait_for_waiters(1);
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  EXPECT_EQ(started_now(), (std::vector<std::string>{"127.0.0.2"}))
      << "the stranger's second job waits although a thread is idle";
  all.push_back(send_from("127.0.0.3"));
  gate.wait_for_waiters(2);
  EXPECT_EQ(started_now(), (std::vector<std::string>{"127.0.0.2", "127.0.0.3"}))
      << "the owner's job took the free thread while the stranger's first still runs";
  gate.open();
  for (auto& f : all) EXPECT_EQ(status_of(f.get().answer), 200) << "every job runs in the end";
  EXPECT_EQ(started_now().size(), 4u);
}

}  // namespace
}  // namespace llavero
