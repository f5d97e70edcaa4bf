#include "store/files.hpp"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include "discovery/defaults.hpp"

namespace llmux::store {

namespace {

Failure io_error(const std::string& what, const std::string& path, int err) {
  return Failure::of(FailKind::io, "cannot " + what + " " + path + ": " + std::strerror(err));
}

bool write_all(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

}  // namespace

std::string dir_of(const std::string& path) {
  size_t slash = path.rfind('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

std::string Paths::default_config_file() const {
  for (const char* name : {"config.yaml", "config.yml", "config.json"}) {
    std::string candidate = config_dir + "/" + name;
    std::error_code ec;
    if (std::filesystem::exists(candidate, ec)) return candidate;
  }
  return {};
}

Paths Paths::from_environment() { return {discovery::config_dir(), discovery::state_dir()}; }

Result<std::optional<std::string>> read_file(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return std::optional<std::string>();
    return unexpected(io_error("read", path, errno));
  }
  std::string text;
  char buf[16384];
  while (true) {
    ssize_t n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      int err = errno;
      ::close(fd);
      return unexpected(io_error("read", path, err));
    }
    if (n == 0) break;
    text.append(buf, static_cast<size_t>(n));
  }
  ::close(fd);
  return std::optional<std::string>(std::move(text));
}

Result<void> ensure_dir(const std::string& dir, mode_t mode) {
  std::error_code ec;
  if (std::filesystem::is_directory(dir, ec)) return {};
  std::string parent = dir_of(dir);
  if (parent != dir && parent != "/" && parent != ".") {
    std::filesystem::create_directories(parent, ec);
    if (ec) return unexpected(Failure::of(FailKind::io, "cannot create " + parent + ": " + ec.message()));
  }
  if (::mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return unexpected(io_error("create", dir, errno));
  return {};
}

Result<void> write_file_atomic(const std::string& path, std::string_view data, mode_t mode) {
  std::string dir = dir_of(path);
  std::string temp = path + ".tmp-XXXXXX";
  int fd = ::mkostemp(temp.data(), O_CLOEXEC);
  if (fd < 0) return unexpected(io_error("write", path, errno));
  auto fail = [&](int err) {
    ::close(fd);
    ::unlink(temp.c_str());
    return unexpected(io_error("write", path, err));
  };
  // mkostemp creates 0600; widen only when asked (the vault and key files stay 0600).
  if (::fchmod(fd, mode) != 0) return fail(errno);
  if (!write_all(fd, data)) return fail(errno);
  if (::fsync(fd) != 0) return fail(errno);
  if (::close(fd) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return unexpected(io_error("write", path, err));
  }
  if (::rename(temp.c_str(), path.c_str()) != 0) {
    int err = errno;
    ::unlink(temp.c_str());
    return unexpected(io_error("replace", path, err));
  }
  int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

DirLock::DirLock(const std::string& dir) {
  fd_ = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd_ >= 0) {
    while (::flock(fd_, LOCK_EX) != 0 && errno == EINTR) {
    }
  }
}

DirLock::~DirLock() {
  if (fd_ >= 0) ::close(fd_);  // closing releases the lock
}

}  // namespace llmux::store
