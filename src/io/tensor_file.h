// One tensor from a file, whatever holds it (by content): a .npy array, a PyTorch file saved with
// torch.save(tensor) (e.g. latents saved from a GPU, in bf16), or a .pth / .safetensors holding a
// single tensor. Read through the hardened readers; always yields fp32.
#pragma once

#include <string>

#include "base/status.h"
#include "io/npy.h"

namespace taec {

Result<NpyArray> read_tensor_file(const std::string& path);

}  // namespace taec
