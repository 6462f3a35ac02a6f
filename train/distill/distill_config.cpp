// Schema of the `distill` section and of the whole `ember distill` config (see distill_config.h).
#include "train/distill/distill_config.h"

#include <fmt/format.h>

#include "data/tasks/registry.h"

namespace ember::train::distill {

using config::Schema;

void describe_distill_options(Schema& s, DistillOptions& c) {
  s.section("distill",
            "Distillation (`ember distill`) of a frozen teacher checkpoint into a student (fresh from the `model` "
            "section, or distill.student_init). Teacher and student must share the tokenizer; logits are compared "
            "over the tokenizer's vocabulary (extra embedding rows are sliced off). Loss per counted token: "
            "(1 - ce_weight) x divergence + ce_weight x cross-entropy, normalised by the global token count. "
            "Presets: `configs/nano/distill*.yaml`.");
  s.add("distill.teacher", c.teacher, "Teacher checkpoint (or run directory: its newest checkpoint).");
  s.add("distill.student_init", c.student_init,
        "Student checkpoint to start from; empty starts from the `model` section with fresh weights.");
  s.add("distill.mode", c.mode,
        "online: teacher forward in the same step on dataset batches; offline: teacher top-k read from "
        "distill.teacher_logits (`ember distill dump-teacher`); onpolicy: the student samples task completions, the "
        "teacher scores them (GKD, lambda = onpolicy_ratio); seqkd: the teacher generates task solutions, the "
        "student trains on them with cross-entropy.")
      .choices({"online", "offline", "onpolicy", "seqkd"});
  s.add("distill.divergence", c.divergence,
        "forward_kl KL(teacher||student), reverse_kl KL(student||teacher), or jsd (generalised JSD, distill.beta).")
      .choices({"forward_kl", "reverse_kl", "jsd"});
  s.add("distill.beta", c.beta, "JSD mixture weight of the teacher: 0 is exactly forward KL, 1 exactly reverse KL.")
      .min(0).max(1);
  s.add("distill.temperature", c.temperature, "Both distributions are softmax(logits / temperature).")
      .check([&c]() -> std::optional<std::string> {
        if (c.temperature > 0) return std::nullopt;
        return std::string("must be positive");
      });
  s.add("distill.t2_scaling", c.t2_scaling, "Multiply the divergence by temperature^2 (classic KD).");
  s.add("distill.ce_weight", c.ce_weight,
        "Weight of next-token cross-entropy on the data; the divergence gets 1 - ce_weight.").min(0).max(1);
  s.add("distill.top_k", c.top_k,
        "online: compare on the teacher's top-k only (0 = the dense distribution); offline: read from the file.")
      .min(0);
  s.add("distill.tail", c.tail,
        "Teacher top-k missing mass: renormalize both distributions over the k ids, or add a (k+1)-th tail bucket.")
      .choices({"renormalize", "bucket"});
  s.add("distill.teacher_logits", c.teacher_logits, "offline: the HDF5 file written by `ember distill dump-teacher`.");
  s.add("distill.onpolicy_ratio", c.onpolicy_ratio,
        "onpolicy: share of each step's sequences sampled by the student (the rest are dataset sequences).")
      .min(0).max(1);
  s.add("distill.task", c.task, "Generated task for on-policy / seqkd prompts (train split) and held-out accuracy.")
      .choices(data::tasks::task_names());
  s.add("distill.difficulty", c.difficulty, "Task difficulty 1-5; 0 means the task's default.").min(0).max(5);
  s.add("distill.max_new_tokens", c.max_new_tokens, "Completion length limit when sampling and evaluating.").min(1);
  s.add("distill.sample_temperature", c.sample_temperature,
        "Sampling temperature of student rollouts (onpolicy) and teacher generations (seqkd; 0 = greedy).")
      .min(0);
  s.add("distill.seqkd_correct_only", c.seqkd_correct_only,
        "seqkd: train only on teacher solutions the task's verifier accepts.");
  s.add("distill.chunk_elements", c.chunk_elements,
        "fp32 logits per block of the divergence (rows x vocabulary): bounds its working memory.").min(1);
  s.add("distill.eval_samples", c.eval_samples, "Distinct held-out problems for greedy accuracy; 0 skips evaluation.").min(0);
  s.add("distill.eval_interval", c.eval_interval, "Evaluate every N steps (and after the last); 0 only at the end.")
      .min(0);
  s.add("distill.eval_seed", c.eval_seed, "Seed of the held-out problem stream (the same as `ember eval --seed`).")
      .min(0);
  s.add_check([&c]() -> std::optional<std::string> {
    if (c.teacher.empty()) return std::string("distill.teacher is empty: name the teacher checkpoint or run directory");
    if (c.mode == "offline" && c.teacher_logits.empty()) {
      return std::string("distill.mode offline needs distill.teacher_logits (write it with `ember distill "
                         "dump-teacher`)");
    }
    return std::nullopt;
  });
}

void describe_distill(Schema& s, DistillConfig& c) {
  describe_common(s, c);
  describe_model(s, c.model);
  describe_data(s, c.data);
  describe_distill_options(s, c.distill);
  s.add_check([&c]() -> std::optional<std::string> {
    if (reads_token_stores(c.distill) && c.data.train.empty()) {
      return fmt::format("distill.mode {} reads dataset sequences: list token stores in data.train", c.distill.mode);
    }
    if (c.train.seq_len > c.model.max_seq_len) {
      return fmt::format("train.seq_len ({}) exceeds model.max_seq_len ({})", c.train.seq_len, c.model.max_seq_len);
    }
    return std::nullopt;
  });
}

bool reads_token_stores(const DistillOptions& options) {
  return options.mode == "online" || options.mode == "offline" ||
         (options.mode == "onpolicy" && options.onpolicy_ratio < 1);
}

}  // namespace ember::train::distill
