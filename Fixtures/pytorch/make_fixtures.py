# Makes the PyTorch pickle fixtures in this folder with real torch (run once, by hand; never
# part of the build or the tests):
#   python3 -m venv /tmp/torchenv && /tmp/torchenv/bin/pip install /opt/wheels/torch-2.13.0+cpu-*.whl
#   cd Fixtures/pytorch && /tmp/torchenv/bin/python make_fixtures.py
# Deterministic: every value comes from torch.arange, no random numbers.
import io, json, os, pickle, struct, zipfile
import torch

HIDDEN, HEADS, LAYERS, INTER, VOCAB, POS, TYPES = 8, 2, 1, 16, 24, 16, 2


def ramp(shape, scale, shift=0.0):
    n = 1
    for d in shape:
        n *= d
    return ((torch.arange(n, dtype=torch.float32) % 13 - 6 + shift) * scale).reshape(shape)


def tiny_bert():
    sd = {}
    sd["embeddings.word_embeddings.weight"] = ramp([VOCAB, HIDDEN], 0.05)
    sd["embeddings.position_embeddings.weight"] = ramp([POS, HIDDEN], 0.02, 1)
    sd["embeddings.token_type_embeddings.weight"] = ramp([TYPES, HIDDEN], 0.03, 2)
    sd["embeddings.LayerNorm.weight"] = 1 + ramp([HIDDEN], 0.01)
    sd["embeddings.LayerNorm.bias"] = ramp([HIDDEN], 0.01, 3)
    for l in range(LAYERS):
        b = f"encoder.layer.{l}."
        for i, n in enumerate(["attention.self.query", "attention.self.key", "attention.self.value", "attention.output.dense"]):
            sd[b + n + ".weight"] = ramp([HIDDEN, HIDDEN], 0.04, i)
            sd[b + n + ".bias"] = ramp([HIDDEN], 0.01, i + 1)
        # Stored transposed (a non-contiguous view): the reader must copy it into row-major order.
        sd[b + "intermediate.dense.weight"] = ramp([HIDDEN, INTER], 0.03, 5).t()
        sd[b + "intermediate.dense.bias"] = ramp([INTER], 0.01, 6)
        sd[b + "output.dense.weight"] = ramp([HIDDEN, INTER], 0.02, 7)
        sd[b + "output.dense.bias"] = ramp([HIDDEN], 0.01, 8)
        for n in ["attention.output.LayerNorm", "output.LayerNorm"]:
            sd[b + n + ".weight"] = 1 + ramp([HIDDEN], 0.02, 9)
            sd[b + n + ".bias"] = ramp([HIDDEN], 0.02, 10)
    sd["embeddings.position_ids"] = torch.arange(POS, dtype=torch.int64).reshape(1, POS)
    # A module's state_dict is an OrderedDict with a _metadata attribute (saved through BUILD).
    out = torch.nn.Module().state_dict()
    for k, v in sd.items():
        out[k] = v
    return out


def mixed():
    base = torch.arange(12, dtype=torch.float32) * 0.5
    sd = {
        "f32": base.reshape(3, 4),
        "f32_offset_view": base[5:9],                    # shares base's storage at offset 5
        "f32_strided": base.reshape(3, 4)[:, ::2],       # strides (4, 2)
        "f16": torch.tensor([1.0, -2.5, 65504.0, 0.0001], dtype=torch.float16),
        "bf16": torch.tensor([[1.0, -3.0], [0.125, 1e30]], dtype=torch.bfloat16),
        "f64": torch.tensor([1.0 / 3.0, -2.0], dtype=torch.float64),
        "i64": torch.tensor([-1, 0, 1 << 40], dtype=torch.int64),
        "i32": torch.tensor([[7, -8]], dtype=torch.int32),
        "u8": torch.tensor([0, 255], dtype=torch.uint8),
        "bool": torch.tensor([True, False, True]),
        "scalar": torch.tensor(3.5),
        "empty": torch.zeros(0, 4),
        "parameter": torch.nn.Parameter(torch.tensor([0.25, 0.75])),
    }
    return sd


def expected(sd):
    rows = {}
    for k, v in sd.items():
        t = v.detach().contiguous()
        raw = t.reshape(-1).view(torch.uint8).tolist() if t.numel() else []
        rows[k] = {"dtype": str(t.dtype).replace("torch.", ""), "shape": list(t.shape), "bytes": bytes(raw).hex()}
    return rows


def save_both(sd, folder, name):
    os.makedirs(os.path.join(folder, "zip"), exist_ok=True)
    os.makedirs(os.path.join(folder, "legacy"), exist_ok=True)
    torch.save(sd, os.path.join(folder, "zip", name))
    torch.save(sd, os.path.join(folder, "legacy", name), _use_new_zipfile_serialization=False)
    with open(os.path.join(folder, "expected.json"), "w") as f:
        json.dump(expected(sd), f, indent=1, sort_keys=True)


class Shell:
    def __reduce__(self):
        return (os.system, ("echo pwned",))


def hostile():
    os.makedirs("hostile", exist_ok=True)
    # A zip checkpoint whose data.pkl calls os.system: the layout torch writes, a forbidden global.
    torch.save({"w": torch.zeros(2), "x": Shell()}, "hostile/os-system.bin")
    # The same in the legacy layout.
    torch.save({"w": torch.zeros(2), "x": Shell()}, "hostile/os-system-legacy.bin", _use_new_zipfile_serialization=False)
    # A plain pickle (no zip, no magic number) of a forbidden global.
    with open("hostile/plain-pickle.bin", "wb") as f:
        pickle.dump(Shell(), f, protocol=2)
    # A real checkpoint cut in half.
    buf = io.BytesIO()
    torch.save(tiny_bert(), buf)
    with open("hostile/truncated.bin", "wb") as f:
        f.write(buf.getvalue()[: len(buf.getvalue()) // 2])
    # A BINUNICODE claiming 4 GiB - 1 bytes, inside a valid zip layout.
    pkl = b"\x80\x02X\xff\xff\xff\xffabc."
    with zipfile.ZipFile("hostile/huge-string.bin", "w", zipfile.ZIP_STORED) as z:
        z.writestr("archive/data.pkl", pkl)
        z.writestr("archive/byteorder", "little")
        z.writestr("archive/version", "3\n")


if __name__ == "__main__":
    save_both(tiny_bert(), "tiny-bert", "pytorch_model.bin")
    save_both(mixed(), "mixed", "mixed.bin")
    hostile()
    print("torch", torch.__version__)
