// Named metrics: what a step reports, what metrics.jsonl and TensorBoard receive, what the console
// line picks by name (never by position).
//
// A log line covers the steps since the previous one (train.log_interval). Each scalar says how
// its per-step values combine over those n steps x_1..x_n:
//   mean  (1/n) sum x_i      losses, gradient norms, rewards, clip fractions (the default)
//   last  x_n                learning rate, running totals (tokens, FLOPs)
//   max   max x_i            maxima (response_length_max, logprob_gap_max)
// so a logged `loss` is the mean training loss of the interval, not one step's.
#pragma once

#include <algorithm>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "core/error.h"

namespace ember::train {

enum class Reduce { mean, last, max };

/// An ordered list of unique named values.
class Scalars {
 public:
  struct Entry {
    std::string name;
    double value = 0;
    Reduce reduce = Reduce::mean;
  };

  /// Adds `name` (or replaces its value when present, keeping its place).
  Scalars& add(const std::string& name, double value, Reduce reduce = Reduce::mean) {
    if (auto* entry = find(name)) {
      entry->value = value;
      entry->reduce = reduce;
    } else {
      entries_.push_back({name, value, reduce});
    }
    return *this;
  }
  /// Appends every entry of `other`.
  Scalars& add(const Scalars& other) {
    for (const auto& e : other.entries_) add(e.name, e.value, e.reduce);
    return *this;
  }

  bool contains(const std::string& name) const { return find(name) != nullptr; }
  /// The value of `name`; ember::Error naming it when absent.
  double at(const std::string& name) const {
    if (const auto* entry = find(name)) return entry->value;
    fail("no scalar named '{}' was reported", name);
  }
  bool empty() const { return entries_.empty(); }
  const std::vector<Entry>& entries() const { return entries_; }
  /// (name, value) pairs in order: what MetricsLog::log takes.
  std::vector<std::pair<std::string, double>> items() const {
    std::vector<std::pair<std::string, double>> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.emplace_back(e.name, e.value);
    return out;
  }

 private:
  const Entry* find(const std::string& name) const {
    auto it = std::find_if(entries_.begin(), entries_.end(), [&](const Entry& e) { return e.name == name; });
    return it == entries_.end() ? nullptr : &*it;
  }
  Entry* find(const std::string& name) { return const_cast<Entry*>(std::as_const(*this).find(name)); }

  std::vector<Entry> entries_;
};

/// The steps of one log interval, reduced per scalar as its Reduce says (see the top).
class IntervalScalars {
 public:
  /// Adds one step's scalars.
  void add(const Scalars& step) {
    for (const auto& e : step.entries()) {
      auto it = std::find_if(sums_.begin(), sums_.end(), [&](const Sum& s) { return s.name == e.name; });
      if (it == sums_.end()) {
        sums_.push_back({e.name, e.value, 1, e.reduce});
        continue;
      }
      switch (e.reduce) {
        case Reduce::mean: it->value += e.value; break;
        case Reduce::last: it->value = e.value; break;
        case Reduce::max: it->value = std::max(it->value, e.value); break;
      }
      ++it->count;
    }
  }
  bool empty() const { return sums_.empty(); }
  /// The interval's reduced scalars; starts a new interval.
  Scalars take() {
    Scalars out;
    for (const auto& s : sums_) {
      out.add(s.name, s.reduce == Reduce::mean ? s.value / double(s.count) : s.value, s.reduce);
    }
    sums_.clear();
    return out;
  }

 private:
  struct Sum {
    std::string name;
    double value;
    size_t count;
    Reduce reduce;
  };
  std::vector<Sum> sums_;
};

}  // namespace ember::train
