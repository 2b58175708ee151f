#!/usr/bin/python3
"""Checks taehv_torch.py against every golden case of the TAEHV family, in every execution mode.

For each case in /work/shared/golden/taehv/MANIFEST.json (taew2_1 from both its .safetensors and
its .pth) it runs the parallel and the sequential mode, and for decoders also the streaming
decoder (latents pushed one by one, frames taken as they become final), and prints max |err|.
All must be <= 1e-4; exits 1 otherwise. Also checks the frame-count formula on every case, and
runs the taew2_1 decoder cases as taecvx (its own frame rule; no taecvx golden exists, so these
only check consistency with taew2_1, whose weights have the same shapes).

--alternatives also evaluates rejected readings of the architecture and frame rules on the
cases that decide them and prints how far each is from the golden output (each must be far off
for the case to decide it); TAEHV_SEMANTICS.md quotes these numbers.

  /usr/bin/python3 bench/peers/check_taehv_torch.py [--alternatives]

Needs Debian's python3-torch and python3-numpy; run with /usr/bin/python3.
"""
import argparse
import contextlib
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import taehv_torch as tt  # noqa: E402

SHARED = os.environ.get("TAEC_SHARED_DIR", os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..",
                                                        "shared"))
TOLERANCE = 1e-4


def golden(case):
    d = os.path.join(SHARED, "golden", "taehv", case["model"])
    return (torch.from_numpy(np.load(os.path.join(d, case["case"] + ".input.npy"))),
            np.load(os.path.join(d, case["case"] + ".output.npy")))


def weights_path(model, ext=".safetensors"):
    return os.path.join(SHARED, "models", "taehv", f"{model}_synthetic{ext}")


def max_err(out, expected):
    out = out.numpy() if isinstance(out, torch.Tensor) else out
    if out.shape != expected.shape:
        return float("inf"), f"shape {tuple(out.shape)} != {tuple(expected.shape)}"
    return float(np.abs(out - expected).max()), ""


def stream_decode(model, latent):
    dec = tt.StreamingDecoder(model)
    frames = [f for t in range(latent.shape[1]) for f in dec.push(latent[:, t])] + dec.finish()
    return torch.stack(frames, 1)


def run_case(model, case, x):
    if case["kind"] == "encoder":
        return {m: model.encode(x, m) for m in ("parallel", "sequential")}
    return {"parallel": model.decode(x, "parallel"), "sequential": model.decode(x, "sequential"),
            "stream": stream_decode(model, x)}


def frame_rule_consistency(loaded):
    """No golden covers these: parallel, sequential and streaming decoding must agree on frame
    counts and values for T = 1..11 latents under every frame rule (H3 T % 5 == 1 included)."""
    failures = 0
    print(f"\n{'frame rule (no golden), T = 1..11':<40} {'frames out':<36} {'par-seq':>9} {'par-stream':>10}")
    for model_name, variant in (("taew2_1", None), ("taew2_1", "taecvx"), ("taeltx_2", None), ("taeh3", None)):
        model = loaded.setdefault((model_name, ".safetensors", variant), tt.load(weights_path(model_name), variant))
        counts, err_seq, err_stream = [], 0.0, 0.0
        for t in range(1, 12):
            z = torch.from_numpy(np.random.default_rng(t).standard_normal(
                (1, t, model.cfg.latent_channels, 2, 2)).astype(np.float32))
            par, seq, stream = model.decode(z, "parallel"), model.decode(z, "sequential"), stream_decode(model, z)
            if model.cfg.frame_rule == "cvx":
                par_all = model.decode_raw(z, "parallel")   # what a cvx stream returns for any T
                ok = stream.shape == par_all.shape
                err_stream = max(err_stream, float((stream - par_all).abs().max()) if ok else float("inf"))
            else:
                ok = stream.shape == par.shape
                err_stream = max(err_stream, float((stream - par).abs().max()) if ok else float("inf"))
            ok = ok and seq.shape == par.shape and par.shape[1] == tt.output_frame_count(model.cfg, t)
            err_seq = max(err_seq, float((seq - par).abs().max()) if seq.shape == par.shape else float("inf"))
            counts.append(par.shape[1])
            failures += not ok
        failures += err_seq > TOLERANCE or err_stream > TOLERANCE
        print(f"{model.cfg.variant + ' (' + model.cfg.frame_rule + ')':<40} {' '.join(map(str, counts)):<36} "
              f"{err_seq:9.2e} {err_stream:10.2e}")
    return failures


# ---------------------------------------------------------------------------------------------
# Rejected readings, each a patch of one module or rule, applied while a case runs.

@contextlib.contextmanager
def patched(cls, name, fn):
    old = getattr(cls, name)
    setattr(cls, name, fn)
    try:
        yield
    finally:
        setattr(cls, name, old)


def h3_decode_reset_per_group(model, latent):
    groups = [model.decode_raw(latent[:, i:i + 5]) for i in range(0, latent.shape[1], 5)]
    return tt.select_frames(model.cfg, torch.cat(groups, 1))


def h3_decode_frames(model, latent, pick):
    return model.decode_raw(latent)[:, pick]


def h3_encode_alt(model, x, lead="zeros", fresh=True, drop="last", end_pad="last"):
    n, chunk = x.shape[0], tt.H3_ENCODER_CHUNK
    extra = -x.shape[1] % chunk
    x = tt.pad_end(x, chunk) if end_pad == "last" else torch.cat([x, x.new_zeros(n, extra, *x.shape[2:])], 1)
    k = x.shape[1] // chunk
    chunks = x.view(n * k, chunk, *x.shape[2:])
    pre = torch.zeros_like(chunks[:, :3]) if lead == "zeros" else chunks[:, :1].expand(-1, 3, *chunks.shape[2:])
    seq = torch.cat([pre, chunks], 1)
    if fresh:
        z = tt.run_parallel(model.encoder, model._prepare(seq))
        z = z.reshape(n, -1, *z.shape[2:])
    else:
        z = tt.run_parallel(model.encoder, model._prepare(seq.reshape(n, -1, *seq.shape[2:])))
    return z[:, :-3] if drop == "last" else z[:, 3:]


def encode_zero_end_padding(model, x):
    extra = -x.shape[1] % model.cfg.time_down
    x = torch.cat([x, torch.zeros_like(x[:, :1]).expand(-1, extra, *x.shape[2:])], 1)
    return tt.run_parallel(model.encoder, model._prepare(x))


def alternatives():
    """(name, model, case, how): `how(model, x)` computes the rejected reading's output."""
    def with_patch(cls, name, fn, action="decode"):
        def how(model, x):
            with patched(cls, name, fn):
                return getattr(model, action)(x)
        return how

    # the parallel mode calls mix(cat[x, past], x); the patches rewrite that concatenation
    mem_mix, smb_mix = tt.MemBlock.mix, tt.SuperMemBlock.mix

    def zero_past(both, x):
        return torch.cat([x, torch.zeros_like(x)], 1)

    def swap_halves(both, x):
        return torch.cat(both.chunk(2, 1)[::-1], 1)

    raw_t10 = list(range(40))
    return [
        ("MemBlock ignores past (zeros)", "taew2_1", "dec_t5_5x7",
         with_patch(tt.MemBlock, "mix", lambda self, both, x: mem_mix(self, zero_past(both, x), x))),
        ("MemBlock conv1 sees cat[past, x]", "taew2_1", "dec_t5_5x7",
         with_patch(tt.MemBlock, "mix", lambda self, both, x: mem_mix(self, swap_halves(both, x), x))),
        ("TGrow sub-frames latest first", "taew2_1", "dec_t3_6x8",
         with_patch(tt.TGrow, "forward", lambda self, x: list(self.conv(x).chunk(self.stride, 1))[::-1])),
        ("TPool concat latest first", "taew2_1", "enc_t9",
         with_patch(tt.TPool, "forward", lambda self, x: self.conv(torch.cat(x.chunk(self.stride, 1)[::-1], 1)),
                    "encode")),
        ("encoder end padding with zero frames", "taew2_1", "enc_t10_pad", encode_zero_end_padding),
        ("trim the last t-1 raw frames instead of the first", "taew2_1", "dec_t3_6x8",
         lambda model, x: model.decode_raw(x)[:, :-3]),
        ("SuperMemBlock with ReLU after the sum", "taew2_2_super", "dec_t3_6x8",
         with_patch(tt.SuperMemBlock, "mix", lambda self, both, x: F.relu(smb_mix(self, both, x)))),
        ("SuperMemBlock ignores past (zeros)", "taew2_2_super", "dec_t3_6x8",
         with_patch(tt.SuperMemBlock, "mix", lambda self, both, x: smb_mix(self, zero_past(both, x), x))),
        ("super decoder with the input Clamp", "taew2_2_super", "dec_t3_6x8",
         lambda model, x: model.decode(tt.Clamp()(x))),
        ("LTX: trim 3 (not 7) raw frames", "taeltx_2", "dec_t3_6x8", lambda model, x: model.decode_raw(x)[:, 3:20]),
        ("H3 decoder: memory reset every 5 latents", "taeh3", "dec_t10_3x4", h3_decode_reset_per_group),
        ("H3 decoder: drop first 3 of each 20, then the FIRST 12", "taeh3", "dec_t10_3x4",
         lambda model, x: h3_decode_frames(model, x, (raw_t10[3:20] + raw_t10[23:40])[12:])),
        ("H3 decoder: plain trim rule (raw[3:])[:22]", "taeh3", "dec_t10_3x4",
         lambda model, x: model.decode_raw(x)[:, 3:25]),
        ("H3 encoder: memory kept across chunks", "taeh3", "enc_t20",
         lambda model, x: h3_encode_alt(model, x, fresh=False)),
        ("H3 encoder: drop the FIRST 3 latents", "taeh3", "enc_t20",
         lambda model, x: h3_encode_alt(model, x, drop="first")),
        ("H3 encoder: lead frames = copies of the chunk's first frame", "taeh3", "enc_t20",
         lambda model, x: h3_encode_alt(model, x, lead="first")),
        ("H3 encoder: end padding with zero frames", "taeh3", "enc_t20",
         lambda model, x: h3_encode_alt(model, x, end_pad="zeros")),
        ("H3 encoder: no chunking (plain encoder, pad to 4)", "taeh3", "enc_t20",
         lambda model, x: tt.run_parallel(model.encoder, model._prepare(tt.pad_end(x, 4)))),
    ]


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--alternatives", action="store_true", help="also show how far rejected readings are")
    p.add_argument("--threads", type=int, default=2)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    with open(os.path.join(SHARED, "golden", "taehv", "MANIFEST.json")) as f:
        cases = json.load(f)["cases"]

    failures = 0
    print(f"{'weights':<34} {'case':<18} {'mode':<11} {'max |err|':>10}")
    with torch.inference_mode():
        loaded = {}
        for case in cases:
            x, expected = golden(case)
            files = [(case["model"], ".safetensors")] + ([(case["model"], ".pth")] if case["model"] == "taew2_1" else [])
            variants = [None] + (["taecvx"] if case["model"] == "taew2_1" and case["kind"] == "decoder" else [])
            for model_name, ext in files:
                for variant in variants:
                    key = (model_name, ext, variant)
                    if key not in loaded:
                        loaded[key] = tt.load(weights_path(model_name, ext), variant)
                    model = loaded[key]
                    label = f"{model_name}{ext}" + (f" as {variant}" if variant else "")
                    for mode, out in run_case(model, case, x).items():
                        extra = ""
                        if variant == "taecvx" and (x.shape[1] % 2 == 0 or mode == "stream"):
                            # cvx keeps all 4T frames (even T; the stream always): the golden is
                            # taew2_1's, i.e. those frames from the 4th on
                            extra = " [3:]"
                            if out.shape[1] != 4 * x.shape[1]:
                                print(f"  taecvx: {out.shape[1]} frames, want {4 * x.shape[1]}: FAIL")
                                failures += 1
                            out = out[:, 3:]
                        err, why = max_err(out, expected)
                        ok = err <= TOLERANCE
                        failures += not ok
                        print(f"{label + extra:<34} {case['case']:<18} {mode:<11} {err:10.2e} "
                              f"{'ok' if ok else 'FAIL ' + why}")
                    if case["kind"] == "decoder" and variant is None:
                        n = tt.output_frame_count(model.cfg, x.shape[1])
                        if n != expected.shape[1]:
                            print(f"  output_frame_count({x.shape[1]}) = {n}, golden has {expected.shape[1]}: FAIL")
                            failures += 1

        failures += frame_rule_consistency(loaded)

        if args.alternatives:
            print(f"\n{'rejected reading':<58} {'case':<22} {'max |err|':>10} {'mean':>9}")
            by_name = {c["model"] + "/" + c["case"]: c for c in cases}
            for name, model_name, case_name, how in alternatives():
                case = by_name[f"{model_name}/{case_name}"]
                x, expected = golden(case)
                model = loaded[(model_name, ".safetensors", None)]
                out = how(model, x)
                err, why = max_err(out, expected)
                mean = float(np.abs(out.numpy() - expected).mean()) if not why else float("nan")
                print(f"{name:<58} {model_name + '/' + case_name:<22} {err:10.2e} {mean:9.2e} {why}")

    print(f"\n{'all cases within ' + str(TOLERANCE) if not failures else str(failures) + ' FAILED'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
