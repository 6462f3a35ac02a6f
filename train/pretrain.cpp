// The pretraining recipe (see pretrain.h).
#include "train/pretrain.h"

#include "core/error.h"

namespace ember::train {

void run_pretrain(const PretrainConfig& config, const std::string& resolved_yaml) {
  fail("pretraining is being assembled");
}

}  // namespace ember::train
