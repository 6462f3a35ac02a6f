// The external reward command (see reward_command.h): fork + exec of /bin/sh -c, non-blocking
// pipes driven by poll() against one deadline, and strict parsing of the replies.
#include "train/rl/reward_command.h"

#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstring>
#include <thread>

#include "core/error.h"

namespace ember::train::rl {
namespace {

using Clock = std::chrono::steady_clock;

/// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() { close(); }
  int get() const { return fd_; }
  bool open() const { return fd_ >= 0; }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }

 private:
  int fd_ = -1;
};

/// Writes to a pipe whose reader has gone return EPIPE instead of killing Ember with SIGPIPE:
/// SIGPIPE is blocked in this thread while the object lives, and a pending one is consumed.
class SigpipeBlock {
 public:
  SigpipeBlock() {
    sigemptyset(&pipe_set_);
    sigaddset(&pipe_set_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set_, &previous_);
  }
  ~SigpipeBlock() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{0, 0};
      sigtimedwait(&pipe_set_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
  }
  SigpipeBlock(const SigpipeBlock&) = delete;
  SigpipeBlock& operator=(const SigpipeBlock&) = delete;

 private:
  sigset_t pipe_set_{}, previous_{};
};

/// The child process group; killed and reaped on destruction unless already reaped.
class Child {
 public:
  explicit Child(pid_t pid) : pid_(pid) {}
  Child(const Child&) = delete;
  Child& operator=(const Child&) = delete;
  ~Child() {
    if (pid_ > 0) {
      kill_group();
      int status = 0;
      waitpid(pid_, &status, 0);
    }
  }
  void kill_group() const {
    if (pid_ > 0) ::kill(-pid_, SIGKILL);
  }
  /// Waits for the exit until `deadline`; returns the wait status, or nothing on timeout.
  std::optional<int> wait_until(Clock::time_point deadline) {
    for (auto pause = std::chrono::microseconds(200);; pause = std::min(pause * 2, std::chrono::microseconds(20000))) {
      int status = 0;
      pid_t done = waitpid(pid_, &status, WNOHANG);
      if (done == pid_) {
        pid_ = -1;
        return status;
      }
      if (done < 0 && errno != EINTR) fail("waitpid failed: {}", std::strerror(errno));
      if (Clock::now() >= deadline) return std::nullopt;
      std::this_thread::sleep_for(pause);
    }
  }

 private:
  pid_t pid_;
};

void make_pipe(int fds[2]) {
  if (pipe2(fds, O_CLOEXEC) != 0) fail("cannot create a pipe for the reward command: {}", std::strerror(errno));
}

void set_nonblocking(int fd) { fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK); }

std::string request_lines(const std::vector<RewardRequest>& requests) {
  std::string text;
  for (const auto& request : requests) {
    nlohmann::json line = {{"prompt", request.prompt}, {"completion", request.completion}, {"metadata", request.metadata}};
    text += line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
  }
  return text;
}

bool is_blank(const std::string& line) { return line.find_first_not_of(" \t\r") == std::string::npos; }

}  // namespace

double parse_reward_line(const std::string& line, const std::string& where) {
  auto bad = [&]() -> double {
    fail("{}: expected a number or {{\"reward\": number}}, got '{}'", where, line.substr(0, 200));
  };
  auto parsed = nlohmann::json::parse(line, nullptr, false);
  if (parsed.is_discarded()) return bad();
  const nlohmann::json* value = &parsed;
  if (parsed.is_object()) {
    auto it = parsed.find("reward");
    if (it == parsed.end()) return bad();
    value = &*it;
  }
  if (!value->is_number()) return bad();
  const double reward = value->get<double>();
  if (!std::isfinite(reward)) return bad();
  return reward;
}

RewardCommand::RewardCommand(std::string command, double timeout_s)
    : command_(std::move(command)), timeout_s_(timeout_s) {
  if (command_.empty()) fail_usage("the reward command is empty");
  if (!(timeout_s_ > 0)) fail_usage("the reward command timeout must be positive, got {}", timeout_s_);
}

std::vector<double> RewardCommand::score(const std::vector<RewardRequest>& requests) const {
  if (requests.empty()) return {};
  const std::string input = request_lines(requests);
  const auto deadline = Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(timeout_s_));
  const std::string name = "reward command '" + command_ + "'";

  SigpipeBlock sigpipe_block;
  int to_child[2], from_child[2];
  make_pipe(to_child);
  Fd child_stdin_read(to_child[0]), child_stdin(to_child[1]);
  make_pipe(from_child);
  Fd child_stdout(from_child[0]), child_stdout_write(from_child[1]);

  const pid_t pid = fork();
  if (pid < 0) fail("cannot start the {}: fork failed: {}", name, std::strerror(errno));
  if (pid == 0) {  // child: only async-signal-safe calls until exec
    setpgid(0, 0);
    dup2(to_child[0], STDIN_FILENO);
    dup2(from_child[1], STDOUT_FILENO);
    execl("/bin/sh", "sh", "-c", command_.c_str(), static_cast<char*>(nullptr));
    _exit(127);
  }
  setpgid(pid, pid);
  Child child(pid);
  child_stdin_read.close();
  child_stdout_write.close();
  set_nonblocking(child_stdin.get());
  set_nonblocking(child_stdout.get());

  std::string output;
  size_t written = 0;
  char buffer[65536];
  while (child_stdout.open()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
    if (left <= 0) {
      child.kill_group();
      fail("{} did not answer within {} s (killed)", name, timeout_s_);
    }
    pollfd fds[2];
    nfds_t count = 0;
    fds[count++] = {child_stdout.get(), POLLIN, 0};
    if (child_stdin.open()) fds[count++] = {child_stdin.get(), POLLOUT, 0};
    if (poll(fds, count, int(std::min<int64_t>(left, 1000))) < 0) {
      if (errno == EINTR) continue;
      fail("poll on the {} failed: {}", name, std::strerror(errno));
    }
    if (child_stdin.open() && (fds[1].revents & (POLLOUT | POLLERR | POLLHUP))) {
      ssize_t n = ::write(child_stdin.get(), input.data() + written, input.size() - written);
      if (n > 0) written += size_t(n);
      if ((n < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) child_stdin.close();
    }
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
      ssize_t n = ::read(child_stdout.get(), buffer, sizeof(buffer));
      if (n > 0) output.append(buffer, size_t(n));
      if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) child_stdout.close();
    }
  }
  child_stdin.close();

  auto status = child.wait_until(deadline);
  if (!status) {
    child.kill_group();
    fail("{} did not exit within {} s (killed)", name, timeout_s_);
  }
  if (WIFSIGNALED(*status)) fail("{} was killed by signal {} ({})", name, WTERMSIG(*status), strsignal(WTERMSIG(*status)));
  if (WIFEXITED(*status) && WEXITSTATUS(*status) != 0) {
    fail("{} exited with status {}{}", name, WEXITSTATUS(*status),
         WEXITSTATUS(*status) == 127 ? " (command not found?)" : "");
  }

  std::vector<double> rewards;
  size_t start = 0, line_number = 0;
  while (start < output.size()) {
    size_t end = output.find('\n', start);
    if (end == std::string::npos) end = output.size();
    std::string line = output.substr(start, end - start);
    start = end + 1;
    ++line_number;
    if (is_blank(line)) continue;
    rewards.push_back(parse_reward_line(line, fmt::format("{}, output line {}", name, line_number)));
  }
  if (rewards.size() != requests.size()) {
    fail("{} returned {} rewards for {} completions (one line per completion, in order)", name, rewards.size(),
         requests.size());
  }
  return rewards;
}

}  // namespace ember::train::rl
