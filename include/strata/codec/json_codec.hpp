#pragma once
/// \file
/// JsonCodec<T>: JSON for any struct declared with BOOST_HANA_DEFINE_STRUCT
/// (or adapted with BOOST_HANA_ADAPT_STRUCT), with no code to write per type.
/// nlohmann-json reads and writes the JSON text; the walk over the members,
/// and every check on the way in, are strata's.
///
/// Members may be: bool; integers; floating point; std::string (UTF-8);
/// enums with names given by `strata::enum_names<E>`; std::optional;
/// std::vector; std::map<std::string, V>; std::chrono durations and time
/// points (their count, in the type's own unit: exact); nested reflected
/// structs; any nesting of these.
///
/// - Floating point round-trips exactly (shortest form that reads back the
///   same double). JSON has no NaN or infinity: they are written as the
///   strings "NaN", "Infinity" and "-Infinity" and read back as such (a NaN's
///   payload and sign are not kept).
/// - Decoding is strict: a wrong type, a missing member (other than an
///   optional one), an integer outside the member's range, a fraction where an
///   integer belongs, an unknown enum name, nesting deeper than
///   json_max_depth, input larger than json_max_bytes or text that is not
///   JSON each give a CodecError naming the path ("$.legs[2].qty: expected
///   integer"). Unknown members are ignored, or rejected with
///   UnknownMembers::reject.
/// - Encoding fails only for a string that is not valid UTF-8 (JSON text
///   cannot carry it faithfully).

#include "strata/codec/codec.hpp"
#include "strata/core/config.hpp"

#include <boost/hana/accessors.hpp>
#include <boost/hana/concept/struct.hpp>
#include <boost/hana/first.hpp>
#include <boost/hana/for_each.hpp>
#include <boost/hana/second.hpp>
#include <boost/hana/string.hpp>
#include <nlohmann/json.hpp>

#include <array>        // std::array
#include <charconv>     // std::to_chars
#include <chrono>       // std::chrono::duration, time_point
#include <cmath>        // std::isnan, std::isinf
#include <cstddef>      // std::size_t
#include <cstdint>      // std::int64_t, std::uint64_t, std::uint8_t
#include <limits>       // std::numeric_limits
#include <map>          // std::map
#include <optional>     // std::optional
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::is_*
#include <utility>      // std::pair
#include <vector>       // std::vector

STRATA_BEGIN_NAMESPACE

/// Names of an enum's values, for JSON. Specialise for each enum a reflected
/// struct holds, e.g.
///
///     template <> inline constexpr auto strata::enum_names<Side> =
///         std::array{std::pair{Side::buy, std::string_view("buy")},
///                    std::pair{Side::sell, std::string_view("sell")}};
///
/// A value without a name is written as its number and cannot be read back.
template <class E>
inline constexpr std::nullptr_t enum_names = nullptr;

/// What JsonCodec does with a JSON member that names no field of the struct: skip it (a reader
/// older than the writer) or fail with a CodecError.
enum class UnknownMembers : unsigned char { ignore, reject };

/// Deepest nesting JsonCodec decodes; deeper input fails before it is parsed (no recursion on
/// hostile input).
inline constexpr std::size_t json_max_depth = 64;
/// Largest input JsonCodec decodes (16 MiB); a larger one fails without being parsed.
inline constexpr std::size_t json_max_bytes = std::size_t{16} << 20;

namespace detail::json {

template <class T>
struct is_optional : std::false_type {};
template <class T>
struct is_optional<std::optional<T>> : std::true_type {};
template <class T>
struct is_vector : std::false_type {};
template <class T, class A>
struct is_vector<std::vector<T, A>> : std::true_type {};
template <class T>
struct is_string_map : std::false_type {};
template <class V, class C, class A>
struct is_string_map<std::map<std::string, V, C, A>> : std::true_type {};
template <class T>
struct is_duration : std::false_type {};
template <class R, class P>
struct is_duration<std::chrono::duration<R, P>> : std::true_type {};
template <class T>
struct is_time_point : std::false_type {};
template <class C, class D>
struct is_time_point<std::chrono::time_point<C, D>> : std::true_type {};

template <class E>
concept NamedEnum = std::is_enum_v<E> &&
    !std::is_same_v<std::remove_cvref_t<decltype(enum_names<E>)>, std::nullptr_t>;

template <class T>
concept Integer = std::is_integral_v<T> && !std::is_same_v<T, bool>;

/// Where the walk is, as a path from "$", and the first error met.
struct Walk {
  std::string path = "$";
  std::optional<CodecError> error{};

  bool fail(std::string message) {
    if (!error) error = CodecError{path, std::move(message)};
    return false;
  }
  /// Appends the pieces to the path for the duration of `f` (appended one by
  /// one: no temporary strings on the walk's hot path).
  template <class F>
  bool step(std::string_view open, std::string_view name, std::string_view close, F&& f) {
    const std::size_t size = path.size();
    path.append(open).append(name).append(close);
    const bool ok = f();
    path.resize(size);
    return ok;
  }
  template <class F>
  bool member(std::string_view name, F&& f) {
    return step(".", name, "", f);
  }
  template <class F>
  bool index(std::size_t i, F&& f) {
    char digits[24];
    const auto end = std::to_chars(digits, digits + sizeof digits, i).ptr;
    return step("[", std::string_view(digits, static_cast<std::size_t>(end - digits)), "]", f);
  }
  template <class F>
  bool key(std::string_view k, F&& f) {
    return step("[\"", k, "\"]", f);
  }
};

/// Whether `s` is well-formed UTF-8 (no overlongs, surrogates or values past
/// U+10FFFF), which is what JSON text must be.
inline bool valid_utf8(std::string_view s) noexcept {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    const unsigned c = *p;
    std::size_t n = 0;
    std::uint32_t cp = 0, min = 0;
    if (c < 0x80) {
      ++p;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3, cp = c & 0x07, min = 0x10000;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= n) return false;
    for (std::size_t k = 1; k <= n; ++k) {
      if ((p[k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    p += n + 1;
  }
  return true;
}

/// Nesting depth of JSON text, counted outside strings; stops counting once
/// past `limit`, so hostile input costs one linear pass at most.
inline std::size_t nesting_depth(std::string_view text, std::size_t limit) noexcept {
  std::size_t depth = 0, deepest = 0;
  bool in_string = false, escaped = false;
  for (char c : text) {
    if (in_string) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      if (++depth > deepest && (deepest = depth) > limit) return deepest;
    } else if ((c == ']' || c == '}') && depth > 0) {
      --depth;
    }
  }
  return deepest;
}

// ---- encode -------------------------------------------------------------------

template <class T>
bool encode(const T& value, nlohmann::json& out, Walk& walk);

template <class T>
bool encode_struct(const T& value, nlohmann::json& out, Walk& walk) {
  out = nlohmann::json::object();
  bool ok = true;
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto accessor) {
    if (!ok) return;
    const char* name = boost::hana::to<const char*>(boost::hana::first(accessor));
    ok = walk.member(name,
                     [&] { return encode(boost::hana::second(accessor)(value), out[name], walk); });
  });
  return ok;
}

template <class T>
bool encode(const T& value, nlohmann::json& out, Walk& walk) {
  if constexpr (std::is_same_v<T, bool>) {
    out = value;
  } else if constexpr (Integer<T>) {
    if constexpr (std::is_signed_v<T>)
      out = static_cast<std::int64_t>(value);
    else
      out = static_cast<std::uint64_t>(value);
  } else if constexpr (std::is_floating_point_v<T>) {
    if (std::isnan(value))
      out = "NaN";
    else if (std::isinf(value))
      out = value > 0 ? "Infinity" : "-Infinity";
    else
      out = static_cast<double>(value);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!valid_utf8(value)) return walk.fail("string is not valid UTF-8");
    out = value;
  } else if constexpr (NamedEnum<T>) {
    for (const auto& [e, name] : enum_names<T>)
      if (e == value) {
        out = name;
        return true;
      }
    out = static_cast<std::int64_t>(value);  // unnamed: written, but unreadable (see enum_names)
  } else if constexpr (is_optional<T>::value) {
    if (!value) {
      out = nullptr;
      return true;
    }
    return encode(*value, out, walk);
  } else if constexpr (is_vector<T>::value) {
    out = nlohmann::json::array();
    for (std::size_t i = 0; i < value.size(); ++i) {
      out.push_back(nullptr);
      if (!walk.index(i, [&] { return encode(value[i], out.back(), walk); })) return false;
    }
  } else if constexpr (is_string_map<T>::value) {
    out = nlohmann::json::object();
    for (const auto& entry : value) {  // no structured binding: lambdas below capture it
      const std::string& key = entry.first;
      const auto& element = entry.second;
      if (!valid_utf8(key)) return walk.fail("map key is not valid UTF-8");
      if (!walk.key(key, [&] { return encode(element, out[key], walk); })) return false;
    }
  } else if constexpr (is_duration<T>::value) {
    return encode(value.count(), out, walk);
  } else if constexpr (is_time_point<T>::value) {
    return encode(value.time_since_epoch().count(), out, walk);
  } else if constexpr (boost::hana::Struct<T>::value) {
    return encode_struct(value, out, walk);
  } else {
    static_assert(sizeof(T) == 0,
                  "strata::JsonCodec: a member's type is not supported (bool, integers, floating "
                  "point, std::string, named enums, optional, vector, map<string, V>, chrono "
                  "durations and time points, reflected structs)");
  }
  return true;
}

// ---- decode -------------------------------------------------------------------

template <class T, UnknownMembers Unknown>
bool decode(const nlohmann::json& in, T& out, Walk& walk);

inline const char* type_name(const nlohmann::json& j) noexcept {
  if (j.is_number_float()) return "a fraction";
  return j.type_name();
}

template <class T>
bool decode_integer(const nlohmann::json& in, T& out, Walk& walk) {
  if (!in.is_number_integer())
    return walk.fail(std::string("expected integer, found ") + type_name(in));
  if (in.is_number_unsigned()) {
    const auto v = in.get<std::uint64_t>();
    if (v > static_cast<std::uint64_t>(std::numeric_limits<T>::max()))
      return walk.fail("integer out of range");
    out = static_cast<T>(v);
    return true;
  }
  const auto v = in.get<std::int64_t>();
  if constexpr (std::is_unsigned_v<T>) {
    if (v < 0) return walk.fail("integer out of range");
    if (static_cast<std::uint64_t>(v) > std::numeric_limits<T>::max())
      return walk.fail("integer out of range");
  } else {
    if (v < std::numeric_limits<T>::min() || v > std::numeric_limits<T>::max())
      return walk.fail("integer out of range");
  }
  out = static_cast<T>(v);
  return true;
}

template <class T>
bool decode_float(const nlohmann::json& in, T& out, Walk& walk) {
  if (in.is_string()) {
    const auto& s = in.get_ref<const std::string&>();
    if (s == "NaN")
      out = std::numeric_limits<T>::quiet_NaN();
    else if (s == "Infinity")
      out = std::numeric_limits<T>::infinity();
    else if (s == "-Infinity")
      out = -std::numeric_limits<T>::infinity();
    else
      return walk.fail("expected number, found string");
    return true;
  }
  if (!in.is_number()) return walk.fail(std::string("expected number, found ") + type_name(in));
  const double v = in.get<double>();
  if constexpr (!std::is_same_v<T, double> && !std::is_same_v<T, long double>)
    if (std::abs(v) > static_cast<double>(std::numeric_limits<T>::max()))
      return walk.fail("number out of range");
  out = static_cast<T>(v);
  return true;
}

template <class T, UnknownMembers Unknown>
bool decode_struct(const nlohmann::json& in, T& out, Walk& walk) {
  if (!in.is_object()) return walk.fail(std::string("expected object, found ") + type_name(in));
  bool ok = true;
  boost::hana::for_each(boost::hana::accessors<T>(), [&](auto accessor) {
    if (!ok) return;
    const char* name = boost::hana::to<const char*>(boost::hana::first(accessor));
    auto& member = boost::hana::second(accessor)(out);
    using Member = std::remove_cvref_t<decltype(member)>;
    ok = walk.member(name, [&] {
      const auto it = in.find(name);
      if (it == in.end()) {
        if constexpr (is_optional<Member>::value) {
          member.reset();
          return true;
        }
        return walk.fail("missing required member");
      }
      return decode<Member, Unknown>(*it, member, walk);
    });
  });
  if (ok && Unknown == UnknownMembers::reject) {
    for (const auto& item : in.items()) {
      const std::string& key = item.key();
      bool known = false;
      boost::hana::for_each(boost::hana::accessors<T>(), [&](auto accessor) {
        known = known || key == boost::hana::to<const char*>(boost::hana::first(accessor));
      });
      if (!known) return walk.member(key, [&] { return walk.fail("unknown member"); });
    }
  }
  return ok;
}

template <class T, UnknownMembers Unknown>
bool decode(const nlohmann::json& in, T& out, Walk& walk) {
  if constexpr (std::is_same_v<T, bool>) {
    if (!in.is_boolean()) return walk.fail(std::string("expected boolean, found ") + type_name(in));
    out = in.get<bool>();
  } else if constexpr (Integer<T>) {
    return decode_integer(in, out, walk);
  } else if constexpr (std::is_floating_point_v<T>) {
    return decode_float(in, out, walk);
  } else if constexpr (std::is_same_v<T, std::string>) {
    if (!in.is_string()) return walk.fail(std::string("expected string, found ") + type_name(in));
    out = in.get_ref<const std::string&>();
  } else if constexpr (NamedEnum<T>) {
    if (!in.is_string())
      return walk.fail(std::string("expected enum name, found ") + type_name(in));
    const auto& s = in.get_ref<const std::string&>();
    for (const auto& [e, name] : enum_names<T>)
      if (name == s) {
        out = e;
        return true;
      }
    return walk.fail("unknown enum name \"" + s + "\"");
  } else if constexpr (is_optional<T>::value) {
    if (in.is_null()) {
      out.reset();
      return true;
    }
    out.emplace();
    return decode<typename T::value_type, Unknown>(in, *out, walk);
  } else if constexpr (is_vector<T>::value) {
    if (!in.is_array()) return walk.fail(std::string("expected array, found ") + type_name(in));
    out.clear();
    out.resize(in.size());
    for (std::size_t i = 0; i < in.size(); ++i)
      if (!walk.index(i,
                      [&] { return decode<typename T::value_type, Unknown>(in[i], out[i], walk); }))
        return false;
  } else if constexpr (is_string_map<T>::value) {
    if (!in.is_object()) return walk.fail(std::string("expected object, found ") + type_name(in));
    out.clear();
    for (const auto& item : in.items()) {
      const std::string& key = item.key();
      const nlohmann::json& element = item.value();
      typename T::mapped_type value{};
      if (!walk.key(key,
                    [&] { return decode<typename T::mapped_type, Unknown>(element, value, walk); }))
        return false;
      out.emplace(key, std::move(value));
    }
  } else if constexpr (is_duration<T>::value) {
    typename T::rep count{};
    if (!decode<typename T::rep, Unknown>(in, count, walk)) return false;
    out = T(count);
  } else if constexpr (is_time_point<T>::value) {
    typename T::rep count{};
    if (!decode<typename T::rep, Unknown>(in, count, walk)) return false;
    out = T(typename T::duration(count));
  } else if constexpr (boost::hana::Struct<T>::value) {
    return decode_struct<T, Unknown>(in, out, walk);
  }
  return true;
}

}  // namespace detail::json

/// JSON for a reflected struct `T`. `Tag` (1-15) goes into the envelope's
/// flags: bump it when a change of `T` makes old bytes unreadable.
template <class T, UnknownMembers Unknown = UnknownMembers::ignore, std::uint8_t Tag = 1>
struct JsonCodec {
  static_assert(boost::hana::Struct<T>::value,
                "strata::JsonCodec<T>: T must be declared with BOOST_HANA_DEFINE_STRUCT or "
                "adapted with BOOST_HANA_ADAPT_STRUCT");
  static_assert(Tag >= 1 && Tag <= 15, "strata::JsonCodec: the tag must be 1 to 15 (0 is raw)");
  /// Goes into the envelope's flags; Lookup::codec_tag reports it back.
  static constexpr std::uint8_t tag = Tag;

  /// Appends the JSON of `value` to `out`. A value JSON cannot represent (a NaN, a string that is
  /// not UTF-8, an enum value without a name) is a CodecError with its path, and `out` is left as
  /// it was.
  static std::optional<CodecError> encode(const T& value, std::string& out) {
    nlohmann::json json;
    detail::json::Walk walk;
    if (!detail::json::encode(value, json, walk)) return walk.error;
    out += json.dump();
    return std::nullopt;
  }

  /// The struct the JSON in `bytes` describes, or a CodecError with the path of the first member
  /// that does not fit.
  static Decoded<T> decode(std::string_view bytes) {
    if (bytes.size() > json_max_bytes)
      return CodecError{"$", "input of " + std::to_string(bytes.size()) + " bytes exceeds " +
                                 std::to_string(json_max_bytes)};
    if (detail::json::nesting_depth(bytes, json_max_depth) > json_max_depth)
      return CodecError{"$", "nesting deeper than " + std::to_string(json_max_depth)};
    const nlohmann::json json =
        nlohmann::json::parse(bytes.data(), bytes.data() + bytes.size(), nullptr,
                              /*allow_exceptions=*/false);
    if (json.is_discarded()) return CodecError{"$", "not JSON text"};
    T value{};
    detail::json::Walk walk;
    if (!detail::json::decode<T, Unknown>(json, value, walk)) return *walk.error;
    return value;
  }
};

STRATA_END_NAMESPACE
