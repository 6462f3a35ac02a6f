// Loader: global-cursor sharding, prefetching and resumable state over packed streams (see loader.h).
#include "data/loader.h"

#include <cmath>

#include "core/error.h"

namespace ember::data {
namespace {

constexpr const char* kStateFormat = "ember.loader_state";
constexpr int kStateVersion = 1;
constexpr size_t kCachedEpochs = 3;

LoaderOptions validated(LoaderOptions options) {
  if (options.seq_len < 1) fail_usage("loader seq_len must be >= 1, got {}", options.seq_len);
  if (options.micro_batch < 1) fail_usage("loader micro_batch must be >= 1, got {}", options.micro_batch);
  if (options.world < 1 || options.rank < 0 || options.rank >= options.world) {
    fail_usage("loader rank {} is outside a data-parallel world of {}", options.rank, options.world);
  }
  if (!std::isfinite(options.val_fraction) || options.val_fraction < 0 || options.val_fraction >= 1) {
    fail_usage("loader val_fraction must be in [0, 1), got {}", options.val_fraction);
  }
  if (options.prefetch < 0) fail_usage("loader prefetch must be >= 0, got {}", options.prefetch);
  return options;
}

// The first key (dotted path) where two JSON values differ, for restore() messages.
std::string first_difference(const nlohmann::json& saved, const nlohmann::json& current, const std::string& path) {
  if (saved.is_object() && current.is_object()) {
    for (const auto& [key, value] : current.items()) {
      std::string child = path.empty() ? key : path + "." + key;
      if (!saved.contains(key)) return child + " is missing from the state";
      auto difference = first_difference(saved.at(key), value, child);
      if (!difference.empty()) return difference;
    }
    return "";
  }
  if (saved.is_array() && current.is_array() && saved.size() == current.size()) {
    for (size_t i = 0; i < saved.size(); ++i) {
      auto difference = first_difference(saved[i], current[i], path + "[" + std::to_string(i) + "]");
      if (!difference.empty()) return difference;
    }
    return "";
  }
  if (saved == current) return "";
  return fmt::format("{} is {} in the state but {} here", path, saved.dump(), current.dump());
}

}  // namespace

Loader::Loader(LoaderOptions options)
    : options_(validated(std::move(options))),
      corpus_(options_.files, options_.tokenizer_sha256, options_.val_fraction),
      per_epoch_(documents_per_epoch(corpus_, options_.weights)),
      val_stream_(build_validation_stream(corpus_)),
      train_packer_(corpus_, options_.seq_len),
      val_packer_(corpus_, options_.seq_len) {
  const DocumentStream& first = training_epoch(0);
  if (first.num_sequences(options_.seq_len) == 0) {
    fail("the training data ({} tokens with EOS, {} held out for validation) is shorter than one sequence of {} "
         "tokens",
         first.total_tokens(), val_stream_.total_tokens(), options_.seq_len + 1);
  }
}

Loader::~Loader() = default;

const DocumentStream& Loader::training_epoch(int64_t epoch) {
  for (const auto& [cached, stream] : epochs_) {
    if (cached == epoch) return stream;
  }
  if (epochs_.size() == kCachedEpochs) epochs_.pop_front();
  epochs_.emplace_back(epoch, build_training_epoch(corpus_, per_epoch_, options_.seed, epoch));
  return epochs_.back().second;
}

Loader::Cursor Loader::advance(Cursor from, int64_t steps) {
  Cursor cursor{from.epoch, from.sequence + steps};
  while (true) {
    int64_t in_epoch = training_epoch(cursor.epoch).num_sequences(options_.seq_len);
    if (in_epoch == 0) fail("training epoch {} packs into no sequence of {} tokens", cursor.epoch, options_.seq_len + 1);
    if (cursor.sequence < in_epoch) return cursor;
    cursor.sequence -= in_epoch;
    ++cursor.epoch;
  }
}

Loader::Produced Loader::produce_train(Cursor from) {
  Produced produced{Batch::shaped(options_.micro_batch, options_.seq_len), {}};
  for (int64_t row = 0; row < options_.micro_batch; ++row) {
    Cursor at = advance(from, options_.rank + options_.world * row);
    train_packer_.pack(training_epoch(at.epoch), at.sequence, produced.batch, row);
    produced.batch.row_epochs[static_cast<size_t>(row)] = at.epoch;
  }
  produced.next = advance(from, options_.micro_batch * options_.world);
  return produced;
}

Batch Loader::next_train() {
  if (options_.prefetch == 0) {
    Produced produced = produce_train(consumed_);
    consumed_ = produced.next;
    return std::move(produced.batch);
  }
  if (!prefetcher_) {
    prefetcher_ = std::make_unique<Prefetcher<Produced>>(
        [this, cursor = consumed_]() mutable {
          Produced produced = produce_train(cursor);
          cursor = produced.next;
          return produced;
        },
        static_cast<size_t>(options_.prefetch));
  }
  Produced produced = prefetcher_->pop();
  consumed_ = produced.next;
  return std::move(produced.batch);
}

Batch Loader::next_val() {
  int64_t available = val_sequences();
  if (available == 0) {
    fail("no validation data: val_fraction {} holds out {} tokens, fewer than one sequence of {}",
         options_.val_fraction, val_stream_.total_tokens(), options_.seq_len + 1);
  }
  Batch batch = Batch::shaped(options_.micro_batch, options_.seq_len);
  for (int64_t row = 0; row < options_.micro_batch; ++row) {
    int64_t sequence = (val_cursor_ + options_.rank + options_.world * row) % available;
    val_packer_.pack(val_stream_, sequence, batch, row);
  }
  val_cursor_ = (val_cursor_ + options_.micro_batch * options_.world) % available;
  return batch;
}

nlohmann::json Loader::data_fingerprint() const {
  nlohmann::json fingerprint = corpus_.fingerprint();
  fingerprint["seed"] = options_.seed;
  fingerprint["seq_len"] = options_.seq_len;
  fingerprint["weights"] = options_.weights;
  return fingerprint;
}

nlohmann::json Loader::state() const {
  return {{"format", kStateFormat},
          {"version", kStateVersion},
          {"train", {{"epoch", consumed_.epoch}, {"sequence", consumed_.sequence}}},
          {"val", {{"sequence", val_cursor_}}},
          {"data", data_fingerprint()}};
}

void Loader::restore(const nlohmann::json& state) {
  Cursor cursor;
  int64_t val_cursor = 0;
  try {
    if (state.at("format").get<std::string>() != kStateFormat || state.at("version").get<int>() != kStateVersion) {
      fail("loader state has format {} version {}; expected {} version {}", state.at("format").dump(),
           state.at("version").dump(), kStateFormat, kStateVersion);
    }
    std::string difference = first_difference(state.at("data"), data_fingerprint(), "");
    if (!difference.empty()) fail("loader state was saved for other data: {}", difference);
    cursor = {state.at("train").at("epoch").get<int64_t>(), state.at("train").at("sequence").get<int64_t>()};
    val_cursor = state.at("val").at("sequence").get<int64_t>();
  } catch (const nlohmann::json::exception& error) {
    fail("loader state is malformed: {}", error.what());
  }
  prefetcher_.reset();
  if (cursor.epoch < 0 || cursor.sequence < 0 ||
      cursor.sequence >= training_epoch(cursor.epoch).num_sequences(options_.seq_len)) {
    fail("loader state cursor (epoch {}, sequence {}) is outside the training data", cursor.epoch, cursor.sequence);
  }
  if (val_cursor < 0 || (val_cursor > 0 && val_cursor >= val_sequences())) {
    fail("loader state validation cursor {} is outside the {} validation sequences", val_cursor, val_sequences());
  }
  consumed_ = cursor;
  val_cursor_ = val_cursor;
}

}  // namespace ember::data
