// libFuzzer target: the pickle reader, its typed accessors and the csr_pickle log reader on
// arbitrary bytes.
#include <cstddef>
#include <cstdint>
#include <string>

#include "core/data/csr_pickle_reader.h"
#include "core/data/pickle.h"

namespace hd = hardgnn::data;
namespace pk = hardgnn::data::pickle;

namespace {

void Probe(const pk::Document& doc, const pk::Value& v) {
  (void)pk::AsInt(doc, v, "v");
  (void)pk::ArrayToInt64(doc, v, "v");
  (void)pk::ArrayToDouble(doc, v, "v");
  (void)pk::AsCsrMatrix(doc, v, "v");
  if (v.kind == pk::Kind::kDict) (void)pk::DictGet(*v.obj, "indptr");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string bytes(reinterpret_cast<const char*>(data), size);
  (void)hd::ParseCsrPickle(bytes, "fuzz.pkl");
  auto doc = pk::ParsePickle(bytes, "fuzz.pkl");
  if (!doc.ok()) return 0;
  const pk::Document& d = **doc;
  Probe(d, d.root);
  auto items = pk::AsSequence(d, d.root, "root");
  if (items.ok()) {
    size_t n = 0;
    for (const pk::Value& v : **items) {
      if (++n > 64) break;
      Probe(d, v);
      auto inner = pk::AsSequence(d, v, "inner");
      if (inner.ok() && !(*inner)->empty()) Probe(d, (**inner)[0]);
    }
  }
  if (d.root.kind == pk::Kind::kDict) {
    for (const auto& [k, v] : d.root.obj->dict) {
      Probe(d, k);
      Probe(d, v);
    }
  }
  return 0;
}
