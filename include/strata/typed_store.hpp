#pragma once
/// \file
/// TypedStore: the batch API of a store over values of type T, encoded by a
/// Codec (codec/codec.hpp), so users store their own structs without writing
/// serialization.
///
///     strata::TypedStore<Position, strata::JsonCodec<Position>, Store> positions(store);
///     positions.batch_set({{"pos:1", p1}, {"pos:2", p2}});
///     for (const auto& got : positions.batch_get({"pos:1", "pos:2"}))
///       if (got) use(*got.value);
///
/// Copies: each value is encoded once, into one buffer for the whole batch;
/// the store then copies those bytes into its envelopes, as it does for a raw
/// batch_set. A read decodes straight from the store's result buffer.
///
/// The codec's tag travels in every record's envelope. A record written by
/// another codec or as raw bytes is errc::codec_mismatch, never misread; bytes
/// that do not decode as T are errc::decode_failed with the CodecError that
/// names the field. Either fails that key only.
///
/// A TypedStore is a view: it holds a reference to the store, which must
/// outlive it, and is as thread-safe as the store.

#include "strata/codec/codec.hpp"
#include "strata/core/batch_result.hpp"
#include "strata/core/clock.hpp"
#include "strata/core/config.hpp"
#include "strata/core/envelope.hpp"
#include "strata/core/error.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/small_array.hpp"
#include "strata/core/store_types.hpp"

#include <concepts>          // std::convertible_to
#include <cstddef>           // std::size_t
#include <cstdint>           // std::uint8_t
#include <initializer_list>  // std::initializer_list
#include <optional>          // std::optional
#include <ranges>            // std::ranges::forward_range
#include <span>              // std::span
#include <string>            // std::string, std::to_string
#include <string_view>       // std::string_view
#include <system_error>      // std::error_code
#include <tuple>             // std::get
#include <type_traits>       // std::is_convertible_v
#include <utility>           // std::move, std::pair
#include <vector>            // std::vector

STRATA_BEGIN_NAMESPACE

/// One typed value to write. `value` is referenced, not copied: it must live
/// for the call.
template <class T>
struct TypedItem {
  std::string_view key;  ///< a valid key
  const T& value;        ///< the value; referenced, not copied, until batch_set returns
  Millis ttl{0};         ///< as Item::ttl
};

/// The outcome for one key: the value, absent, or the error. For
/// errc::decode_failed and errc::codec_mismatch, `codec_error` says where and why.
template <class T>
struct TypedLookup {
  LookupStatus status = LookupStatus::absent;  ///< found, absent or failed
  std::optional<T> value{};                    ///< the decoded value when found
  /// Why the read failed: the store's error, errc::codec_mismatch or errc::decode_failed.
  std::error_code error{};
  CodecError codec_error{};  ///< for errc::decode_failed: the field and why

  /// True when `value` holds the decoded value.
  bool found() const noexcept { return status == LookupStatus::found; }
  /// True when there is no record.
  bool absent() const noexcept { return status == LookupStatus::absent; }
  /// True when the key could not be read or decoded; `error` says why.
  bool failed() const noexcept { return status == LookupStatus::failed; }
  /// True when found.
  explicit operator bool() const noexcept { return found(); }
};

/// A BatchResult that also says, for each position that failed with
/// errc::encode_failed, which field the codec could not represent.
class TypedBatchResult : public BatchResult {
 public:
  TypedBatchResult() = default;
  /// Takes over a store's result, with no encode errors.
  explicit TypedBatchResult(BatchResult result) : BatchResult(std::move(result)) {}

  /// The encode error at position i, or nullptr.
  const CodecError* codec_error(std::size_t i) const noexcept {
    for (const auto& [position, error] : codec_errors_)
      if (position == i) return &error;
    return nullptr;
  }
  /// Every encode error, by input position, in input order.
  const std::vector<std::pair<std::size_t, CodecError>>& codec_errors() const noexcept {
    return codec_errors_;
  }

 private:
  template <class, class, class>
  friend class TypedStore;
  std::vector<std::pair<std::size_t, CodecError>> codec_errors_;
};

/// A range whose elements are pair-like (key, T): std::map<std::string, T>,
/// std::vector<std::pair<std::string, T>>, ...
template <class R, class T>
concept KeyValueRange = std::ranges::forward_range<R> &&
    requires(std::ranges::range_reference_t<R> element) {
  { std::get<0>(element) } -> std::convertible_to<std::string_view>;
  { std::get<1>(element) } -> std::convertible_to<const T&>;
};

/// The batch API of a store over values of type `T` encoded by codec `C` (see the file's
/// description). A view: `Store` must outlive it.
template <class T, class C, class Store>
class TypedStore {
  static_assert(Codec<C, T>,
                "strata::TypedStore<T, C, Store>: C is not a Codec for T (it needs a static tag, "
                "encode(const T&, std::string&) -> std::optional<CodecError> and "
                "decode(std::string_view) -> Decoded<T>)");
  static_assert(C::tag >= 1 && C::tag <= envelope_max_codec_tag,
                "strata::TypedStore: a codec's tag is 1-15 (0 means raw bytes)");

  /// The values' type.
 public:
  using value_type = T;
  using codec_type = C;      ///< the Codec
  using store_type = Store;  ///< the store it views

  /// A view of `store`.
  explicit TypedStore(Store& store) noexcept : store_(&store) {}

  // ---- single key: one-element batches -------------------------------------

  /// Stores one value; the error is empty when it was stored. An encode
  /// failure's field is only in batch_set's result.
  std::error_code set(std::string_view key, const T& value, Millis ttl = Millis{0}) {
    const TypedItem<T> item{key, value, ttl};
    return write(std::span<const TypedItem<T>>(&item, 1)).error(0);
  }
  /// One key: a one-element batch_get.
  TypedLookup<T> get(std::string_view key) { return std::move(batch_get({key})[0]); }
  /// One key: a one-element batch_delete.
  DeleteResult erase(std::string_view key) { return store_->erase(key); }

  // ---- batches -------------------------------------------------------------

  /// Encodes every value into one buffer and writes the batch with one
  /// store batch_set: a value the codec cannot represent fails alone
  /// (errc::encode_failed, with its CodecError), the rest proceed.
  TypedBatchResult batch_set(std::span<const TypedItem<T>> items) { return write(items); }
  /// The same, for a braced list of items.
  TypedBatchResult batch_set(std::initializer_list<TypedItem<T>> items) {
    return write(std::span<const TypedItem<T>>(items.begin(), items.size()));
  }
  /// Any range of (key, value) pairs, all with the same time to live.
  template <KeyValueRange<T> Pairs>
  TypedBatchResult batch_set(const Pairs& pairs, Millis ttl = Millis{0}) {
    std::vector<TypedItem<T>> items;
    if constexpr (std::ranges::sized_range<Pairs>) items.reserve(std::ranges::size(pairs));
    for (const auto& pair : pairs) items.push_back({std::get<0>(pair), std::get<1>(pair), ttl});
    return write(items);
  }

  /// Per key, in input order: the value, absent, or the error.
  std::vector<TypedLookup<T>> batch_get(std::span<const std::string_view> keys) {
    return decode_all(store_->batch_get(keys));
  }
  /// The same, for a braced list of keys.
  std::vector<TypedLookup<T>> batch_get(std::initializer_list<std::string_view> keys) {
    return batch_get(std::span<const std::string_view>(keys.begin(), keys.size()));
  }
  /// Any range of things convertible to std::string_view.
  template <class KeyRange>
  requires(!std::is_convertible_v<const KeyRange&, std::span<const std::string_view>>)
      std::vector<TypedLookup<T>> batch_get(const KeyRange& keys) {
    return decode_all(store_->batch_get(keys));
  }

  /// Erases the keys from every tier of the store (records of any codec), as
  /// TieredStore::batch_delete.
  DeleteResult batch_delete(std::span<const std::string_view> keys) {
    return store_->batch_delete(keys);
  }
  /// The same, for a braced list of keys.
  DeleteResult batch_delete(std::initializer_list<std::string_view> keys) {
    return store_->batch_delete(keys);
  }
  /// Any range of things convertible to std::string_view.
  template <class KeyRange>
  requires(!std::is_convertible_v<const KeyRange&, std::span<const std::string_view>>) DeleteResult
      batch_delete(const KeyRange& keys) {
    return store_->batch_delete(keys);
  }

  /// The store it views.
  Store& store() noexcept { return *store_; }

 private:
  TypedBatchResult write(std::span<const TypedItem<T>> typed) {
    const std::size_t n = typed.size();
    // Encode everything first: the buffer may reallocate while it grows, so
    // the items' views into it are taken only once it is complete.
    std::string encoded;
    detail::SmallArray<std::size_t, 16> ends(n);
    std::vector<std::pair<std::size_t, CodecError>> encode_errors;
    for (std::size_t i = 0; i < n; ++i) {
      const std::size_t start = encoded.size();
      if (auto error = C::encode(typed[i].value, encoded)) {
        encoded.resize(start);  // a failed encode may have appended part of the value
        encode_errors.emplace_back(i, std::move(*error));
      }
      ends[i] = encoded.size();
    }

    detail::SmallArray<Item, 16> items(n);
    for (std::size_t i = 0, start = 0; i < n; start = ends[i++])
      items[i] = Item{typed[i].key, std::string_view(encoded).substr(start, ends[i] - start),
                      typed[i].ttl, C::tag};
    if (encode_errors.empty()) return TypedBatchResult(store_->batch_set(items.span()));

    // Some values did not encode: send the others, then map their outcomes
    // back to input positions.
    detail::SmallArray<Item, 16> sendable(n);
    detail::SmallArray<std::size_t, 16> position(n);
    std::size_t m = 0;
    for (std::size_t i = 0, e = 0; i < n; ++i) {
      if (e < encode_errors.size() && encode_errors[e].first == i) {
        ++e;
        continue;
      }
      sendable[m] = items[i];
      position[m++] = i;
    }
    const BatchResult sent = store_->batch_set(sendable.span().first(m));
    TypedBatchResult result{BatchResult(n)};
    result.attach_keys(items.span(), &Item::key);
    for (std::size_t j = 0; j < m; ++j) {
      if (sent.stored(j))
        result.mark_stored(position[j]);
      else
        result.mark_failed(position[j], sent.error(j));
    }
    for (const auto& [i, error] : encode_errors) result.mark_failed(i, errc::encode_failed);
    result.codec_errors_ = std::move(encode_errors);
    return result;
  }

  static CodecError mismatch(std::uint8_t found) {
    CodecError error{"$", "the record has codec tag "};
    error.message.append(std::to_string(found));
    if (found == 0) error.message.append(" (raw bytes)");
    error.message.append(", this reader's codec has tag ").append(std::to_string(C::tag));
    return error;
  }

  static std::vector<TypedLookup<T>> decode_all(LoadResult loaded) {
    std::vector<TypedLookup<T>> out(loaded.size());
    for (std::size_t i = 0; i < loaded.size(); ++i) {
      const Lookup& slot = loaded[i];
      TypedLookup<T>& typed = out[i];
      typed.status = slot.status;
      typed.error = slot.error;
      if (!slot.found()) continue;
      if (slot.codec_tag != C::tag) {
        typed.status = LookupStatus::failed;
        typed.error = errc::codec_mismatch;
        typed.codec_error = mismatch(slot.codec_tag);
        continue;
      }
      Decoded<T> decoded = C::decode(slot.value);
      if (decoded) {
        typed.value.emplace(std::move(*decoded));
      } else {
        typed.status = LookupStatus::failed;
        typed.error = errc::decode_failed;
        typed.codec_error = decoded.error();
      }
    }
    return out;
  }

  Store* store_;
};

/// `strata::typed<Position, strata::JsonCodec<Position>>(store)`: the store's
/// type deduced.
template <class T, class C, class Store>
TypedStore<T, C, Store> typed(Store& store) noexcept {
  return TypedStore<T, C, Store>(store);
}

STRATA_END_NAMESPACE
