// Checking a checkpoint against its manifest before anything of it is used.
//
// A checkpoint is read only through its manifest: a file the manifest does not list is never read,
// and a weights file (*.safetensors) in the directory that it does not list makes the checkpoint
// invalid (it was tampered with or mixed with another one). Every listed file must exist with its
// recorded size and checksum (CRC-32C in format 2, SHA-256 in format 1); in format 2 every shard's
// bytes must match its CRC-32C too.
#pragma once

#include <filesystem>
#include <string>

#include "checkpoint/manifest.h"

namespace ember::checkpoint {

/// Checks one listed file (existence, size, checksum); throws ember::Error naming it.
void verify_file(const std::filesystem::path& dir, const std::string& name, const FileRecord& record);

/// Reads the manifest and checks every file and shard (see the top); returns the manifest.
/// Throws ember::Error naming the corrupt, missing or unlisted file.
Manifest verify_checkpoint(const std::filesystem::path& dir);

}  // namespace ember::checkpoint
