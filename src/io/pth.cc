#include "io/pth.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <span>
#include <unordered_set>

#include "base/text.h"
#include "io/pickle.h"
#include "io/zip_reader.h"

namespace taec {
namespace {

// Dimensions of extent > 1 sorted by stride: each must step past everything the smaller ones
// span (stride >= the extent below it), which is exactly "no two indices share an element".
Status check_non_overlapping(const std::string& what, const PickledTensor& t) {
  std::vector<std::pair<int64_t, int64_t>> dims;  // (stride, size)
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (t.shape[d] > 1) dims.push_back({t.stride[d], t.shape[d]});
  }
  std::sort(dims.begin(), dims.end());
  int64_t span = 1;  // elements covered by the dimensions so far
  for (const auto& [stride, size] : dims) {
    if (stride < span) {
      return Status(Code::format, what + ": strides do not describe a dense, non-overlapping view (stride " + std::to_string(stride) +
                                      " for a dimension of " + std::to_string(size) + " over " + std::to_string(span) +
                                      " elements); taec reads tensors whose elements are distinct");
    }
    span = stride * (size - 1) + span;
  }
  return ok_status();
}

// Copies a (possibly strided) view of a storage into a dense C-order tensor.
Status gather_tensor(const std::string& path, const PickledTensor& t, const PickledStorage& s,
                     const std::vector<uint8_t>& storage_bytes, RawTensor* out) {
  const std::string what = path + ": tensor \"" + printable(t.name) + "\"";
  const size_t esize = dtype_size(s.dtype);
  if (storage_bytes.size() % esize != 0) {
    return Status(Code::format, what + ": storage record data/" + s.key + " has " +
                                    std::to_string(storage_bytes.size()) +
                                    " bytes, not a whole number of " + dtype_name(s.dtype));
  }
  const int64_t storage_elems = static_cast<int64_t>(storage_bytes.size() / esize);
  if (storage_elems < s.numel) {
    return Status(Code::format, what + ": storage record data/" + s.key + " holds " + std::to_string(storage_elems) +
                                    " elements but the pickle declares " + std::to_string(s.numel) + " (truncated?)");
  }
  TAEC_ASSIGN_OR_RETURN(int64_t numel, checked_numel(t.shape, what));
  // Bounded like strides so `last` below cannot overflow past a huge pickled offset.
  if (t.offset < 0 || t.offset > CheckpointLimits::kMaxElems) {
    return Status(Code::format, what + ": invalid storage offset " + std::to_string(t.offset));
  }
  int64_t last = t.offset;  // highest element index touched
  for (size_t d = 0; d < t.shape.size(); ++d) {
    if (t.stride[d] < 0 || t.stride[d] > CheckpointLimits::kMaxElems) {
      return Status(Code::format, what + ": invalid stride " + std::to_string(t.stride[d]));
    }
    if (t.shape[d] > 0) last += (t.shape[d] - 1) * t.stride[d];
  }

  if (numel > 0 && last >= storage_elems) {
    return Status(Code::format, what + ": view reaches element " + std::to_string(last) +
                                    " of a storage with " + std::to_string(storage_elems) +
                                    " (record data/" + s.key + " truncated?)");
  }
  // The view must not overlap itself: every element its own storage element. Otherwise a
  // stride-0 view of one element passes the bounds check and densifies into gigabytes.
  TAEC_RETURN_IF_ERROR(check_non_overlapping(what, t));
  out->name = t.name;
  out->dtype = s.dtype;
  out->shape = t.shape;
  out->bytes.resize(static_cast<size_t>(numel) * esize);
  std::vector<int64_t> index(t.shape.size(), 0);
  for (int64_t i = 0; i < numel; ++i) {
    int64_t src = t.offset;
    for (size_t d = 0; d < index.size(); ++d) src += index[d] * t.stride[d];
    std::memcpy(out->bytes.data() + i * esize, storage_bytes.data() + src * esize, esize);
    for (size_t d = index.size(); d-- > 0;) {
      if (++index[d] < t.shape[d]) break;
      index[d] = 0;
    }
  }
  return ok_status();
}

}  // namespace

Result<Checkpoint> read_pth(const std::string& path, const std::vector<uint8_t>& bytes) {
  // Checkpoints are a few MB; the caps leave room for far larger ones without allowing a bomb.
  ZipLimits limits;
  limits.max_record_bytes = CheckpointLimits::kMaxFileBytes;
  TAEC_ASSIGN_OR_RETURN(ZipReader archive, ZipReader::open(path, bytes, limits));
  const zip_int64_t count = archive.entries();
  if (count <= 0) return Status(Code::format, path + ": empty zip archive");
  if (count > static_cast<zip_int64_t>(CheckpointLimits::kMaxTensors)) {
    return Status(Code::format, path + ": zip archive has " + std::to_string(count) + " records, too many");
  }
  std::string top;
  std::map<std::string, zip_int64_t> records;  // name below the top folder -> index
  for (zip_int64_t i = 0; i < count; ++i) {
    std::string name = archive.name(i);
    size_t slash = name.find('/');
    if (slash == std::string::npos) {
      return Status(Code::format, path + ": zip record \"" + printable(name) + "\" is outside a top folder; not a PyTorch checkpoint");
    }
    std::string folder = name.substr(0, slash);
    if (i == 0) top = folder;
    if (folder != top) {
      return Status(Code::format, path + ": zip records under two top folders (\"" + top + "\", \"" + folder + "\")");
    }
    if (!records.emplace(name.substr(slash + 1), i).second) {
      return Status(Code::format, path + ": duplicate zip record \"" + printable(name) + "\"");
    }
  }
  auto it = records.find("data.pkl");
  if (it == records.end()) {
    return Status(Code::format, path + ": zip archive has no " + top + "/data.pkl; not a PyTorch checkpoint");
  }
  if (auto bo = records.find("byteorder"); bo != records.end()) {
    TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> order, archive.read(bo->second));
    std::string text(order.begin(), order.end());
    if (text != "little") {
      return Status(Code::unsupported, path + ": byteorder \"" + text + "\" (taec reads little-endian checkpoints)");
    }
  }
  TAEC_ASSIGN_OR_RETURN(std::vector<uint8_t> pickle, archive.read(it->second));
  TAEC_ASSIGN_OR_RETURN(PickledStateDict dict,
                        unpickle_state_dict(pickle.data(), pickle.size(), path + ": " + top + "/data.pkl"));

  Checkpoint ckpt;
  ckpt.path = path;
  ckpt.format = "pth";
  std::vector<std::vector<uint8_t>> storages(dict.storages.size());
  std::vector<bool> loaded(dict.storages.size(), false);
  std::unordered_set<std::string> names;
  uint64_t dense_bytes = 0;  // views of one storage each densify: bound their sum too
  for (const PickledTensor& t : dict.tensors) {
    if (!names.insert(t.name).second) {
      return Status(Code::format, path + ": tensor \"" + printable(t.name) + "\" appears twice");
    }
    const PickledStorage& s = dict.storages[t.storage];
    if (!loaded[t.storage]) {
      auto rec = records.find("data/" + s.key);
      if (rec == records.end()) {
        return Status(Code::format, path + ": tensor \"" + printable(t.name) + "\" refers to missing record " + printable(top + "/data/" + s.key));
      }
      TAEC_ASSIGN_OR_RETURN(storages[t.storage], archive.read(rec->second));
      loaded[t.storage] = true;
    }
    RawTensor raw;
    TAEC_RETURN_IF_ERROR(gather_tensor(path, t, s, storages[t.storage], &raw));
    dense_bytes += raw.bytes.size();
    if (dense_bytes > CheckpointLimits::kMaxFileBytes) {
      return Status(Code::format, path + ": its tensors add up to more than " + std::to_string(CheckpointLimits::kMaxFileBytes >> 20) +
                                      " MiB (views sharing storage?)");
    }
    ckpt.tensors.push_back(std::move(raw));
  }
  return ckpt;
}

}  // namespace taec
