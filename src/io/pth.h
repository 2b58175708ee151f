// PyTorch zip checkpoints (torch.save since 1.6): an archive whose records share one top folder,
// `<top>/data.pkl` (the pickled state_dict, see pickle.h), `<top>/data/<key>` (raw storages) and
// optionally `<top>/byteorder` ("little" or "big"; absent means little, as old writers omit it).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "io/checkpoint.h"

namespace taec {

Result<Checkpoint> read_pth(const std::string& path, const std::vector<uint8_t>& bytes);

}  // namespace taec
