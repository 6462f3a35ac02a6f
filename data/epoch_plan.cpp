// Training-epoch mixtures and the validation stream (see epoch_plan.h).
#include "data/epoch_plan.h"

#include <algorithm>
#include <cmath>

#include "core/error.h"

namespace ember::data {
namespace {

// SplitMix64: a small, portable generator whose sequence is fixed by its seed on every platform
// (unlike std::uniform_int_distribution), which deterministic data order needs.
class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t next() {
    uint64_t z = (state_ += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
  }
  /// Uniform in [0, bound), unbiased (Lemire's multiply-and-reject).
  uint64_t below(uint64_t bound) {
    uint64_t threshold = (0 - bound) % bound;
    while (true) {
      auto product = static_cast<unsigned __int128>(next()) * bound;
      if (static_cast<uint64_t>(product) >= threshold) return static_cast<uint64_t>(product >> 64);
    }
  }

 private:
  uint64_t state_;
};

enum class Purpose : uint64_t { kStorePass = 1, kInterleave = 2 };

uint64_t derive_seed(uint64_t seed, Purpose purpose, uint64_t a, uint64_t b = 0) {
  SplitMix64 mixer(seed);
  uint64_t key = mixer.next() ^ static_cast<uint64_t>(purpose);
  for (uint64_t part : {a, b}) key = SplitMix64(key ^ part).next();
  return key;
}

template <typename T>
void shuffle(std::vector<T>& items, uint64_t seed) {
  SplitMix64 rng(seed);
  for (size_t i = items.size(); i > 1; --i) std::swap(items[i - 1], items[rng.below(i)]);
}

// Documents [first, first + count) of store `store`'s endless stream of shuffled passes.
std::vector<uint32_t> take_from_store_stream(const Corpus& corpus, size_t store, uint64_t first, uint64_t count,
                                             uint64_t seed) {
  auto train = corpus.train_documents(store);
  std::vector<uint32_t> taken;
  taken.reserve(count);
  std::vector<uint32_t> pass_order;
  uint64_t loaded_pass = UINT64_MAX;
  for (uint64_t position = first; position < first + count; ++position) {
    uint64_t pass = position / train.size();
    if (pass != loaded_pass) {
      pass_order.assign(train.begin(), train.end());
      shuffle(pass_order, derive_seed(seed, Purpose::kStorePass, store, pass));
      loaded_pass = pass;
    }
    taken.push_back(pass_order[position % train.size()]);
  }
  return taken;
}

void append(DocumentStream& stream, const Corpus& corpus, DocumentRef ref) {
  stream.documents.push_back(ref);
  stream.ends.push_back(stream.total_tokens() + static_cast<uint64_t>(corpus.document_length(ref)) + 1);
}

}  // namespace

int64_t DocumentStream::num_sequences(int64_t seq_len) const {
  uint64_t tokens = total_tokens();
  return tokens <= 1 ? 0 : static_cast<int64_t>((tokens - 1) / static_cast<uint64_t>(seq_len));
}

size_t DocumentStream::locate(uint64_t position) const {
  return static_cast<size_t>(std::upper_bound(ends.begin(), ends.end(), position) - ends.begin());
}

std::vector<uint64_t> documents_per_epoch(const Corpus& corpus, const std::vector<double>& weights) {
  size_t stores = corpus.num_stores();
  std::vector<uint64_t> counts(stores);
  if (weights.empty()) {
    for (size_t s = 0; s < stores; ++s) counts[s] = corpus.train_documents(s).size();
    return counts;
  }
  if (weights.size() != stores) {
    fail_usage("the loader has {} mixture weights for {} token stores", weights.size(), stores);
  }
  double weight_sum = 0, total_tokens = 0;
  for (size_t s = 0; s < stores; ++s) {
    if (!std::isfinite(weights[s]) || weights[s] < 0) {
      fail_usage("mixture weight {} of '{}' must be finite and >= 0", weights[s], corpus.store(s).path());
    }
    if (weights[s] > 0 && corpus.train_documents(s).empty()) {
      fail_usage("token store '{}' has weight {} but no training documents", corpus.store(s).path(), weights[s]);
    }
    weight_sum += weights[s];
    total_tokens += static_cast<double>(corpus.train_stream_tokens(s));
  }
  if (weight_sum <= 0) fail_usage("the mixture weights sum to zero");
  for (size_t s = 0; s < stores; ++s) {
    if (weights[s] == 0) continue;
    double mean_length = static_cast<double>(corpus.train_stream_tokens(s)) /
                         static_cast<double>(corpus.train_documents(s).size());
    double documents = std::round(weights[s] / weight_sum * total_tokens / mean_length);
    counts[s] = std::max<uint64_t>(1, static_cast<uint64_t>(documents));
  }
  return counts;
}

DocumentStream build_training_epoch(const Corpus& corpus, std::span<const uint64_t> per_epoch, uint64_t seed,
                                    int64_t epoch) {
  std::vector<std::vector<uint32_t>> from_store(corpus.num_stores());
  std::vector<uint32_t> slots;
  for (size_t s = 0; s < corpus.num_stores(); ++s) {
    if (per_epoch[s] == 0) continue;
    from_store[s] = take_from_store_stream(corpus, s, static_cast<uint64_t>(epoch) * per_epoch[s], per_epoch[s], seed);
    slots.insert(slots.end(), per_epoch[s], static_cast<uint32_t>(s));
  }
  shuffle(slots, derive_seed(seed, Purpose::kInterleave, static_cast<uint64_t>(epoch)));
  DocumentStream stream;
  stream.documents.reserve(slots.size());
  stream.ends.reserve(slots.size());
  std::vector<size_t> next(corpus.num_stores(), 0);
  for (uint32_t s : slots) append(stream, corpus, DocumentRef{s, from_store[s][next[s]++]});
  return stream;
}

DocumentStream build_validation_stream(const Corpus& corpus) {
  DocumentStream stream;
  for (size_t s = 0; s < corpus.num_stores(); ++s) {
    for (uint32_t document : corpus.val_documents(s)) append(stream, corpus, DocumentRef{uint32_t(s), document});
  }
  return stream;
}

}  // namespace ember::data
