// The external reward protocol: users score completions with any program (Python, a sandbox, a
// judge model client) without recompiling Ember.
//
// For each batch the command is started once with `/bin/sh -c COMMAND` (so quoting, arguments and
// environment assignments work as in a shell; the completions never reach the command line: they
// travel on stdin only). It receives one JSON object per line on stdin, then end-of-file:
//
//   {"prompt": "...", "completion": "...", "metadata": {...}}
//
// and must write exactly one reward per input line, in order, on stdout, then exit with status 0:
//
//   0.5            (a JSON number)        or        {"reward": 0.5}
//
// Blank lines are ignored; stderr passes through to Ember's stderr. Failures are ember::Errors
// naming the command: no answer within the timeout (the command's process group is killed), a
// non-zero exit status or a signal, a line that is not a finite number or {"reward": number},
// or a count of rewards other than the count of completions.
#pragma once

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace ember::train::rl {

/// One completion to score.
struct RewardRequest {
  std::string prompt;
  std::string completion;
  nlohmann::json metadata = nlohmann::json::object();
};

class RewardCommand {
 public:
  RewardCommand(std::string command, double timeout_s);

  /// Rewards for `requests`, in order (see the protocol above). An empty batch starts nothing.
  std::vector<double> score(const std::vector<RewardRequest>& requests) const;

  const std::string& command() const { return command_; }

 private:
  std::string command_;
  double timeout_s_;
};

/// Parses one reply line: a JSON number or an object with a numeric "reward". Throws ember::Error
/// (with `where` in the message) otherwise, or when the value is not finite.
double parse_reward_line(const std::string& line, const std::string& where);

}  // namespace ember::train::rl
