#include "postgres_server.h"

#include <fmt/format.h>
#include <libpq-fe.h>
#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

namespace fs = std::filesystem;

namespace llavero::testing {

namespace {

std::string shell_quote(const std::string& text) {
  std::string out = "'";
  for (char c : text) {
    if (c == '\'')
      out += "'\\''";
    else
      out += c;
  }
  return out + "'";
}

std::string read_tail(const fs::path& file) {
  std::ifstream in(file);
  std::stringstream text;
  text << in.rdbuf();
  std::string s = text.str();
  return s.size() > 2000 ? s.substr(s.size() - 2000) : s;
}

class Cluster {
 public:
  // Starts the cluster; on failure `error` says why and nothing is left.
  Cluster() {
    const char* env = std::getenv("LLAVERO_PG_BIN");
    const fs::path bin = env && *env ? fs::path(env) : fs::path("/usr/lib/postgresql/15/bin");
    if (!fs::exists(bin / "initdb") || !fs::exists(bin / "pg_ctl")) {
      error = fmt::format("no hay PostgreSQL: falta {} (paquete postgresql-15, o LLAVERO_PG_BIN)",
                          (bin / "initdb").string());
      return;
    }
    std::string pattern = (fs::temp_directory_path() / "llavero-pg-XXXXXX").string();
    if (mkdtemp(pattern.data()) == nullptr) {
      error = "mkdtemp";
      return;
    }
    dir_ = pattern;
    // As root, the server runs as postgres (it refuses to run as root).
    if (geteuid() == 0) {
      const passwd* pw = getpwnam("postgres");
      if (pw == nullptr) {
        error = "corriendo como root y no existe el usuario postgres";
        remove();
        return;
      }
      if (chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
        error = "chown del directorio temporal";
        remove();
        return;
      }
      as_user_ = "runuser -u postgres -- ";
    }
    ::chmod(dir_.c_str(), 0700);
    // The parent of the temporary directory must let postgres through.
    const std::string data = (dir_ / "data").string();
    const std::string log = (dir_ / "server.log").string();
    ctl_ = as_user_ + shell_quote((bin / "pg_ctl").string()) + " -D " + shell_quote(data);
    const std::string initdb = as_user_ + shell_quote((bin / "initdb").string()) + " -D " +
                               shell_quote(data) +
                               " -A trust -U postgres -E UTF8 --locale=C.UTF-8 --no-sync > " +
                               shell_quote((dir_ / "initdb.log").string()) + " 2>&1";
    if (std::system(initdb.c_str()) != 0) {
      error = "initdb falló: " + read_tail(dir_ / "initdb.log");
      remove();
      return;
    }
    // Only a unix socket in the temporary directory; durability off, as
    // nothing here outlives the process.
    const std::string options = fmt::format(
        "-k {} -c listen_addresses='' -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=100 -c shared_buffers=16MB",
        dir_.string());
    const std::string start = ctl_ + " -o " + shell_quote(options) + " -l " + shell_quote(log) +
                              " -w -t 60 start > /dev/null 2>&1";
    if (std::system(start.c_str()) != 0) {
      error = "pg_ctl start falló: " + read_tail(dir_ / "server.log");
      remove();
      return;
    }
    started_ = true;
    owner_pid_ = getpid();
  }

  ~Cluster() {
    // Only the process that started it stops it (not a forked child).
    if (started_ && getpid() == owner_pid_) {
      const std::string stop = ctl_ + " -m immediate -w stop > /dev/null 2>&1";
      (void)std::system(stop.c_str());
    }
    if (!dir_.empty() && (owner_pid_ == 0 || getpid() == owner_pid_)) remove();
  }

  std::string url(const std::string& database) const {
    return fmt::format("postgresql:///{}?host={}&user=postgres", database, dir_.string());
  }

  std::string error;

 private:
  void remove() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  fs::path dir_;
  std::string as_user_;
  std::string ctl_;
  bool started_ = false;
  pid_t owner_pid_ = 0;
};

Cluster& cluster() {
  static Cluster instance;
  return instance;
}

// The cluster a ctest run shares ($LLAVERO_TEST_POSTGRES, the URL of its
// maintenance database "postgres"): the databases this process made there
// are dropped when it exits, as the cluster outlives it.
class SharedCluster {
 public:
  explicit SharedCluster(std::string maintenance_url) : url_(std::move(maintenance_url)) {}
  ~SharedCluster() {
    for (const std::string& name : made_)
      (void)postgres_sql(url_, "DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
  }
  // postgresql:///postgres?params -> postgresql:///<database>?params
  std::string url(const std::string& database) const {
    const std::size_t query = url_.find('?');
    return "postgresql:///" + database + (query == std::string::npos ? "" : url_.substr(query));
  }
  void made(const std::string& name) { made_.push_back(name); }

 private:
  std::string url_;
  std::vector<std::string> made_;
};

SharedCluster* shared_cluster() {
  static std::unique_ptr<SharedCluster> instance = []() -> std::unique_ptr<SharedCluster> {
    const char* url = std::getenv("LLAVERO_TEST_POSTGRES");
    if (url == nullptr || *url == '\0') return nullptr;
    return std::make_unique<SharedCluster>(url);
  }();
  return instance.get();
}

}  // namespace

std::string postgres_sql(const std::string& url, const std::string& sql, std::string* first_value) {
  PGconn* db = PQconnectdb(url.c_str());
  std::string message;
  if (PQstatus(db) != CONNECTION_OK) {
    message = PQerrorMessage(db);
  } else {
    PQclear(PQexec(db, "SET client_min_messages = 'warning'"));
    PGresult* r = PQexec(db, sql.c_str());
    const auto status = PQresultStatus(r);
    if (status != PGRES_COMMAND_OK && status != PGRES_TUPLES_OK) {
      message = PQresultErrorMessage(r);
      if (message.empty()) message = "error";
    } else if (first_value) {
      *first_value = PQntuples(r) > 0 && PQnfields(r) > 0 ? PQgetvalue(r, 0, 0) : "";
    }
    PQclear(r);
  }
  PQfinish(db);
  return message;
}

std::string postgres_unavailable() {
  if (SharedCluster* shared = shared_cluster()) {
    const std::string failed = postgres_sql(shared->url("postgres"), "SELECT 1");
    return failed.empty() ? "" : "LLAVERO_TEST_POSTGRES no responde: " + failed;
  }
  return cluster().error;
}

std::optional<PostgresDatabase> postgres_database(std::string* why) {
  static std::mutex mu;
  static std::atomic<int> counter{0};
  std::lock_guard lock(mu);
  PostgresDatabase db;
  SharedCluster* shared = shared_cluster();
  if (shared != nullptr) {
    // Other test processes make theirs on the same cluster.
    db.name = fmt::format("prueba_{}_{}", getpid(), ++counter);
    const std::string failed = postgres_sql(shared->url("postgres"), "CREATE DATABASE " + db.name);
    if (!failed.empty()) {
      if (why) *why = "CREATE DATABASE falló (LLAVERO_TEST_POSTGRES): " + failed;
      return std::nullopt;
    }
    shared->made(db.name);
    db.url = shared->url(db.name);
    return db;
  }
  Cluster& c = cluster();
  if (!c.error.empty()) {
    if (why) *why = c.error;
    return std::nullopt;
  }
  db.name = fmt::format("prueba_{}", ++counter);
  const std::string failed = postgres_sql(c.url("postgres"), "CREATE DATABASE " + db.name);
  if (!failed.empty()) {
    if (why) *why = "CREATE DATABASE falló: " + failed;
    return std::nullopt;
  }
  db.url = c.url(db.name);
  return db;
}

}  // namespace llavero::testing
