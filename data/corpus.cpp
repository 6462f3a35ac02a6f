// Corpus: opens the loader's token stores together and splits their documents (see corpus.h).
#include "data/corpus.h"

#include <filesystem>
#include <limits>

#include "core/error.h"

namespace ember::data {
namespace {

constexpr int64_t kSplitScanBlock = int64_t{1} << 22;

}  // namespace

uint64_t DocumentHasher::finish() const {
  uint64_t z = state_ + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

bool is_validation_hash(uint64_t hash, double val_fraction) {
  return static_cast<double>(hash >> 11) * 0x1.0p-53 < val_fraction;
}

Corpus::Corpus(const std::vector<std::string>& files, const std::optional<std::string>& tokenizer_sha256,
               double val_fraction)
    : val_fraction_(val_fraction) {
  if (files.empty()) fail_usage("the loader needs at least one token store");
  for (const auto& file : files) {
    stores_.push_back(TokenStore::open(file, tokenizer_sha256));
    const TokenStore& first = stores_.front();
    const TokenStore& added = stores_.back();
    if (added.num_documents() > std::numeric_limits<uint32_t>::max()) {
      fail("token store '{}': {} documents exceed the loader's limit of 2^32 per store", file, added.num_documents());
    }
    if (added.vocab_size() != first.vocab_size() || added.eos_id() != first.eos_id() ||
        added.tokenizer_sha256() != first.tokenizer_sha256()) {
      fail("token stores '{}' and '{}' were written with different tokenizers (vocab_size {} vs {}, eos_id {} vs {}, "
           "tokenizer_sha256 {} vs {})",
           first.path(), file, first.vocab_size(), added.vocab_size(), first.eos_id(), added.eos_id(),
           first.tokenizer_sha256(), added.tokenizer_sha256());
    }
  }
  train_.resize(stores_.size());
  val_.resize(stores_.size());
  train_stream_tokens_.resize(stores_.size());
  for (size_t s = 0; s < stores_.size(); ++s) split(s, val_fraction);
}

void Corpus::split(size_t store_index, double val_fraction) {
  const TokenStore& store = stores_[store_index];
  auto offsets = store.doc_offsets();
  auto documents = static_cast<uint64_t>(store.num_documents());
  uint64_t document = 0;
  DocumentHasher hasher;
  // Assigns every document that ends at or before `position` to its side of the split.
  auto close_documents_before = [&](uint64_t position) {
    while (document < documents && offsets[document + 1] <= position) {
      uint64_t length = offsets[document + 1] - offsets[document];
      if (length > 0) {
        bool held_out = is_validation_hash(hasher.finish(), val_fraction);
        (held_out ? val_ : train_)[store_index].push_back(static_cast<uint32_t>(document));
        if (!held_out) train_stream_tokens_[store_index] += length + 1;
      }
      hasher = DocumentHasher();
      ++document;
    }
  };
  store.scan(kSplitScanBlock, [&](int64_t first, std::span<const int32_t> ids) {
    for (size_t i = 0; i < ids.size(); ++i) {
      close_documents_before(static_cast<uint64_t>(first) + i);
      hasher.add(ids[i]);
    }
  });
  close_documents_before(std::numeric_limits<uint64_t>::max());
}

void Corpus::read(DocumentRef ref, int64_t begin, int64_t count, int32_t* out) const {
  const TokenStore& store = stores_[ref.store];
  store.read_tokens(static_cast<int64_t>(store.doc_offsets()[ref.document]) + begin, count, out);
}

nlohmann::json Corpus::fingerprint() const {
  nlohmann::json stores = nlohmann::json::array();
  for (size_t s = 0; s < stores_.size(); ++s) {
    stores.push_back({{"file", std::filesystem::path(stores_[s].path()).filename().string()},
                      {"num_documents", stores_[s].num_documents()},
                      {"num_tokens", stores_[s].num_tokens()},
                      {"train_documents", train_[s].size()},
                      {"val_documents", val_[s].size()}});
  }
  return {{"stores", stores}, {"val_fraction", val_fraction_}, {"tokenizer_sha256", stores_.front().tokenizer_sha256()}};
}

}  // namespace ember::data
