#pragma once
/// \file
/// AnyRepository: any ScannableRepository behind one type, for code that
/// picks its backends at run time (the `strata` command takes them as URLs).
/// One virtual call per batch, not per key; a store composed at compile time
/// is still the fast path for a service.
///
///     AnyRepository warm = AnyRepository(PostgresRepository(options));
///     strata::rehydrate(warm, hot, {});

#include "strata/core/batch_result.hpp"
#include "strata/core/concepts.hpp"
#include "strata/core/config.hpp"
#include "strata/core/load_result.hpp"
#include "strata/core/record.hpp"

#include <cstddef>      // std::size_t
#include <memory>       // std::unique_ptr, std::make_unique
#include <optional>     // std::optional
#include <span>         // std::span
#include <string>       // std::string
#include <string_view>  // std::string_view
#include <type_traits>  // std::remove_cvref_t, std::is_same_v
#include <utility>      // std::move

STRATA_BEGIN_NAMESPACE

/// A ScannableRepository whose backend is chosen at run time: owns any ScannableRepository and
/// forwards each call with one virtual call per batch.
class AnyRepository {
 public:
  /// Whatever the repository inside, a caller must not assume all-or-none.
  static constexpr bool atomic_batches = false;

  /// Takes ownership of `repository`; `description` names it in reports and logs (e.g. the URL it
  /// came from).
  template <ScannableRepository R>
  requires(!std::is_same_v<std::remove_cvref_t<R>, AnyRepository>) explicit AnyRepository(
      R repository, std::string description = {})
      : self_(std::make_unique<Model<R>>(std::move(repository))),
        description_(std::move(description)) {}

  /// The wrapped repository's batch operations, forwarded as they are.
  ///@{
  BatchResult store_many(std::span<const Record> records) { return self_->store_many(records); }
  LoadResult load_many(std::span<const std::string_view> keys) { return self_->load_many(keys); }
  void load_many_into(std::span<const std::string_view> keys, LoadResult& result) {
    self_->load_many_into(keys, result);
  }
  EraseResult erase_many(std::span<const std::string_view> keys) { return self_->erase_many(keys); }
  ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) {
    return self_->scan(prefix, cursor, limit);
  }
  void scan_into(std::string_view prefix, std::string_view cursor, std::size_t limit,
                 ScanPage& page) {
    self_->scan_into(prefix, cursor, limit, page);
  }
  ///@}
  /// Removes expired records; nullopt when the repository expires them itself.
  std::optional<std::size_t> purge_expired() { return self_->purge_expired(); }

  /// What the repository is, for reports ("postgres://127.0.0.1:16432/strata").
  const std::string& description() const noexcept { return description_; }

 private:
  struct Concept {
    virtual ~Concept() = default;
    virtual BatchResult store_many(std::span<const Record>) = 0;
    virtual LoadResult load_many(std::span<const std::string_view>) = 0;
    virtual void load_many_into(std::span<const std::string_view>, LoadResult&) = 0;
    virtual EraseResult erase_many(std::span<const std::string_view>) = 0;
    virtual ScanPage scan(std::string_view, std::string_view, std::size_t) = 0;
    virtual void scan_into(std::string_view, std::string_view, std::size_t, ScanPage&) = 0;
    virtual std::optional<std::size_t> purge_expired() = 0;
  };

  template <class R>
  struct Model final : Concept {
    explicit Model(R r) : repo(std::move(r)) {}
    BatchResult store_many(std::span<const Record> records) override {
      return repo.store_many(records);
    }
    LoadResult load_many(std::span<const std::string_view> keys) override {
      return repo.load_many(keys);
    }
    // The in-place forms where R has them; otherwise the plain call's answer
    // moved over the caller's.
    void load_many_into(std::span<const std::string_view> keys, LoadResult& result) override {
      if constexpr (detail::HasLoadManyInto<R>)
        repo.load_many_into(keys, result);
      else
        result = repo.load_many(keys);
    }
    EraseResult erase_many(std::span<const std::string_view> keys) override {
      auto erased = repo.erase_many(keys);
      if constexpr (std::is_same_v<decltype(erased), EraseResult>)
        return erased;
      else
        return EraseResult{static_cast<std::size_t>(erased), {}};
    }
    ScanPage scan(std::string_view prefix, std::string_view cursor, std::size_t limit) override {
      return repo.scan(prefix, cursor, limit);
    }
    void scan_into(std::string_view prefix, std::string_view cursor, std::size_t limit,
                   ScanPage& page) override {
      detail::scan_over(repo, prefix, cursor, limit, page);
    }
    std::optional<std::size_t> purge_expired() override {
      if constexpr (requires { repo.purge_expired(); })
        return repo.purge_expired();
      else
        return std::nullopt;
    }
    R repo;
  };

  std::unique_ptr<Concept> self_;
  std::string description_;
};

STRATA_END_NAMESPACE
