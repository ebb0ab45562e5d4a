#include "sim/log_corpus.h"

#include <cassert>
#include <charconv>
#include <cmath>

#include "sim/rng.h"

namespace triad {

std::vector<std::string_view> LogCorpus::Views() const {
  std::vector<std::string_view> v;
  v.reserve(size());
  for (size_t i = 0; i < size(); ++i) v.push_back(line(i));
  return v;
}

namespace {

void AppendU(std::string* s, uint64_t v) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  s->append(buf, r.ptr);
}

// Zero-padded to `width` digits.
void AppendPadded(std::string* s, uint64_t v, int width) {
  char buf[24];
  auto r = std::to_chars(buf, buf + sizeof buf, v);
  int len = static_cast<int>(r.ptr - buf);
  for (int i = len; i < width; ++i) s->push_back('0');
  s->append(buf, r.ptr);
}

// HDFS v1 event types (the E1..E14 numbering of the loghub templates) and
// their weights in the loghub 2k sample.
enum Event {
  kServed = 0,       // E1
  kStartTransfer,    // E2
  kGotException,     // E3
  kAskDelete,        // E4
  kAskReplicate,     // E5
  kAddStored,        // E6
  kAllocate,         // E7
  kNsDelete,         // E8
  kDeleting,         // E9
  kResponder,        // E10
  kReceived,         // E11
  kReceivedSrc,      // E12
  kReceiving,        // E13
  kVerified,         // E14
};

const std::vector<double>& EventWeights() {
  static const std::vector<double> w = {80, 1, 80, 5, 1, 314, 115, 224, 263, 311, 292, 2, 292, 20};
  return w;
}

const char* Component(int e) {
  switch (e) {
    case kServed:
    case kStartTransfer:
    case kGotException:
      return "dfs.DataNode";
    case kAskDelete:
    case kAskReplicate:
    case kAddStored:
    case kAllocate:
    case kNsDelete:
      return "dfs.FSNamesystem";
    case kDeleting:
      return "dfs.FSDataset";
    case kResponder:
    case kReceived:
      return "dfs.DataNode$PacketResponder";
    case kReceivedSrc:
    case kReceiving:
      return "dfs.DataNode$DataXceiver";
    default:
      return "dfs.DataBlockScanner";
  }
}

class HdfsGen {
 public:
  explicit HdfsGen(uint64_t seed) : rng_(seed, /*stream=*/0x4d46) {
    // ~200 datanodes in two /16 nets, as in the HDFS v1 cluster.
    for (int i = 0; i < 203; ++i) {
      std::string ip = rng_.Bernoulli(0.3) ? "10.250." : "10.251.";
      AppendU(&ip, rng_.Below(256));
      ip.push_back('.');
      AppendU(&ip, rng_.Below(256));
      nodes_.push_back(std::move(ip));
    }
    blocks_.reserve(kLiveBlocks);
    for (int i = 0; i < 64; ++i) NewBlock();
  }

  void Message(std::string* s, bool header) {
    int e = static_cast<int>(rng_.Weighted(EventWeights()));
    if (header) Header(e, s);
    switch (e) {
      case kServed:
        Node(s, true);
        s->append(" Served block ");
        Block(s);
        s->append(" to /");
        Node(s, false);
        break;
      case kStartTransfer:
        Node(s, true);
        s->append(" Starting thread to transfer block ");
        Block(s);
        s->append(" to ");
        Node(s, true);
        break;
      case kGotException:
        Node(s, true);
        s->append(":Got exception while serving ");
        Block(s);
        s->append(" to /");
        Node(s, false);
        s->push_back(':');
        break;
      case kAskDelete:
        s->append("BLOCK* ask ");
        Node(s, true);
        s->append(" to delete  ");  // two spaces, as in the real log
        Block(s);
        break;
      case kAskReplicate:
        s->append("BLOCK* ask ");
        Node(s, true);
        s->append(" to replicate ");
        Block(s);
        s->append(" to datanode(s) ");
        Node(s, true);
        break;
      case kAddStored:
        s->append("BLOCK* NameSystem.addStoredBlock: blockMap updated: ");
        Node(s, true);
        s->append(" is added to ");
        Block(s);
        s->append(" size ");
        Size(s);
        break;
      case kAllocate: {
        NewBlock();
        uint64_t task = rng_.Below(2000);
        s->append("BLOCK* NameSystem.allocateBlock: /user/root/");
        static const char* kJobs[] = {"rand", "randtxt", "sortrand", "randtxt5", "sortrand2"};
        s->append(kJobs[rng_.Below(5)]);
        s->append("/_temporary/_task_2008110");
        AppendU(s, 90000000 + rng_.Below(2400) * 1000 + rng_.Below(60) * 10);
        s->append("_00");
        AppendPadded(s, 1 + rng_.Below(20), 2);
        s->append(rng_.Bernoulli(0.8) ? "_m_" : "_r_");
        AppendPadded(s, task, 6);
        s->append("_0/part-");
        AppendPadded(s, task, 5);
        s->append(". ");
        Block(s, /*newest=*/true);
        break;
      }
      case kNsDelete:
        s->append("BLOCK* NameSystem.delete: ");
        Block(s);
        s->append(" is added to invalidSet of ");
        Node(s, true);
        break;
      case kDeleting: {
        std::string b;
        Block(&b);
        s->append("Deleting block ");
        s->append(b);
        s->append(" file /mnt/hadoop/dfs/data/current/subdir");
        AppendU(s, rng_.Below(64));
        s->push_back('/');
        s->append(b);
        break;
      }
      case kResponder:
        s->append("PacketResponder ");
        AppendU(s, rng_.Below(3));
        s->append(" for block ");
        Block(s);
        s->append(" terminating");
        break;
      case kReceived:
        s->append("Received block ");
        Block(s);
        s->append(" of size ");
        Size(s);
        s->append(" from /");
        Node(s, false);
        break;
      case kReceivedSrc:
      case kReceiving: {
        s->append(e == kReceiving ? "Receiving block " : "Received block ");
        Block(s);
        s->append(" src: /");
        size_t n = rng_.Below(nodes_.size());
        s->append(nodes_[n]);
        s->push_back(':');
        AppendU(s, 32768 + rng_.Below(28000));
        s->append(" dest: /");
        s->append(nodes_[rng_.Bernoulli(0.7) ? n : rng_.Below(nodes_.size())]);
        s->append(":50010");
        if (e == kReceivedSrc) {
          s->append(" of size ");
          Size(s);
        }
        break;
      }
      default:
        s->append("Verification succeeded for ");
        Block(s);
        break;
    }
  }

 private:
  static constexpr size_t kLiveBlocks = 4096;

  void Header(int e, std::string* s) {
    // "081109 203615 148 INFO dfs.DataNode$PacketResponder: "
    clock_ += rng_.Below(3);
    uint64_t day = 9 + (clock_ / 86400) % 20, t = clock_ % 86400;
    s->append("0811");
    AppendPadded(s, day, 2);
    s->push_back(' ');
    AppendPadded(s, t / 3600, 2);
    AppendPadded(s, t / 60 % 60, 2);
    AppendPadded(s, t % 60, 2);
    s->push_back(' ');
    AppendU(s, 13 + rng_.Below(3000));
    s->append(e == kGotException ? " WARN " : " INFO ");
    s->append(Component(e));
    s->append(": ");
  }

  void NewBlock() {
    // Signed 64-bit ids, printed as in the log ("blk_-6952295868487656571").
    int64_t id = static_cast<int64_t>(rng_.Next());
    if (blocks_.size() < kLiveBlocks) {
      blocks_.push_back(id);
      newest_ = blocks_.size() - 1;
    } else {
      newest_ = (newest_ + 1) % kLiveBlocks;
      blocks_[newest_] = id;
    }
  }

  void Block(std::string* s, bool newest = false) {
    int64_t id = blocks_[newest ? newest_ : rng_.Below(blocks_.size())];
    s->append("blk_");
    if (id < 0) {
      s->push_back('-');
      AppendU(s, static_cast<uint64_t>(-(id + 1)) + 1);
    } else {
      AppendU(s, static_cast<uint64_t>(id));
    }
  }

  void Node(std::string* s, bool port) {
    s->append(nodes_[rng_.Below(nodes_.size())]);
    if (port) s->append(":50010");
  }

  void Size(std::string* s) {
    if (rng_.Bernoulli(0.9)) {
      s->append("67108864");
    } else {
      AppendU(s, rng_.Below(67108864));
    }
  }

  Rng rng_;
  std::vector<std::string> nodes_;
  std::vector<int64_t> blocks_;
  size_t newest_ = 0;
  uint64_t clock_ = 20 * 3600 + 36 * 60;
};

}  // namespace

void GenerateHdfsLike(size_t n, const HdfsLikeOptions& opts, LogCorpus* out) {
  HdfsGen gen(opts.seed);
  out->Reserve(out->size() + n, out->bytes() + n * (opts.header ? 150 : 105));
  std::string msg;
  for (size_t i = 0; i < n; ++i) {
    msg.clear();
    gen.Message(&msg, opts.header);
    out->Append(msg);
  }
}

namespace {

struct Slot {
  enum Kind { kFixed, kNumber, kWordVar } kind;
  std::string word;                // kFixed
  std::vector<std::string> words;  // kWordVar alternatives
};

std::string Word(Rng& rng) { return rng.Chars(rng.Int(2, 9), "abcdefghijklmnopqrstuvwxyz"); }

}  // namespace

void GenerateManyTemplates(size_t n, int templates, uint64_t seed, LogCorpus* out) {
  assert(templates >= 1);
  Rng rng(seed, /*stream=*/0x7e3d);
  // A small shared vocabulary so that templates share prefixes (and collide
  // in the tree the way real ones do).
  std::vector<std::string> vocab;
  for (int i = 0; i < 300; ++i) vocab.push_back(Word(rng));
  std::vector<std::vector<Slot>> tmpl(templates);
  for (auto& t : tmpl) {
    int len = rng.Int(1, 14);
    for (int k = 0; k < len; ++k) {
      double u = rng.Uniform();
      Slot s;
      if (k > 0 && u < 0.15) {
        s.kind = Slot::kNumber;
      } else if (k > 0 && u < 0.3) {
        s.kind = Slot::kWordVar;
        int alts = rng.Int(2, 6);
        for (int a = 0; a < alts; ++a) s.words.push_back(Word(rng));
      } else {
        s.kind = Slot::kFixed;
        s.word = rng.Bernoulli(0.7) ? rng.Pick(vocab) : Word(rng);
      }
      t.push_back(std::move(s));
    }
  }
  // Template k is introduced at position first[k].
  std::vector<size_t> first(templates);
  for (int k = 0; k < templates; ++k) {
    double f = static_cast<double>(k) / templates;
    first[k] = static_cast<size_t>(static_cast<double>(n) * 0.2 * f * f);
  }
  int introduced = 0;
  std::string msg;
  for (size_t i = 0; i < n; ++i) {
    int k;
    if (introduced < templates && first[introduced] <= i) {
      k = introduced++;
    } else {
      k = static_cast<int>(rng.Below(static_cast<uint64_t>(std::max(introduced, 1))));
    }
    msg.clear();
    for (size_t j = 0; j < tmpl[k].size(); ++j) {
      if (j > 0) msg.push_back(' ');
      const Slot& s = tmpl[k][j];
      switch (s.kind) {
        case Slot::kFixed:
          msg.append(s.word);
          break;
        case Slot::kNumber:
          AppendU(&msg, rng.Below(100000));
          break;
        case Slot::kWordVar:
          msg.append(s.words[rng.Below(s.words.size())]);
          break;
      }
    }
    out->Append(msg);
  }
}

}  // namespace triad
