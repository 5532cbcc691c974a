#include "core/cli/json.h"

#include <cstdlib>

#include "absl/strings/ascii.h"
#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"

namespace hardgnn {
namespace {

class Parser {
 public:
  explicit Parser(absl::string_view text) : text_(text) {}

  absl::StatusOr<Json> Document() {
    absl::StatusOr<Json> value = Value(0);
    if (!value.ok()) return value;
    SkipSpace();
    if (pos_ != text_.size()) return Error("the end of the document");
    return value;
  }

 private:
  absl::Status Error(absl::string_view expected) const {
    return absl::InvalidArgumentError(absl::StrCat("JSON: expected ", expected, " at byte ", pos_));
  }
  void SkipSpace() {
    while (pos_ < text_.size() && absl::ascii_isspace(text_[pos_])) ++pos_;
  }
  bool Take(char c) {
    SkipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) return ++pos_, true;
    return false;
  }

  absl::StatusOr<Json> Value(int depth) {
    if (depth > 64) return Error("less nesting");
    SkipSpace();
    Json v;
    if (pos_ >= text_.size()) return Error("a value");
    const char c = text_[pos_];
    if (c == '{') return Object(depth);
    if (c == '[') return Array(depth);
    if (c == '"') {
      v.kind = Json::Kind::kString;
      if (absl::Status s = String(v.string); !s.ok()) return s;
      return v;
    }
    for (const auto& [word, kind, truth] : {std::tuple{"true", Json::Kind::kBool, true},
                                            std::tuple{"false", Json::Kind::kBool, false},
                                            std::tuple{"null", Json::Kind::kNull, false}}) {
      if (absl::StartsWith(text_.substr(pos_), word)) {
        pos_ += absl::string_view(word).size();
        v.kind = kind;
        v.boolean = truth;
        return v;
      }
    }
    size_t end = pos_;
    while (end < text_.size() && absl::string_view("+-0123456789.eE").find(text_[end]) != absl::string_view::npos) ++end;
    if (end == pos_ || !absl::SimpleAtod(text_.substr(pos_, end - pos_), &v.number)) return Error("a value");
    v.kind = Json::Kind::kNumber;
    pos_ = end;
    return v;
  }

  absl::StatusOr<Json> Object(int depth) {
    Json v;
    v.kind = Json::Kind::kObject;
    ++pos_;
    if (Take('}')) return v;
    do {
      SkipSpace();
      std::string key;
      if (pos_ >= text_.size() || text_[pos_] != '"') return Error("a key");
      if (absl::Status s = String(key); !s.ok()) return s;
      if (!Take(':')) return Error("':'");
      absl::StatusOr<Json> value = Value(depth + 1);
      if (!value.ok()) return value;
      v.object.emplace_back(std::move(key), std::move(*value));
    } while (Take(','));
    if (!Take('}')) return Error("',' or '}'");
    return v;
  }

  absl::StatusOr<Json> Array(int depth) {
    Json v;
    v.kind = Json::Kind::kArray;
    ++pos_;
    if (Take(']')) return v;
    do {
      absl::StatusOr<Json> value = Value(depth + 1);
      if (!value.ok()) return value;
      v.array.push_back(std::move(*value));
    } while (Take(','));
    if (!Take(']')) return Error("',' or ']'");
    return v;
  }

  // A string literal at pos_ (its opening quote), escapes decoded (\u as UTF-8, BMP only).
  absl::Status String(std::string& out) {
    ++pos_;
    while (pos_ < text_.size() && text_[pos_] != '"') {
      char c = text_[pos_++];
      if (c != '\\') {
        out.push_back(c);
        continue;
      }
      if (pos_ >= text_.size()) break;
      c = text_[pos_++];
      const absl::string_view plain = "\"\\/bfnrt", decoded = "\"\\/\b\f\n\r\t";
      if (plain.find(c) != absl::string_view::npos) {
        out.push_back(decoded[plain.find(c)]);
        continue;
      }
      if (c != 'u' || pos_ + 4 > text_.size()) return Error("an escape");
      const unsigned code = std::strtoul(std::string(text_.substr(pos_, 4)).c_str(), nullptr, 16);
      pos_ += 4;
      if (code < 0x80) {
        out.push_back(static_cast<char>(code));
      } else if (code < 0x800) {
        out.push_back(static_cast<char>(0xc0 | (code >> 6)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
      } else {
        out.push_back(static_cast<char>(0xe0 | (code >> 12)));
        out.push_back(static_cast<char>(0x80 | ((code >> 6) & 0x3f)));
        out.push_back(static_cast<char>(0x80 | (code & 0x3f)));
      }
    }
    if (pos_ >= text_.size()) return Error("'\"'");
    ++pos_;
    return absl::OkStatus();
  }

  absl::string_view text_;
  size_t pos_ = 0;
};

}  // namespace

const Json* Json::At(std::initializer_list<absl::string_view> path) const {
  const Json* v = this;
  for (absl::string_view key : path) {
    const Json* next = nullptr;
    for (const auto& [k, child] : v->object) {
      if (k == key) next = &child;
    }
    if (next == nullptr) return nullptr;
    v = next;
  }
  return v;
}

absl::StatusOr<Json> ParseJson(absl::string_view text) { return Parser(text).Document(); }

}  // namespace hardgnn
