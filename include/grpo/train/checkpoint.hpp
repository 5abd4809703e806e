#pragma once
// Checkpoints: named binary sections (model parameters, optimiser state, RNG state, step, and
// anything else the caller adds) in one file, written atomically and verified on load.
//
// File layout (little-endian):
//   offset 0   8 bytes  magic "GRPOCKPT"
//          8   u32      format version (1)
//         12   u32      header size (40)
//         16   u64      payload size in bytes
//         24   u64      number of sections
//         32   u64      FNV-1a 64 checksum of the payload
//         40   payload: per section  u32 name length, name bytes, u64 data length, data bytes
//
// Writing goes to "<path>.tmp", is fsync'ed, renamed over <path>, and the directory is
// fsync'ed: a crash leaves either the old file or the new one, never a half-written one.
// Loading refuses, with errc::io_error or errc::corrupt_data naming the file, anything that is
// not exactly such a file: short reads, a wrong magic or version, a payload size that does not
// match the file, a checksum mismatch, or sections that overrun the payload.
#include <grpo/core/error.hpp>
#include <grpo/optim/adamw.hpp>

#include <bit>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <sstream>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <fcntl.h>
#include <unistd.h>

namespace grpo::train {

static_assert(std::endian::native == std::endian::little,
              "grpo checkpoints are little-endian; add byte swapping for this platform");

inline constexpr char checkpoint_magic[8] = {'G', 'R', 'P', 'O', 'C', 'K', 'P', 'T'};
inline constexpr std::uint32_t checkpoint_version = 1;
inline constexpr std::uint32_t checkpoint_header_size = 40;

/// FNV-1a, 64 bit: h ← (h xor byte)·1099511628211 from 14695981039346656037.
inline std::uint64_t fnv1a64(const unsigned char* data, size_t n) {
  std::uint64_t h = 14695981039346656037ull;
  for (size_t k = 0; k < n; ++k) {
    h ^= data[k];
    h *= 1099511628211ull;
  }
  return h;
}

/// The sections of one checkpoint, by name, in memory.
class checkpoint {
 public:
  void put_bytes(const std::string& name, std::string bytes) { sections_[name] = std::move(bytes); }

  /// Raw copy of an array of a trivially copyable type (floats, doubles, integers).
  template <class T>
  void put_array(const std::string& name, std::span<const T> values) {
    static_assert(std::is_trivially_copyable_v<T>);
    std::string b(values.size() * sizeof(T), '\0');
    if (!values.empty()) std::memcpy(b.data(), values.data(), b.size());
    sections_[name] = std::move(b);
  }
  template <class T>
  void put_array(const std::string& name, const std::vector<T>& values) {
    put_array(name, std::span<const T>(values));
  }
  void put_i64(const std::string& name, std::int64_t v) { put_array(name, std::span<const std::int64_t>(&v, 1)); }
  /// The engine's full state (its standard text form, exact).
  void put_rng(const std::string& name, const std::mt19937_64& rng) {
    std::ostringstream os;
    os << rng;
    sections_[name] = os.str();
  }

  [[nodiscard]] bool has(const std::string& name) const { return sections_.count(name) != 0; }
  [[nodiscard]] const std::map<std::string, std::string>& sections() const { return sections_; }

  status get_bytes(const std::string& name, std::string& out) const {
    const auto it = sections_.find(name);
    if (it == sections_.end()) return missing(name);
    out = it->second;
    return {};
  }
  /// Reads a whole section into `out` (resized).
  template <class T>
  status get_array(const std::string& name, std::vector<T>& out) const {
    const auto it = sections_.find(name);
    if (it == sections_.end()) return missing(name);
    if (it->second.size() % sizeof(T) != 0)
      return {errc::corrupt_data, name, -1, "section size is not a multiple of the element size"};
    out.resize(it->second.size() / sizeof(T));
    if (!out.empty()) std::memcpy(out.data(), it->second.data(), it->second.size());
    return {};
  }
  /// Reads a section into a buffer of exactly its size (e.g. a model's parameters).
  template <class T>
  status get_array(const std::string& name, std::span<T> out) const {
    const auto it = sections_.find(name);
    if (it == sections_.end()) return missing(name);
    if (it->second.size() != out.size() * sizeof(T))
      return {errc::shape_mismatch, name, -1,
              "checkpoint holds " + std::to_string(it->second.size() / sizeof(T)) +
                  " values, the destination " + std::to_string(out.size())};
    if (!out.empty()) std::memcpy(out.data(), it->second.data(), it->second.size());
    return {};
  }
  status get_i64(const std::string& name, std::int64_t& v) const {
    return get_array(name, std::span<std::int64_t>(&v, 1));
  }
  status get_rng(const std::string& name, std::mt19937_64& rng) const {
    const auto it = sections_.find(name);
    if (it == sections_.end()) return missing(name);
    std::istringstream is(it->second);
    std::mt19937_64 r;
    is >> r;
    if (is.fail()) return {errc::corrupt_data, name, -1, "not a std::mt19937_64 state"};
    rng = r;
    return {};
  }

  // ---- the usual training state --------------------------------------------------------
  template <class S>
  void put_parameters(std::span<const S> params, const std::string& name = "model.params") {
    put_array(name, params);
  }
  template <class S>
  status get_parameters(std::span<S> params, const std::string& name = "model.params") const {
    return get_array(name, params);
  }
  void put_optimizer(const optim::adamw_state& s, const std::string& prefix = "optim") {
    put_i64(prefix + ".step", s.step);
    put_array(prefix + ".m", s.m);
    put_array(prefix + ".v", s.v);
  }
  status get_optimizer(optim::adamw_state& s, const std::string& prefix = "optim") const {
    optim::adamw_state r;
    GRPO_TRY(get_i64(prefix + ".step", r.step));
    GRPO_TRY(get_array(prefix + ".m", r.m));
    GRPO_TRY(get_array(prefix + ".v", r.v));
    if (r.m.size() != r.v.size())
      return {errc::corrupt_data, prefix + ".v", -1, "first and second moments differ in size"};
    s = std::move(r);
    return {};
  }
  /// The model's parameters (sized like `params`) and an optimiser state that matches them.
  template <class S>
  status get_model_and_optimizer(std::vector<S>& params, optim::adamw_state& st) const {
    GRPO_TRY(get_parameters(std::span<S>(params)));
    GRPO_TRY(get_optimizer(st));
    if (!st.m.empty() && st.m.size() != params.size())
      return {errc::shape_mismatch, "optim.m", -1, "optimiser state does not match the model"};
    return {};
  }

 private:
  static status missing(const std::string& name) {
    return {errc::corrupt_data, name, -1, "section missing from the checkpoint"};
  }
  std::map<std::string, std::string> sections_;
};

namespace detail {
inline void append_u32(std::string& b, std::uint32_t v) { b.append(reinterpret_cast<const char*>(&v), 4); }
inline void append_u64(std::string& b, std::uint64_t v) { b.append(reinterpret_cast<const char*>(&v), 8); }
template <class T>
inline T read_le(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}
inline status io_fail(const std::filesystem::path& path, const std::string& what) {
  return {errc::io_error, path.string(), -1, what + ": " + std::strerror(errno)};
}
}  // namespace detail

/// Serialises `c` to `path` atomically (temporary file, fsync, rename, fsync of the directory).
inline status save_checkpoint(const std::filesystem::path& path, const checkpoint& c) {
  std::string payload;
  for (const auto& [name, data] : c.sections()) {
    detail::append_u32(payload, static_cast<std::uint32_t>(name.size()));
    payload += name;
    detail::append_u64(payload, data.size());
    payload += data;
  }
  std::string file(checkpoint_magic, 8);
  detail::append_u32(file, checkpoint_version);
  detail::append_u32(file, checkpoint_header_size);
  detail::append_u64(file, payload.size());
  detail::append_u64(file, c.sections().size());
  detail::append_u64(file, fnv1a64(reinterpret_cast<const unsigned char*>(payload.data()), payload.size()));
  file += payload;

  const std::filesystem::path tmp = path.string() + ".tmp";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return detail::io_fail(tmp, "cannot create the temporary file");
  size_t done = 0;
  while (done < file.size()) {
    const ssize_t n = ::write(fd, file.data() + done, file.size() - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      auto s = detail::io_fail(tmp, "write failed");
      ::close(fd);
      ::unlink(tmp.c_str());
      return s;
    }
    done += static_cast<size_t>(n);
  }
  if (::fsync(fd) != 0) {
    auto s = detail::io_fail(tmp, "fsync failed");
    ::close(fd);
    ::unlink(tmp.c_str());
    return s;
  }
  if (::close(fd) != 0) {
    ::unlink(tmp.c_str());
    return detail::io_fail(tmp, "close failed");
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    auto s = detail::io_fail(path, "cannot rename the temporary file over it");
    ::unlink(tmp.c_str());
    return s;
  }
  // make the rename itself durable
  const auto dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
  const int dfd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    ::fsync(dfd);
    ::close(dfd);
  }
  return {};
}

/// Verifies and decodes the bytes of a checkpoint file into `out` (left unchanged on failure);
/// `where` names the source in errors. Any byte string is safe input.
inline status parse_checkpoint(std::string_view file, const std::string& where, checkpoint& out) {
  auto corrupt = [&](const std::string& what) { return status{errc::corrupt_data, where, -1, what}; };
  if (file.size() < checkpoint_header_size)
    return corrupt("truncated: " + std::to_string(file.size()) + " bytes, the header alone needs " +
                   std::to_string(checkpoint_header_size));
  if (std::memcmp(file.data(), checkpoint_magic, 8) != 0) return corrupt("not a grpo checkpoint (bad magic)");
  const auto version = detail::read_le<std::uint32_t>(file.data() + 8);
  if (version != checkpoint_version)
    return corrupt("unsupported format version " + std::to_string(version) + " (this build reads " +
                   std::to_string(checkpoint_version) + ")");
  if (detail::read_le<std::uint32_t>(file.data() + 12) != checkpoint_header_size)
    return corrupt("bad header size");
  const auto payload_size = detail::read_le<std::uint64_t>(file.data() + 16);
  const auto count = detail::read_le<std::uint64_t>(file.data() + 24);
  const auto checksum = detail::read_le<std::uint64_t>(file.data() + 32);
  const std::uint64_t have = file.size() - checkpoint_header_size;
  if (payload_size != have)
    return corrupt((have < payload_size ? "truncated: the header promises " : "trailing bytes: the header promises ") +
                   std::to_string(payload_size) + " payload bytes, the file holds " + std::to_string(have));
  const char* p = file.data() + checkpoint_header_size;
  if (fnv1a64(reinterpret_cast<const unsigned char*>(p), have) != checksum)
    return corrupt("checksum mismatch: the payload is damaged");
  checkpoint c;
  std::uint64_t at = 0;
  for (std::uint64_t s = 0; s < count; ++s) {
    if (have - at < 4) return corrupt("section " + std::to_string(s) + " overruns the payload");
    const auto name_len = detail::read_le<std::uint32_t>(p + at);
    at += 4;
    if (have - at < name_len) return corrupt("section " + std::to_string(s) + " name overruns the payload");
    std::string name(p + at, name_len);
    at += name_len;
    if (have - at < 8) return corrupt("section `" + name + "` overruns the payload");
    const auto len = detail::read_le<std::uint64_t>(p + at);
    at += 8;
    if (have - at < len) return corrupt("section `" + name + "` data overruns the payload");
    if (c.has(name)) return corrupt("section `" + name + "` appears twice");
    c.put_bytes(name, std::string(p + at, len));
    at += len;
  }
  if (at != have) return corrupt("bytes left after the last section");
  out = std::move(c);
  return {};
}

/// Reads and verifies `path` into `out` (left unchanged on failure).
inline status load_checkpoint(const std::filesystem::path& path, checkpoint& out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return detail::io_fail(path, "cannot open the checkpoint");
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return detail::io_fail(path, "read failed");
  return parse_checkpoint(file, path.string(), out);
}

}  // namespace grpo::train
