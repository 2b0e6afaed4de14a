#!/usr/bin/env python3
"""Load a clgan DCGAN checkpoint's generator into pytorch/examples' Generator.

    python3 scripts/load-in-pytorch.py out/checkpoint.safetensors [-o grid.png]

clgan stores G under pytorch/examples' state_dict names ("main.0.weight", ...)
and layouts; D and the Adam moments sit under the prefixes "netD." and
"optG."/"optD.", so a strict load of the "main." keys is all it takes. Needs
torch and safetensors (torchvision only to write the grid).
"""
import argparse
import json

import torch
import torch.nn as nn
from safetensors import safe_open
from safetensors.torch import load_file


class Generator(nn.Module):
    """pytorch/examples dcgan/main.py's Generator, for 32x32 or 64x64 images."""

    def __init__(self, nz, ngf, nc, image_size):
        super().__init__()
        stages = 4 if image_size == 64 else 3
        width = ngf * 2 ** (stages - 1)
        layers = [nn.ConvTranspose2d(nz, width, 4, 1, 0, bias=False)]
        for k in range(stages):
            layers += [nn.BatchNorm2d(width), nn.ReLU(True)]
            out = nc if k == stages - 1 else width // 2
            layers.append(nn.ConvTranspose2d(width, out, 4, 2, 1, bias=False))
            width //= 2
        layers.append(nn.Tanh())
        self.main = nn.Sequential(*layers)

    def forward(self, z):
        return self.main(z)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("checkpoint")
    ap.add_argument("-o", "--out", default="pytorch-samples.png")
    ap.add_argument("-n", type=int, default=64)
    args = ap.parse_args()
    with safe_open(args.checkpoint, "pt") as f:
        meta = f.metadata()
    cfg = json.loads(meta["config"])
    state = {k: v for k, v in load_file(args.checkpoint).items() if k.startswith("main.")}
    g = Generator(cfg["nz"], cfg["ngf"], cfg["nc"], cfg["image_size"])
    g.load_state_dict(state, strict=True)  # BN's num_batches_tracked is filled in
    z = torch.randn(args.n, cfg["nz"], 1, 1)
    with torch.no_grad():
        images = g(z)  # train-mode BN, as pytorch/examples samples
    print(f"loaded {len(state)} tensors; generated {tuple(images.shape)}, "
          f"range [{images.min():.3f}, {images.max():.3f}]")
    try:
        import torchvision.utils as vutils
        vutils.save_image(images, args.out, normalize=True, nrow=8)
        print(args.out)
    except ImportError:
        pass


if __name__ == "__main__":
    main()
