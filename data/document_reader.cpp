// Document units, their defaults by extension, and the reader for a file (see document_reader.h).
#include "data/document_reader.h"

#include <filesystem>

#include "core/error.h"
#include "data/compressed_reader.h"
#include "data/jsonl_documents.h"
#include "data/parquet_reader.h"
#include "data/text_documents.h"

namespace ember::data {
namespace {

std::string content_extension(const std::string& path) {
  return std::filesystem::path(strip_compression_suffix(path)).extension().string();
}

}  // namespace

const char* document_unit_name(DocumentUnit unit) {
  switch (unit) {
    case DocumentUnit::kFile: return "file";
    case DocumentUnit::kBlankLine: return "blank-line";
    case DocumentUnit::kLine: return "line";
    case DocumentUnit::kJsonlField: return "jsonl-field";
    case DocumentUnit::kAuto: break;
  }
  return "auto";
}

DocumentUnit parse_document_unit(const std::string& name) {
  for (auto unit : {DocumentUnit::kAuto, DocumentUnit::kFile, DocumentUnit::kBlankLine, DocumentUnit::kLine,
                    DocumentUnit::kJsonlField}) {
    if (name == document_unit_name(unit)) return unit;
  }
  fail_usage("unknown document unit '{}' (auto, file, blank-line, line or jsonl-field)", name);
}

DocumentUnit resolve_document_unit(const std::string& path, DocumentUnit requested) {
  auto extension = content_extension(path);
  if (extension == ".jsonl" || extension == ".ndjson") return DocumentUnit::kJsonlField;
  return requested == DocumentUnit::kAuto ? DocumentUnit::kFile : requested;
}

bool is_parquet_path(const std::string& path) { return std::filesystem::path(path).extension() == ".parquet"; }

std::unique_ptr<DocumentReader> open_document_reader(const std::string& path, DocumentUnit unit,
                                                     const std::string& field) {
  if (is_parquet_path(path)) return std::make_unique<ParquetDocuments>(path, field);
  unit = resolve_document_unit(path, unit);
  if (unit == DocumentUnit::kJsonlField) return std::make_unique<JsonlDocuments>(path, field);
  return std::make_unique<TextDocuments>(path, unit);
}

}  // namespace ember::data
