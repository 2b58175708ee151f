#!/usr/bin/python3
"""Writes tests/corpus/bad/: small hostile or broken inputs for every file taec reads, and
EXPECT.tsv (file, command, a substring the error message must contain). Standard library only;
rerun to regenerate (output is deterministic). bad_corpus_test feeds each file to the CLI and
requires exit code 2 with that message."""
import json
import os
import struct
import zipfile
import zlib

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "bad")
rows = []


def put(name, data, command, expect):
    with open(os.path.join(OUT, name), "wb") as f:
        f.write(data)
    rows.append((name, command, expect))


def pickle_state_dict(global_module="collections", global_name="OrderedDict", extra=b""):
    """A protocol-2 pickle of an empty OrderedDict built through GLOBAL module.name, plus extra ops."""
    return (b"\x80\x02c" + global_module.encode() + b"\n" + global_name.encode() + b"\n)R" + extra + b".")


def pth(records):
    """A PyTorch-style zip (stored records under one top folder) as bytes."""
    path = os.path.join(OUT, ".tmp.zip")
    with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as z:
        for name, data, *method in records:
            z.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data,
                       compress_type=method[0] if method else zipfile.ZIP_STORED)
    with open(path, "rb") as f:
        data = f.read()
    os.remove(path)
    return data


def safetensors(header, data=b"", header_len=None):
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    return struct.pack("<Q", len(text) if header_len is None else header_len) + text + data


def pickled_tensor_dict(name, shape, stride, storage_numel):
    """A protocol-2 state_dict pickle of one float tensor over persistent storage "0"."""
    def uni(text):
        return b"X" + struct.pack("<I", len(text)) + text.encode()

    def ints(values):
        return b"(" + b"".join(b"J" + struct.pack("<i", v) for v in values) + b"t"

    tensor = (b"ctorch._utils\n_rebuild_tensor_v2\n(" +
              b"(" + uni("storage") + b"ctorch\nFloatStorage\n" + uni("0") + uni("cpu") + b"J" +
              struct.pack("<i", storage_numel) + b"tQ" +  # BINPERSID
              b"K\x00" + ints(shape) + ints(stride) + b"\x89ccollections\nOrderedDict\n)Rt" + b"R")
    return b"\x80\x02ccollections\nOrderedDict\n)R(" + uni(name) + tensor + b"u."


def npy(descr, shape, payload, fortran=False):
    header = "{'descr': '%s', 'fortran_order': %s, 'shape': %s, }" % (descr, fortran, shape)
    header += " " * (-(10 + len(header) + 1) % 64) + "\n"
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode() + payload


def png(width, height, body=None):
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    raw = body if body is not None else zlib.compress(b"\x00" + b"\x80" * 3 * max(width, 1))
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", raw) + chunk(b"IEND", b"")


# --- images taec does not read, or reads only within limits (taec encode taef2) ---------------
# Decided by content: each is refused naming what it is, whatever the file is called. The first
# two are the stb_image 2.27 holes that made taec stop using it (CVE-2021-42716, CVE-2021-42715).
def tiny_progressive_jpeg(ac_scans):
    """8x8 grey progressive JPEG: one DC scan, then ac_scans identical first-pass AC scans (Ss=1,
    Se=63, Ah=Al=0) each holding one end-of-band code. Repeating such a scan is a consistent
    progression, so only a scan limit stops the decoder; each scan costs a pass over the image."""
    def seg(marker, body):
        return b"\xff" + bytes([marker]) + struct.pack(">H", len(body) + 2) + body
    one_code = bytes([1] + [0] * 15) + b"\x00"  # one 1-bit code, for symbol 0 (DC 0 / AC end of band)
    out = b"\xff\xd8" + seg(0xDB, b"\x00" + b"\x01" * 64) + seg(0xC2, bytes([8, 0, 8, 0, 8, 1, 1, 0x11, 0]))
    out += seg(0xC4, b"\x00" + one_code) + seg(0xDA, bytes([1, 1, 0x00, 0, 0, 0x00])) + b"\x7f"
    out += seg(0xC4, b"\x10" + one_code)
    out += (seg(0xDA, bytes([1, 1, 0x00, 1, 63, 0x00])) + b"\x7f") * ac_scans
    return out + b"\xff\xd9"


def add_image_format_cases():
    pgm16 = b"P5\n64 64\n65535\n" + bytes(range(256)) * 32  # 16-bit PGM: stb over-read the heap
    put("img_pgm16.png.bad", pgm16, "encode", "is a PGM (netpbm P5) image (by its content)")
    hdr = b"#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 64 +X 64\n" + b"\x02\x02\x00\x40\x80"  # cut in a row: stb looped
    put("img_hdr_truncated.bad", hdr, "encode", "is a Radiance HDR image")
    bmp_pixels = b"\x00\x00\xff\x00\xff\x00\x00\x00" * 2  # 2x2 24-bit, rows padded to 4 bytes
    bmp = (b"BM" + struct.pack("<IHHI", 54 + len(bmp_pixels), 0, 0, 54) +
           struct.pack("<IiiHHIIiiII", 40, 2, 2, 1, 24, 0, len(bmp_pixels), 2835, 2835, 0, 0) + bmp_pixels)
    put("img_bmp.bad", bmp, "encode", "is a BMP image")
    gif = (b"GIF89a" + struct.pack("<HHBBB", 1, 1, 0x80, 0, 0) + b"\x00\x00\x00\xff\xff\xff" +
           b"\x2c" + struct.pack("<HHHHB", 0, 0, 1, 1, 0) + b"\x02\x02\x44\x01\x00\x3b")
    put("img_gif.bad", gif, "encode", "is a GIF image")
    psd = b"8BPS" + struct.pack(">H6xHIIHH", 1, 3, 8, 8, 8, 3) + b"\x00" * 16
    put("img_psd.bad", psd, "encode", "is a PSD (Photoshop) image")
    # TGA has no magic bytes: a truecolour header is just content taec does not know.
    tga = struct.pack("<BBBHHBHHHHBB", 0, 0, 2, 0, 0, 0, 0, 0, 8, 8, 24, 0) + b"\x80" * (8 * 8 * 3)
    put("img_tga.bad", tga, "encode", "is not a PNG or JPEG image (by its content)")
    vp8 = b"VP8 " + struct.pack("<I", 10) + b"\x00" * 10
    put("img_webp.bad", b"RIFF" + struct.pack("<I", 4 + len(vp8)) + b"WEBP" + vp8, "encode", "is a WebP image")
    put("img_jpeg_scan_bomb.bad", tiny_progressive_jpeg(5000), "encode", "more than 100 scans")
    app1 = b"\xff\xd8\xff\xe1\xff\xff" + b"Exif\x00\x00MM\x00\x2a\x00\x00\x00\x08"  # claims 65533 bytes
    put("img_jpeg_app1_past_end.bad", app1, "encode", "truncated JPEG")


def main():
    os.makedirs(OUT, exist_ok=True)
    for f in os.listdir(OUT):
        os.remove(os.path.join(OUT, f))
    # --- checkpoints (taec info) -------------------------------------------------------------
    put("ckpt_empty.bad", b"", "info", "not a checkpoint")
    put("ckpt_text.bad", b"this is not a model\n" * 4, "info", "not a checkpoint")
    put("ckpt_gif_magic.bad", b"GIF89a" + b"\0" * 64, "info", "not a checkpoint")
    put("ckpt_legacy_pickle.bad", b"\x80\x02\x8a\x0a" + b"\0" * 32, "info", "legacy")
    put("pth_os_system.bad", pth([("m/data.pkl", pickle_state_dict("os", "system"))]), "info", "os.system")
    put("pth_builtins_eval.bad", pth([("m/data.pkl", pickle_state_dict("builtins", "eval"))]), "info", "builtins.eval")
    put("pth_subprocess_stack_global.bad",
        pth([("m/data.pkl", b"\x80\x04\x8c\x0asubprocess\x8c\x05Popen\x93)R.")]), "info", "subprocess.Popen")
    put("pth_inst_opcode.bad", pth([("m/data.pkl", b"\x80\x02(iposix\nsystem\n.")]), "info", "opcode 0x69")
    put("pth_no_data_pkl.bad", pth([("m/version", b"3\n")]), "info", "no m/data.pkl")
    put("pth_big_endian.bad", pth([("m/data.pkl", pickle_state_dict()), ("m/byteorder", b"big")]), "info", "byteorder")
    put("pth_truncated_pickle.bad", pth([("m/data.pkl", pickle_state_dict()[:-4])]), "info", "truncated")
    put("pth_zip_bomb.bad", pth([("m/data.pkl", b"\0" * (16 << 20), zipfile.ZIP_DEFLATED)]), "info", "zip bomb")
    whole = pth([("m/data.pkl", pickle_state_dict()), ("m/version", b"3\n")])
    put("pth_truncated_zip.bad", whole[: len(whole) // 2], "info", "zip")
    put("st_header_past_end.bad", safetensors({"a": {"dtype": "F16", "shape": [1], "data_offsets": [0, 2]}},
                                             header_len=1 << 20), "info", "past the end")
    put("st_header_huge.bad", struct.pack("<Q", 1 << 40) + b"{" + b" " * 64, "info", "100 MB")
    put("st_not_json.bad", struct.pack("<Q", 8) + b"{nojson!", "info", "not valid JSON")
    put("st_offsets_out_of_range.bad",
        safetensors({"t": {"dtype": "F32", "shape": [4], "data_offsets": [0, 1 << 30]}}, b"\0" * 16), "info",
        "outside")
    put("st_overlapping.bad",
        safetensors({"a": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]},
                     "b": {"dtype": "F32", "shape": [2], "data_offsets": [4, 12]}}, b"\0" * 16), "info", "overlap")
    put("st_size_mismatch.bad", safetensors({"t": {"dtype": "F32", "shape": [3], "data_offsets": [0, 8]}}, b"\0" * 8),
        "info", "need 12")
    put("st_unknown_dtype.bad", safetensors({"t": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8),
        "info", "I64")
    put("st_gigantic_shape.bad",
        safetensors({"t": {"dtype": "F32", "shape": [1 << 20, 1 << 20], "data_offsets": [0, 8]}}, b"\0" * 8), "info",
        "2^31")
    put("st_not_taesd.bad", safetensors({"fc.weight": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}, b"\0" * 8),
        "info", "match no TAESD-family")
    # Hardening round 2 (issue 17): each class of what a hostile file still broke.
    deep = b"{\"a\": " + b"[" * 20000 + b"]" * 20000 + b"}"
    deep += b" " * (-len(deep) % 8)
    put("st_deep_nesting.bad", struct.pack("<Q", len(deep)) + deep, "info", "nests deeper than 64")
    twice = b'{"t": {"dtype": "F32", "shape": [1], "data_offsets": [0, 4]}, ' \
            b'"t": {"dtype": "F32", "shape": [2], "data_offsets": [0, 8]}}'
    twice += b" " * (-len(twice) % 8)
    put("st_duplicate_key.bad", struct.pack("<Q", len(twice)) + twice + b"\0" * 8, "info", "key \"t\" twice")
    conv = {"dtype": "F32", "shape": [64, 4, 3, 3], "data_offsets": [0, 64 * 4 * 9 * 4]}
    weights = bytearray(64 * 4 * 9 * 4)
    weights[40:44] = struct.pack("<f", float("nan"))
    put("st_nan_weights.bad", safetensors({"1.weight": conv}, bytes(weights)), "info", "NaN or Inf in the weights")
    put("st_two_namings.bad",
        safetensors({"1.weight": conv, "decoder.layers.0.weight": dict(conv, data_offsets=[9216, 18432])}, b"\0" * 18432),
        "info", "same parameter")
    put("st_control_chars.bad",
        safetensors({"\x1b[2Jevil": {"dtype": "I64", "shape": [1], "data_offsets": [0, 8]}}, b"\0" * 8), "info",
        "\\x1b[2Jevil")
    # 532 bytes that densified into 8 GiB: a stride-0 view of a one-element storage.
    put("pth_stride0.bad", pth([("m/data.pkl", pickled_tensor_dict("w", [65536, 32768], [0, 0], 1)),
                                ("m/data/0", b"\0" * 4)]), "info", "non-overlapping")
    put("pth_overlapping_strides.bad", pth([("m/data.pkl", pickled_tensor_dict("w", [4, 4], [1, 1], 16)),
                                            ("m/data/0", b"\0" * 64)]), "info", "non-overlapping")
    # --- latents (taec decode taef2) -----------------------------------------------------------
    f32 = lambda n, v=0.1: struct.pack("<%df" % n, *([v] * n))
    nan_payload = bytearray(f32(32 * 4))
    nan_payload[12:16] = struct.pack("<f", float("nan"))
    put("npy_nan_latent.bad", npy("<f4", (1, 32, 2, 2), bytes(nan_payload)), "decode", "1 NaN")
    inf_payload = bytearray(f32(32 * 4))
    inf_payload[0:4] = struct.pack("<f", float("inf"))
    put("npy_inf_latent.bad", npy("<f4", (1, 32, 2, 2), bytes(inf_payload)), "decode", "1 Inf")
    put("npy_wrong_channels.bad", npy("<f4", (1, 7, 2, 2), f32(28)), "decode", "has 7 channels")
    put("npy_rank2.bad", npy("<f4", (32, 4), f32(128)), "decode", "rank 2")
    put("npy_rank5.bad", npy("<f4", (1, 1, 32, 2, 2), f32(128)), "decode", "rank 5")
    put("npy_zero_size.bad", npy("<f4", (1, 32, 0, 4), b""), "decode", "empty")
    put("npy_gigantic_shape.bad", npy("<f4", (1, 32, 100000, 100000), f32(4)), "decode", "2^30")
    put("npy_fortran.bad", npy("<f4", (1, 32, 2, 2), f32(128), fortran=True), "decode", "Fortran")
    put("npy_int64.bad", npy("<i8", (1, 32, 2, 2), b"\0" * 1024), "decode", "'<i8'")
    put("npy_truncated.bad", npy("<f4", (1, 32, 2, 2), f32(100)), "decode", "truncated")
    put("npy_bad_magic.bad", b"\x93NUMPX\x01\x00" + b"\0" * 64, "decode", "bad magic")
    # --- images (taec encode taef2) ------------------------------------------------------------
    put("img_truncated_png.bad", png(64, 64)[:40], "encode", "img_truncated_png.bad")
    put("img_zero_size_png.bad", png(0, 0), "encode", "img_zero_size_png.bad")
    put("img_gigantic_png.bad", png(100000, 100000), "encode", "16384 px a side")
    put("img_too_wide_png.bad", png(17000, 1000), "encode", "16384 px a side")  # libpng reads it; taec's cap
    lying = bytearray(png(64, 64))
    lying[33:37] = struct.pack(">I", 0x5A000000)  # IDAT length field: 1.5 GB in a tiny file
    put("img_png_chunk_length_lie.bad", bytes(lying), "encode", "chunk data is too large")  # fuzz_image found this
    put("img_png_zlib_bomb.bad", png(16, 16, zlib.compress(b"\0" * (8 << 20), 9)), "encode", "Too much image data")
    put("img_garbage_jpeg.bad", b"\xff\xd8\xff\xe0" + bytes(range(256)) * 4, "encode", "img_garbage_jpeg.bad")
    put("img_text.bad", b"<svg>not a raster image</svg>", "encode", "not a PNG or JPEG image")
    add_image_format_cases()
    with open(os.path.join(OUT, "EXPECT.tsv"), "w") as f:
        f.write("# file\tcommand\tsubstring of the error message (exit code must be 2)\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


if __name__ == "__main__":
    main()
