// Writers for loghub's parsed-log files, in memory bounded by the number of
// templates rather than of lines:
//   structured.csv: LineId,<header fields...>,Content,EventId,EventTemplate,ParameterList
//   templates.csv:  EventId,EventTemplate,Occurrences
//
// Templates generalise while a log is parsed, and loghub's convention is that
// every row shows its template's FINAL text. StructuredCsvWriter therefore
// spills each row (LineId, header fields, Content, template id) to a
// temporary file while parsing and rewrites the spill into structured.csv at
// the end, when the final texts are known.
#ifndef TRIAD_PARSE_STRUCTURED_WRITER_H_
#define TRIAD_PARSE_STRUCTURED_WRITER_H_

#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "triad/status.h"

namespace triad {

// Appends `s` to *out as one CSV field: quoted (with "" for ") iff it
// contains a comma, a quote, CR or LF. Any other bytes (NUL, invalid UTF-8)
// are copied as they are.
void AppendCsvField(std::string_view s, std::string* out);

// loghub's ParameterList: a Python list literal ("['a', 'b']", with quote
// and backslash escaped by a backslash) of the whitespace-separated tokens of `content` at
// the positions where the whitespace-separated token of `tmpl` contains
// "<*>" (a wildcard or a partly masked token such as "/<*>"). Positions past
// the shorter of the two are ignored.
std::string LoghubParameterList(std::string_view content, std::string_view tmpl);

// The EventId of template `id`: "E<id>".
std::string EventId(uint32_t id);

class StructuredCsvWriter {
 public:
  // Returns the final text of template `id` (valid until the next call).
  using TemplateTextFn = std::function<std::string_view(uint32_t id)>;

  // Creates (truncates) `spill_path`, a temporary file best placed next to
  // `out_path`. `header_fields` are the column names between LineId and
  // Content. Returns IOError if the spill file cannot be created.
  static Status Open(const std::string& out_path, const std::string& spill_path,
                     std::vector<std::string> header_fields,
                     std::unique_ptr<StructuredCsvWriter>* out);
  // Removes the spill file if it is still there (also after an error).
  ~StructuredCsvWriter();
  StructuredCsvWriter(const StructuredCsvWriter&) = delete;
  StructuredCsvWriter& operator=(const StructuredCsvWriter&) = delete;

  // Spills one row. REQUIRES: header.size() == header_fields.size(),
  // template_id >= 1, Finish() not called yet. Returns IOError on a write error.
  Status Add(uint64_t line_id, const std::vector<std::string_view>& header,
             std::string_view content, uint32_t template_id);

  // Writes out_path (header line, then every spilled row in order, with
  // EventId, the text that `text(id)` gives now and the ParameterList of that
  // text) and removes the spill file. `text` is called at most once per
  // distinct id. Returns IOError/Corruption on a write or spill read error.
  Status Finish(const TemplateTextFn& text);

  uint64_t rows() const { return rows_; }

 private:
  StructuredCsvWriter() = default;
  void CloseSpill();

  std::string out_path_, spill_path_;
  std::vector<std::string> header_fields_;
  std::FILE* spill_ = nullptr;
  std::string buf_;
  uint64_t rows_ = 0;
  bool finished_ = false;
};

// Writes templates.csv: one row per id in 1..num_templates with a non-zero
// count(id), in id order. Returns IOError on a write error.
Status WriteTemplatesCsv(const std::string& path, uint32_t num_templates,
                         const std::function<std::string_view(uint32_t)>& text,
                         const std::function<uint64_t(uint32_t)>& count);

}  // namespace triad

#endif  // TRIAD_PARSE_STRUCTURED_WRITER_H_
