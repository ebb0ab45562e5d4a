#include "parse/structured_writer.h"

#include <cassert>
#include <cstring>
#include <filesystem>

#include "parse/masking.h"

namespace triad {
namespace {

constexpr size_t kIoBuffer = 1u << 20;

// The positions of the tokens of `tmpl` that contain a wildcard.
std::vector<uint32_t> WildcardPositions(std::string_view tmpl) {
  std::vector<std::string_view> tt;
  SplitWhitespace(tmpl, &tt);
  std::vector<uint32_t> pos;
  for (size_t i = 0; i < tt.size(); ++i)
    if (tt[i].find(kWildcard) != std::string_view::npos) pos.push_back(static_cast<uint32_t>(i));
  return pos;
}

// ParameterList of `content` for a template whose wildcard tokens are at `pos`.
void AppendParameterList(std::string_view content, const std::vector<uint32_t>& pos,
                         std::vector<std::string_view>* scratch, std::string* out) {
  SplitWhitespace(content, scratch);
  out->push_back('[');
  bool first = true;
  for (uint32_t p : pos) {
    if (p >= scratch->size()) break;
    if (!first) out->append(", ");
    first = false;
    out->push_back('\'');
    for (char c : (*scratch)[p]) {
      if (c == '\'' || c == '\\') out->push_back('\\');
      out->push_back(c);
    }
    out->push_back('\'');
  }
  out->push_back(']');
}

void PutU32(uint32_t v, std::string* out) {
  char b[4];
  std::memcpy(b, &v, 4);
  out->append(b, 4);
}

bool ReadExact(std::FILE* f, void* dst, size_t n) { return std::fread(dst, 1, n, f) == n; }

Status WriteAll(std::FILE* f, const std::string& s, const std::string& path) {
  if (!s.empty() && std::fwrite(s.data(), 1, s.size(), f) != s.size())
    return Status::IOError("write failed: " + path);
  return Status::OK();
}

}  // namespace

void AppendCsvField(std::string_view s, std::string* out) {
  if (s.find_first_of(",\"\r\n") == std::string_view::npos) {
    out->append(s);
    return;
  }
  out->push_back('"');
  for (char c : s) {
    if (c == '"') out->push_back('"');
    out->push_back(c);
  }
  out->push_back('"');
}

std::string LoghubParameterList(std::string_view content, std::string_view tmpl) {
  std::vector<std::string_view> scratch;
  std::string out;
  AppendParameterList(content, WildcardPositions(tmpl), &scratch, &out);
  return out;
}

std::string EventId(uint32_t id) {
  std::string out(1, 'E');
  out += std::to_string(id);
  return out;
}

Status StructuredCsvWriter::Open(const std::string& out_path, const std::string& spill_path,
                                 std::vector<std::string> header_fields,
                                 std::unique_ptr<StructuredCsvWriter>* out) {
  std::unique_ptr<StructuredCsvWriter> w(new StructuredCsvWriter());
  w->out_path_ = out_path;
  w->spill_path_ = spill_path;
  w->header_fields_ = std::move(header_fields);
  w->spill_ = std::fopen(spill_path.c_str(), "w+b");
  if (w->spill_ == nullptr) return Status::IOError("cannot create " + spill_path);
  std::setvbuf(w->spill_, nullptr, _IOFBF, kIoBuffer);
  *out = std::move(w);
  return Status::OK();
}

StructuredCsvWriter::~StructuredCsvWriter() {
  CloseSpill();
  std::error_code ec;
  if (!spill_path_.empty()) std::filesystem::remove(spill_path_, ec);
}

void StructuredCsvWriter::CloseSpill() {
  if (spill_ != nullptr) std::fclose(spill_);
  spill_ = nullptr;
}

Status StructuredCsvWriter::Add(uint64_t line_id, const std::vector<std::string_view>& header,
                                std::string_view content, uint32_t template_id) {
  assert(!finished_ && spill_ != nullptr);
  assert(header.size() == header_fields_.size());
  assert(template_id >= 1);
  // Record: id, len(prefix), prefix (LineId and header as CSV), len(content), content.
  std::string prefix = std::to_string(line_id);
  for (std::string_view h : header) {
    prefix.push_back(',');
    AppendCsvField(h, &prefix);
  }
  buf_.clear();
  PutU32(template_id, &buf_);
  PutU32(static_cast<uint32_t>(prefix.size()), &buf_);
  buf_.append(prefix);
  assert(content.size() <= UINT32_MAX);
  PutU32(static_cast<uint32_t>(content.size()), &buf_);
  buf_.append(content);
  TRIAD_RETURN_IF_ERROR(WriteAll(spill_, buf_, spill_path_));
  ++rows_;
  return Status::OK();
}

Status StructuredCsvWriter::Finish(const TemplateTextFn& text) {
  assert(!finished_ && spill_ != nullptr);
  finished_ = true;
  if (std::fflush(spill_) != 0 || std::ferror(spill_))
    return Status::IOError("write failed: " + spill_path_);
  std::rewind(spill_);

  std::FILE* out = std::fopen(out_path_.c_str(), "wb");
  if (out == nullptr) return Status::IOError("cannot write " + out_path_);
  std::setvbuf(out, nullptr, _IOFBF, kIoBuffer);
  struct OutCloser {
    std::FILE* f;
    ~OutCloser() {
      if (f != nullptr) std::fclose(f);
    }
  } closer{out};

  std::string line = "LineId";
  for (const auto& h : header_fields_) {
    line.push_back(',');
    AppendCsvField(h, &line);
  }
  line += ",Content,EventId,EventTemplate,ParameterList\n";
  TRIAD_RETURN_IF_ERROR(WriteAll(out, line, out_path_));

  // Per template, computed once: ",E<id>,<template as CSV>," and its wildcard positions.
  struct Tmpl {
    bool ready = false;
    std::string middle;
    std::vector<uint32_t> wild;
  };
  std::vector<Tmpl> tmpls;
  std::vector<std::string_view> scratch;
  std::string prefix, content, params;
  for (uint64_t row = 0; row < rows_; ++row) {
    uint32_t id = 0, plen = 0, clen = 0;
    if (!ReadExact(spill_, &id, 4) || !ReadExact(spill_, &plen, 4))
      return Status::Corruption("short spill file " + spill_path_);
    prefix.resize(plen);
    if (!ReadExact(spill_, prefix.data(), plen) || !ReadExact(spill_, &clen, 4))
      return Status::Corruption("short spill file " + spill_path_);
    content.resize(clen);
    if (!ReadExact(spill_, content.data(), clen))
      return Status::Corruption("short spill file " + spill_path_);
    if (id == 0) return Status::Corruption("bad template id in " + spill_path_);
    if (id > tmpls.size()) tmpls.resize(id);
    Tmpl& t = tmpls[id - 1];
    if (!t.ready) {
      std::string_view tx = text(id);
      t.middle.assign(1, ',');
      t.middle += EventId(id);
      t.middle.push_back(',');
      AppendCsvField(tx, &t.middle);
      t.middle.push_back(',');
      t.wild = WildcardPositions(tx);
      t.ready = true;
    }
    line = prefix;
    line.push_back(',');
    AppendCsvField(content, &line);
    line += t.middle;
    params.clear();
    AppendParameterList(content, t.wild, &scratch, &params);
    AppendCsvField(params, &line);
    line.push_back('\n');
    TRIAD_RETURN_IF_ERROR(WriteAll(out, line, out_path_));
    // Do not keep the capacity of one huge line for the rest of the file.
    if (line.capacity() > kIoBuffer) std::string().swap(line);
    if (content.capacity() > kIoBuffer) std::string().swap(content);
  }
  closer.f = nullptr;
  bool bad = std::ferror(out) != 0;
  if (std::fclose(out) != 0 || bad) return Status::IOError("write failed: " + out_path_);
  CloseSpill();
  std::error_code ec;
  std::filesystem::remove(spill_path_, ec);
  return Status::OK();
}

Status WriteTemplatesCsv(const std::string& path, uint32_t num_templates,
                         const std::function<std::string_view(uint32_t)>& text,
                         const std::function<uint64_t(uint32_t)>& count) {
  std::FILE* f = std::fopen(path.c_str(), "wb");
  if (f == nullptr) return Status::IOError("cannot write " + path);
  std::string line = "EventId,EventTemplate,Occurrences\n";
  bool ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  for (uint32_t id = 1; ok && id <= num_templates; ++id) {
    uint64_t n = count(id);
    if (n == 0) continue;
    line = EventId(id);
    line.push_back(',');
    AppendCsvField(text(id), &line);
    line.push_back(',');
    line += std::to_string(n);
    line.push_back('\n');
    ok = std::fwrite(line.data(), 1, line.size(), f) == line.size();
  }
  ok = !std::ferror(f) && ok;
  if (std::fclose(f) != 0 || !ok) return Status::IOError("write failed: " + path);
  return Status::OK();
}

}  // namespace triad
