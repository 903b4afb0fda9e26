// sim/decompress.hpp — compressed logs (gzip, xz, zstd), recognised by their magic bytes.
//
// Users attach `dmesg.log.gz`, journal exports piped through `xz`, `zstd`-compressed
// captures; a name says nothing reliable, so the first bytes decide (RFC 1952 gzip 1f 8b;
// xz FD '7zXZ' 00; zstd frame 28 B5 2F FD).  A decoder turns the input's pieces into the
// text's pieces as they come: memory stays at a few buffers whatever the sizes the input
// claims (a decompression bomb only costs time, and the caller's own limits apply to the
// text).  Concatenated members/frames (`cat a.gz b.gz`) are read one after another, as
// gzip -d and xz -d do.  Corrupt or truncated data is an error naming the format and what
// the library said.  Libraries: zlib, liblzma, libzstd (Debian zlib1g-dev, liblzma-dev,
// libzstd-dev).
#pragma once

#include <lzma.h>
#include <zlib.h>
#include <zstd.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace cmasim {

enum class compression { none, gzip, xz, zstd };

inline const char* compression_name(compression c) {
  switch (c) {
  case compression::gzip: return "gzip";
  case compression::xz: return "xz";
  case compression::zstd: return "zstd";
  default: return "plain";
  }
}

/// The format the first bytes of an input announce.
inline compression sniff(std::string_view b) {
  const auto at = [&](std::size_t i) { return static_cast<unsigned char>(b[i]); };
  if (b.size() >= 2 && at(0) == 0x1f && at(1) == 0x8b) return compression::gzip;
  if (b.size() >= 6 && at(0) == 0xfd && b.substr(1, 4) == "7zXZ" && at(5) == 0) return compression::xz;
  if (b.size() >= 4 && at(0) == 0x28 && at(1) == 0xb5 && at(2) == 0x2f && at(3) == 0xfd) return compression::zstd;
  return compression::none;
}

/// Streaming decoder of one input.  feed() calls `out` with each decoded piece; errors are
/// returned as text (the first one ends the decoding).
class decoder {
public:
  using sink = std::function<void(std::string_view)>;

  explicit decoder(compression c) : c_(c), buf_(std::size_t{1} << 16, '\0') {
    if (c_ == compression::gzip) {
      z_ = std::make_unique<z_stream>();
      *z_ = {};
      if (inflateInit2(z_.get(), 15 + 16) != Z_OK) err_ = "gzip: cannot initialise zlib";
    } else if (c_ == compression::xz) {
      x_ = std::make_unique<lzma_stream>();
      *x_ = LZMA_STREAM_INIT;
      if (lzma_stream_decoder(x_.get(), UINT64_MAX, LZMA_CONCATENATED) != LZMA_OK) err_ = "xz: cannot initialise liblzma";
    } else if (c_ == compression::zstd) {
      zs_ = ZSTD_createDStream();
      if (!zs_ || ZSTD_isError(ZSTD_initDStream(zs_))) err_ = "zstd: cannot initialise libzstd";
    }
  }
  ~decoder() {
    if (z_) inflateEnd(z_.get());
    if (x_) lzma_end(x_.get());
    if (zs_) ZSTD_freeDStream(zs_);
  }
  decoder(const decoder&) = delete;
  decoder& operator=(const decoder&) = delete;

  compression format() const noexcept { return c_; }
  const std::optional<std::string>& error() const noexcept { return err_; }

  /// Decodes `in`; false once an error happened.
  bool feed(std::string_view in, const sink& out) {
    if (err_) return false;
    if (in.empty()) return true;
    switch (c_) {
    case compression::gzip: return gzip(in, out);
    case compression::xz: return xz(in, out, LZMA_RUN);
    case compression::zstd: return zstd(in, out);
    default: out(in); return true;
    }
  }
  /// End of input: flushes, and says whether the data ended where a stream may end.
  bool finish(const sink& out) {
    if (err_) return false;
    if (c_ == compression::xz) {
      if (!xz({}, out, LZMA_FINISH)) return false;
    }
    if (c_ == compression::gzip && !between_members_) return fail("gzip: the data ends inside a member (truncated?)");
    if (c_ == compression::zstd && !between_frames_) return fail("zstd: the data ends inside a frame (truncated?)");
    return true;
  }

private:
  bool fail(std::string why) {
    err_ = std::move(why);
    return false;
  }
  bool gzip(std::string_view in, const sink& out) {
    z_->next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
    z_->avail_in = static_cast<uInt>(in.size());
    while (z_->avail_in > 0) {
      between_members_ = false;
      z_->next_out = reinterpret_cast<Bytef*>(buf_.data());
      z_->avail_out = static_cast<uInt>(buf_.size());
      const int r = inflate(z_.get(), Z_NO_FLUSH);
      const std::size_t n = buf_.size() - z_->avail_out;
      if (n) out({buf_.data(), n});
      if (r == Z_STREAM_END) {
        between_members_ = true;
        if (inflateReset(z_.get()) != Z_OK) return fail("gzip: cannot reset zlib");
        continue;
      }
      if (r == Z_BUF_ERROR && n == 0) break;
      if (r != Z_OK) return fail(std::string("gzip: corrupt data (") + (z_->msg ? z_->msg : "zlib error") + ")");
    }
    return true;
  }
  bool xz(std::string_view in, const sink& out, lzma_action action) {
    x_->next_in = reinterpret_cast<const std::uint8_t*>(in.data());
    x_->avail_in = in.size();
    for (;;) {
      x_->next_out = reinterpret_cast<std::uint8_t*>(buf_.data());
      x_->avail_out = buf_.size();
      const lzma_ret r = lzma_code(x_.get(), action);
      const std::size_t n = buf_.size() - x_->avail_out;
      if (n) out({buf_.data(), n});
      if (r == LZMA_STREAM_END) return true;
      if (r != LZMA_OK) {
        if (r == LZMA_BUF_ERROR && action == LZMA_FINISH) return fail("xz: the data ends inside a stream (truncated?)");
        return fail("xz: corrupt data (liblzma error " + std::to_string(static_cast<int>(r)) + ")");
      }
      if (x_->avail_in == 0 && x_->avail_out != 0) {
        if (action == LZMA_FINISH && n == 0) return fail("xz: the data ends inside a stream (truncated?)");
        if (action != LZMA_FINISH) return true;
      }
    }
  }
  bool zstd(std::string_view in, const sink& out) {
    ZSTD_inBuffer i{in.data(), in.size(), 0};
    while (i.pos < i.size) {
      ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
      const std::size_t r = ZSTD_decompressStream(zs_, &o, &i);
      if (ZSTD_isError(r)) return fail(std::string("zstd: corrupt data (") + ZSTD_getErrorName(r) + ")");
      if (o.pos) out({buf_.data(), o.pos});
      between_frames_ = r == 0;
    }
    // drain what is still buffered in the decoder
    for (;;) {
      ZSTD_outBuffer o{buf_.data(), buf_.size(), 0};
      ZSTD_inBuffer none{nullptr, 0, 0};
      const std::size_t r = ZSTD_decompressStream(zs_, &o, &none);
      if (ZSTD_isError(r)) return fail(std::string("zstd: corrupt data (") + ZSTD_getErrorName(r) + ")");
      if (o.pos == 0) break; // nothing was pending
      out({buf_.data(), o.pos});
      between_frames_ = r == 0;
      if (o.pos < o.size) break;
    }
    return true;
  }

  compression c_;
  std::string buf_;
  std::optional<std::string> err_;
  std::unique_ptr<z_stream> z_;
  std::unique_ptr<lzma_stream> x_;
  ZSTD_DStream* zs_ = nullptr;
  bool between_members_ = true, between_frames_ = true;
};

} // namespace cmasim
