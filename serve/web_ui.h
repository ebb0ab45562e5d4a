// The web UI of `triad serve`: one HTML page, a script and a style sheet,
// compiled into the binary (no file is read at request time, nothing is
// fetched from outside: the page only calls the server's own /api/v1/).
//
// The page shows services x time swimlanes coloured by score / threshold, the
// score timeline of one service with its threshold band, the newest
// anomalies, and the evidence of one anomaly (contributions expected vs
// observed, log templates, notable spans and the error trace as a waterfall
// with the offending spans highlighted). With a bearer token the page asks
// for it and sends it as "Authorization: Bearer" on its API calls; the assets
// themselves carry no data and are served without a token.
#ifndef TRIAD_SERVE_WEB_UI_H_
#define TRIAD_SERVE_WEB_UI_H_

#include <string_view>
#include <vector>

namespace triad {

struct WebAsset {
  std::string_view path;          // request path, e.g. "/" or "/ui/app.js"
  std::string_view content_type;  // with charset
  std::string_view body;
};

// Every embedded asset (a fixed list; the first is "/").
const std::vector<WebAsset>& WebAssets();

// Returns the asset served at exactly `path`, or nullptr.
const WebAsset* FindWebAsset(std::string_view path);

// The Content-Security-Policy the assets are served with (same origin only).
std::string_view WebUiContentSecurityPolicy();

}  // namespace triad

#endif  // TRIAD_SERVE_WEB_UI_H_
