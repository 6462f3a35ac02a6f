// Writing a teacher's top-k log-probs for offline distillation (see dump_teacher.h).
#include "train/distill/dump_teacher.h"

#include <filesystem>

#include <ATen/ops/log_softmax.h>
#include <ATen/ops/topk.h>

#include "core/error.h"
#include "core/log.h"
#include "data/loader.h"
#include "train/distill/distill_batches.h"
#include "train/distill/teacher.h"
#include "train/distill/teacher_logits_file.h"
#include "train/runtime.h"

namespace ember::train::distill {

void dump_teacher(const DumpTeacherOptions& options) {
  if (options.data.empty()) fail_usage("dump-teacher needs --data: the token stores of the training run");
  if (options.out.empty()) fail_usage("dump-teacher needs --out FILE.h5");
  if (options.sequences < 1 || options.top_k < 1 || options.batch < 1) {
    fail_usage("dump-teacher needs --sequences, --top-k and --batch of at least 1");
  }
  TrainConfig train;
  train.device = options.device;
  const auto runtime = setup_runtime(train);
  Teacher teacher(options.teacher, runtime.device, runtime.kernels);
  const int64_t vocab = teacher.tokenizer().vocab_size();
  if (options.top_k > vocab) fail_usage("--top-k {} exceeds the vocabulary ({})", options.top_k, vocab);

  data::LoaderOptions loader_options;
  loader_options.files = options.data;
  loader_options.weights = options.weights;
  loader_options.seq_len = options.seq_len;
  loader_options.micro_batch = options.batch;
  loader_options.seed = uint64_t(options.seed);
  loader_options.val_fraction = options.val_fraction;
  loader_options.prefetch = 2;
  loader_options.tokenizer_sha256 = teacher.tokenizer().sha256();
  data::Loader loader(loader_options);

  TeacherLogitsHeader header;
  header.sequences = options.sequences;
  header.seq_len = options.seq_len;
  header.top_k = options.top_k;
  header.vocab_size = vocab;
  header.tokenizer_sha256 = teacher.tokenizer().sha256();
  header.teacher = teacher.checkpoint().string();
  header.data = loader.state().at("data");
  header.half_precision = options.half_precision;
  TeacherLogitsWriter writer(options.out, header);
  log::info("dump-teacher: top-{} of {} over {} sequences x {} tokens -> {} ({} bytes per token)", options.top_k,
            teacher.checkpoint().string(), options.sequences, options.seq_len, options.out, header.bytes_per_token());

  int64_t row = 0;
  while (row < options.sequences) {
    auto batch = loader.next_train();
    auto m = dataset_micro_batch(batch, runtime.device, options.mask_documents, nullptr);
    auto logits = teacher.logits(m.inputs, m.doc_ids, vocab, runtime.bf16_autocast);
    auto top = at::topk(at::log_softmax(logits.to(at::kFloat), -1), options.top_k);
    for (int64_t b = 0; b < batch.batch && row < options.sequences; ++b, ++row) {
      const auto crc = inputs_crc32c(batch.inputs.data() + b * batch.seq_len, batch.seq_len);
      writer.write(row, batch.row_epochs[size_t(b)], batch.row_sequences[size_t(b)], crc, std::get<1>(top)[b],
                   std::get<0>(top)[b]);
    }
    if (row % (options.batch * 20) == 0 || row == options.sequences) {
      log::info("dump-teacher: {} / {} sequences", row, options.sequences);
    }
  }
  writer.finish();
  const auto bytes = std::filesystem::file_size(options.out);
  const double tokens = double(options.sequences * options.seq_len);
  log::info("dump-teacher: wrote {} ({:.1f} MiB, {:.1f} bytes per token on disk, {} in the layout)", options.out,
            double(bytes) / (1 << 20), double(bytes) / tokens, header.bytes_per_token());
}

}  // namespace ember::train::distill
