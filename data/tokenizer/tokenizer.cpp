// Tokenizer: loading, validation, encode / decode and batch encoding (see tokenizer.h).
#include "data/tokenizer/tokenizer.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <mutex>
#include <thread>
#include <unordered_map>

#include "core/error.h"
#include "core/files.h"
#include "core/sha256.h"
#include "data/tokenizer/bpe_model.h"
#include "data/tokenizer/byte_level.h"
#include "data/tokenizer/nfc.h"
#include "data/tokenizer/regex_splitter.h"
#include "data/tokenizer/string_hash.h"

namespace ember::data {
namespace {

using StringIdMap = StringMap<int32_t>;

/// Per-thread cache of piece -> ids, for the tokenizer whose serial is `owner`.
struct PieceCache {
  static constexpr size_t kMaxIds = size_t(1) << 22;
  uint64_t owner = 0;
  StringMap<std::pair<uint32_t, uint32_t>> spans;
  std::vector<int32_t> ids;
};

std::atomic<uint64_t> next_serial{1};

/// Ids index per-id tables, so a file may not ask for billions of them (the largest published
/// vocabularies have about 2^18 ids).
constexpr int32_t kMaxTokenId = (int32_t(1) << 22) - 1;

}  // namespace

struct Tokenizer::State {
  TokenizerSpec spec;
  std::string json;
  std::string json_sha256;
  uint64_t serial = next_serial.fetch_add(1);
  std::unique_ptr<RegexSplitter> splitter;
  std::unique_ptr<BpeModel> model;
  std::unique_ptr<AddedTokenMatcher> added;
  StringIdMap vocab_ids;
  StringIdMap added_ids;
  std::vector<std::string> token_text;   ///< by id, as written in tokenizer.json
  std::vector<std::string> token_bytes;  ///< by id, the bytes decode() emits
  std::vector<uint8_t> id_used;

  void encode_piece(std::string_view piece, std::vector<int32_t>& out) const;
  void encode_stretch(std::string_view text, std::vector<int32_t>& out) const;
};

void Tokenizer::State::encode_piece(std::string_view piece, std::vector<int32_t>& out) const {
  if (piece.size() <= 2) {
    model->encode_piece(piece, out);
    return;
  }
  thread_local PieceCache cache;
  if (cache.owner != serial || cache.ids.size() > PieceCache::kMaxIds) {
    cache.spans.clear();
    cache.ids.clear();
    cache.owner = serial;
  }
  auto hit = cache.spans.find(piece);
  if (hit != cache.spans.end()) {
    const int32_t* first = cache.ids.data() + hit->second.first;
    out.insert(out.end(), first, first + hit->second.second);
    return;
  }
  size_t before = out.size();
  model->encode_piece(piece, out);
  cache.spans.emplace(std::string(piece), std::make_pair(uint32_t(cache.ids.size()), uint32_t(out.size() - before)));
  cache.ids.insert(cache.ids.end(), out.begin() + std::ptrdiff_t(before), out.end());
}

void Tokenizer::State::encode_stretch(std::string_view text, std::vector<int32_t>& out) const {
  std::string rewritten;
  if (spec.nfc) {
    rewritten = nfc_normalize(text);
    text = rewritten;
  }
  if (spec.add_prefix_space && !text.starts_with(' ')) {
    rewritten = " " + std::string(text);
    text = rewritten;
  }
  if (!splitter) {
    encode_piece(text, out);
    return;
  }
  splitter->for_each_piece(text, [&](std::string_view piece) { encode_piece(piece, out); });
}

Tokenizer Tokenizer::load(const std::string& path) { return from_json(read_file(path), path); }

Tokenizer Tokenizer::from_json(std::string_view json_text, const std::string& source) {
  return Tokenizer(parse_tokenizer_json(json_text, source), source);
}

Tokenizer::Tokenizer(TokenizerSpec spec, const std::string& source) {
  auto state = std::make_shared<State>();
  state->spec = std::move(spec);
  const TokenizerSpec& s = state->spec;

  int32_t max_id = -1;
  for (const auto& [token, id] : s.vocab) max_id = std::max(max_id, id);
  for (const AddedToken& token : s.added_tokens) max_id = std::max(max_id, token.id);
  if (max_id > kMaxTokenId) fail_usage("{}: token id {} is too large (ids must be at most {})", source, max_id, kMaxTokenId);
  state->token_text.resize(size_t(max_id + 1));
  state->token_bytes.resize(size_t(max_id + 1));
  state->id_used.assign(size_t(max_id + 1), 0);

  for (const auto& [token, id] : s.vocab) {
    if (state->id_used[size_t(id)]) fail_usage("{}: id {} appears twice in the vocabulary", source, id);
    state->id_used[size_t(id)] = 1;
    state->vocab_ids.emplace(token, id);
    state->token_text[size_t(id)] = token;
    state->token_bytes[size_t(id)] = byte_level_to_bytes(token).value_or(token);
  }
  for (const AddedToken& token : s.added_tokens) {
    if (token.id < 0) fail_usage("{}: added token '{}' has a negative id", source, token.content);
    if (token.content.empty()) fail_usage("{}: added token {} has empty content", source, token.id);
    if (find_invalid_utf8(token.content)) fail_usage("{}: added token {} is not valid UTF-8", source, token.id);
    if (!state->added_ids.emplace(token.content, token.id).second)
      fail_usage("{}: added token '{}' appears twice", source, token.content);
    state->id_used[size_t(token.id)] = 1;
    state->token_text[size_t(token.id)] = token.content;
    state->token_bytes[size_t(token.id)] = token.content;
  }

  std::array<int32_t, 256> byte_ids;
  const auto& alphabet = byte_level_alphabet();
  for (int b = 0; b < 256; ++b) {
    auto it = state->vocab_ids.find(alphabet[size_t(b)]);
    byte_ids[size_t(b)] = it == state->vocab_ids.end() ? -1 : it->second;
  }
  std::vector<BpeMerge> merges;
  merges.reserve(s.merges.size());
  auto id_of = [&](const std::string& token, size_t rank) {
    auto it = state->vocab_ids.find(token);
    if (it == state->vocab_ids.end())
      fail_usage("{}: merge {} ('{} {}') uses '{}', which is not in the vocabulary", source, rank, s.merges[rank].first,
                 s.merges[rank].second, token);
    return it->second;
  };
  for (size_t rank = 0; rank < s.merges.size(); ++rank) {
    const auto& [left, right] = s.merges[rank];
    merges.push_back(BpeMerge{id_of(left, rank), id_of(right, rank), id_of(left + right, rank)});
  }
  StringMap<int32_t> whole_words;
  if (s.ignore_merges)
    for (const auto& [token, id] : s.vocab)
      if (auto bytes = byte_level_to_bytes(token)) whole_words.emplace(*bytes, id);
  state->model = std::make_unique<BpeModel>(byte_ids, merges, s.ignore_merges, std::move(whole_words));
  state->added = std::make_unique<AddedTokenMatcher>(s.added_tokens);
  try {
    if (s.pre_tokenizer == PreTokenizerKind::SplitThenByteLevel)
      state->splitter = std::make_unique<RegexSplitter>(s.split_pattern);
    else if (s.pre_tokenizer == PreTokenizerKind::ByteLevelWithRegex)
      state->splitter = std::make_unique<RegexSplitter>(std::string(kGpt2SplitPattern));
  } catch (const Error& e) {
    fail_usage("{}: {}", source, e.what());
  }
  state->json = serialize_tokenizer_json(s);
  state->json_sha256 = sha256_hex(state->json);
  state_ = std::move(state);
}

void Tokenizer::save(const std::string& path) const { write_file_atomic(path, state_->json); }

const std::string& Tokenizer::to_json() const { return state_->json; }

std::vector<int32_t> Tokenizer::encode(std::string_view text) const {
  std::vector<int32_t> ids;
  ids.reserve(text.size() / 3 + 4);
  encode_into(text, ids);
  return ids;
}

void Tokenizer::encode_into(std::string_view text, std::vector<int32_t>& out) const {
  if (auto bad = find_invalid_utf8(text)) fail("cannot encode text: invalid UTF-8 at byte offset {}", *bad);
  const State& state = *state_;
  if (state.added->empty()) {
    state.encode_stretch(text, out);
    return;
  }
  state.added->split(
      text, [&](std::string_view stretch) { state.encode_stretch(stretch, out); },
      [&](int32_t id) { out.push_back(id); });
}

std::vector<std::vector<int32_t>> Tokenizer::encode_batch(const std::vector<std::string>& texts, int threads) const {
  std::vector<std::vector<int32_t>> results(texts.size());
  size_t workers = threads > 0 ? size_t(threads) : std::max(1u, std::thread::hardware_concurrency());
  workers = std::min(workers, std::max<size_t>(1, texts.size()));
  constexpr size_t kChunk = 16;
  std::atomic<size_t> next_chunk{0};
  std::exception_ptr first_error;
  std::mutex error_mutex;
  auto work = [&] {
    try {
      for (size_t start = next_chunk.fetch_add(kChunk); start < texts.size(); start = next_chunk.fetch_add(kChunk))
        for (size_t i = start; i < std::min(texts.size(), start + kChunk); ++i) results[i] = encode(texts[i]);
    } catch (...) {
      std::lock_guard<std::mutex> lock(error_mutex);
      if (!first_error) first_error = std::current_exception();
    }
  };
  std::vector<std::thread> pool;
  for (size_t t = 1; t < workers; ++t) pool.emplace_back(work);
  work();
  for (auto& thread : pool) thread.join();
  if (first_error) std::rethrow_exception(first_error);
  return results;
}

std::string Tokenizer::decode_bytes(std::span<const int32_t> ids) const {
  const State& state = *state_;
  std::string out;
  for (int32_t id : ids) {
    if (id < 0 || size_t(id) >= state.id_used.size() || !state.id_used[size_t(id)])
      fail("cannot decode token id {}: not in the vocabulary (size {})", id, vocab_size());
    out += state.token_bytes[size_t(id)];
  }
  return out;
}

std::string Tokenizer::decode(std::span<const int32_t> ids) const { return repair_utf8(decode_bytes(ids)); }

int64_t Tokenizer::vocab_size() const { return int64_t(state_->id_used.size()); }

std::optional<int32_t> Tokenizer::token_to_id(std::string_view token) const {
  if (auto it = state_->added_ids.find(token); it != state_->added_ids.end()) return it->second;
  if (auto it = state_->vocab_ids.find(token); it != state_->vocab_ids.end()) return it->second;
  return std::nullopt;
}

std::optional<std::string> Tokenizer::id_to_token(int32_t id) const {
  if (id < 0 || size_t(id) >= state_->id_used.size() || !state_->id_used[size_t(id)]) return std::nullopt;
  return state_->token_text[size_t(id)];
}

std::string Tokenizer::sha256() const { return state_->json_sha256; }

const TokenizerSpec& Tokenizer::spec() const { return state_->spec; }

}  // namespace ember::data
