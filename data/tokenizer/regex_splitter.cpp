// PCRE2-backed pre-tokenization (see regex_splitter.h). Each thread keeps its own match data and
// JIT stack, so one compiled pattern serves any number of encoding threads.
#include "data/tokenizer/regex_splitter.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include "core/error.h"

namespace ember::data {

struct RegexSplitter::Compiled {
  pcre2_code* code = nullptr;
  bool jit = false;
};

namespace {

/// Per-thread PCRE2 scratch: match data for one ovector pair and a JIT stack that lets long
/// whitespace or letter runs backtrack without overflowing the default 32 KiB.
struct ThreadMatchState {
  pcre2_match_data* match_data = pcre2_match_data_create(1, nullptr);
  pcre2_jit_stack* jit_stack = pcre2_jit_stack_create(32 * 1024, 8 * 1024 * 1024, nullptr);
  pcre2_match_context* context = pcre2_match_context_create(nullptr);

  ThreadMatchState() { pcre2_jit_stack_assign(context, nullptr, jit_stack); }
  ~ThreadMatchState() {
    pcre2_match_context_free(context);
    pcre2_jit_stack_free(jit_stack);
    pcre2_match_data_free(match_data);
  }
};

ThreadMatchState& thread_state() {
  thread_local ThreadMatchState state;
  return state;
}

std::string pcre2_message(int code) {
  PCRE2_UCHAR buffer[256];
  pcre2_get_error_message(code, buffer, sizeof(buffer));
  return reinterpret_cast<const char*>(buffer);
}

}  // namespace

std::string oniguruma_whitespace_to_pcre2(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 32);
  for (size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '\\' || i + 1 == pattern.size()) {
      out += pattern[i];
      continue;
    }
    char escaped = pattern[++i];
    if (escaped == 's')
      out += "\\p{White_Space}";
    else if (escaped == 'S')
      out += "\\P{White_Space}";
    else
      (out += '\\') += escaped;
  }
  return out;
}

RegexSplitter::RegexSplitter(std::string pattern) : pattern_(std::move(pattern)), compiled_(new Compiled) {
  int error_code = 0;
  PCRE2_SIZE error_offset = 0;
  const std::string translated = oniguruma_whitespace_to_pcre2(pattern_);
  compiled_->code = pcre2_compile(reinterpret_cast<PCRE2_SPTR>(translated.data()), translated.size(),
                                  PCRE2_UTF | PCRE2_UCP, &error_code, &error_offset, nullptr);
  if (compiled_->code == nullptr)
    fail("invalid pre-tokenizer regex at offset {}: {} (pattern: {})", error_offset, pcre2_message(error_code),
         pattern_);
  compiled_->jit = pcre2_jit_compile(compiled_->code, PCRE2_JIT_COMPLETE) == 0;
}

RegexSplitter::~RegexSplitter() {
  if (compiled_) pcre2_code_free(compiled_->code);
}

bool RegexSplitter::next_match(std::string_view text, size_t from, size_t& start, size_t& end) const {
  ThreadMatchState& state = thread_state();
  auto subject = reinterpret_cast<PCRE2_SPTR>(text.data());
  size_t offset = from;
  while (offset < text.size()) {
    int rc = compiled_->jit ? pcre2_jit_match(compiled_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                                              state.match_data, state.context)
                            : pcre2_match(compiled_->code, subject, text.size(), offset, PCRE2_NO_UTF_CHECK,
                                          state.match_data, state.context);
    if (rc == PCRE2_ERROR_NOMATCH) return false;
    if (rc < 0) fail("pre-tokenizer regex failed: {} (pattern: {})", pcre2_message(rc), pattern_);
    PCRE2_SIZE* ovector = pcre2_get_ovector_pointer(state.match_data);
    if (ovector[1] > ovector[0]) {
      start = ovector[0];
      end = ovector[1];
      return true;
    }
    // An empty match: retry one code point further on.
    offset = ovector[0] + 1;
    while (offset < text.size() && (uint8_t(text[offset]) & 0xC0) == 0x80) ++offset;
  }
  return false;
}

}  // namespace ember::data
