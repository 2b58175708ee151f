"""Exports the PyTorch decoder definition to ONNX for the ONNX Runtime comparison."""
import argparse

import torch

from taesd_torch import load_decoder

p = argparse.ArgumentParser()
p.add_argument("--weights", required=True)
p.add_argument("--size", type=int, required=True, help="image size; the latent is size/8")
p.add_argument("--out", required=True)
a = p.parse_args()
model = load_decoder(a.weights)
c = model[1].in_channels
torch.onnx.export(model, torch.zeros(1, c, a.size // 8, a.size // 8), a.out, opset_version=17,
                  input_names=["latent"], output_names=["image"])
