"""DAT, the Dual Aggregation Transformer (Chen et al., "Dual Aggregation Transformer for Image
Super-Resolution", ICCV 2023, arXiv:2308.03364).

Transformer blocks alternate between two kinds of self-attention: *spatial* (inside
rectangular windows, half the channels in 8x32 windows and half in 32x8, every other
spatial block shifted) and *channel* (an attention map between channels over the whole
image, as XCiT). Each attention runs beside a depth-wise convolution, and an adaptive
interaction module lets each branch gate the other (channel gate from one, spatial gate
from the other). The feed-forward network is gated by a depth-wise convolution (SGFN).

DAT-light (the configuration bundled with srpipe): one residual group of 18 blocks, 60
features, 6 heads, FFN expansion 2, 8x32 windows, a three-conv group tail, one-step pixel
shuffle: 553K parameters at x2, 561K at x3, 573K at x4.

Module names equal the official code's (``conv_first``, ``before_RG.1``,
``layers.0.blocks.N.attn.attns.K.pos.*``, ``conv_after_body.*``, ``upsample.0``), so its
checkpoints load once the fixed buffers it saves (relative position tables, attention
masks for 64x64 inputs) are dropped: here those are computed, for any input size.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from srpipe.models.blocks import DIV2K_RGB_MEAN, Upsampler

#: Logit added between tokens that a shifted window brings together from opposite image
#: edges: large enough that softmax ignores them (the official value).
_MASKED = -100.0


def _to_tokens(x: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (B, H*W, C)."""
    return x.flatten(2).transpose(1, 2)


def _to_image(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """(B, H*W, C) -> (B, C, H, W)."""
    return x.transpose(1, 2).reshape(x.shape[0], -1, height, width)


class TokensFromImage(nn.Module):
    """(B, C, H, W) -> (B, H*W, C) as a module, so ``before_RG`` keeps the official indices."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return _to_tokens(x)


def _windows(x: torch.Tensor, wh: int, ww: int) -> torch.Tensor:
    """(..., H, W, C) with H, W multiples of the window -> (..., nW, wh*ww, C), row-major."""
    *lead, height, width, channels = x.shape
    x = x.reshape(*lead, height // wh, wh, width // ww, ww, channels)
    x = x.transpose(-4, -3)
    return x.reshape(*lead, (height // wh) * (width // ww), wh * ww, channels)


def _unwindows(x: torch.Tensor, wh: int, ww: int, height: int, width: int) -> torch.Tensor:
    """Inverse of :func:`_windows`: (..., nW, wh*ww, C) -> (..., H, W, C)."""
    *lead, _, _, channels = x.shape
    x = x.reshape(*lead, height // wh, width // ww, wh, ww, channels)
    x = x.transpose(-4, -3)
    return x.reshape(*lead, height, width, channels)


def _region_labels(length: int, window: int, shift: int) -> torch.Tensor:
    """After a cyclic shift by ``shift``, which of three regions each position came from."""
    labels = torch.zeros(length)
    labels[length - window : length - shift] = 1
    labels[length - shift :] = 2
    return labels


def shifted_window_mask(height: int, width: int, window: tuple[int, int], shift: tuple[int, int]):
    """(nW, N, N) additive mask for shifted windows on an (height, width) padded map.

    Tokens of one window that came from different regions before the cyclic shift must not
    attend to each other (they were not neighbours in the image).
    """
    rows = _region_labels(height, window[0], shift[0])
    cols = _region_labels(width, window[1], shift[1])
    label = (rows[:, None] * 3 + cols[None, :])[..., None]  # (H, W, 1)
    per_window = _windows(label, *window)[..., 0]  # (nW, N)
    differ = per_window[:, None, :] != per_window[:, :, None]
    return torch.zeros(differ.shape).masked_fill_(differ, _MASKED)


class PositionBias(nn.Module):
    """Dynamic relative position bias: a small MLP maps each (dy, dx) offset to one bias
    per head, so the bias works for any window shape (CrossFormer's DPB, non-residual)."""

    def __init__(self, dim: int, num_heads: int) -> None:
        super().__init__()
        hidden = dim // 4
        self.pos_proj = nn.Linear(2, hidden)
        self.pos1 = nn.Sequential(
            nn.LayerNorm(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden)
        )
        self.pos2 = nn.Sequential(
            nn.LayerNorm(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, hidden)
        )
        self.pos3 = nn.Sequential(
            nn.LayerNorm(hidden), nn.ReLU(inplace=True), nn.Linear(hidden, num_heads)
        )

    def forward(self, offsets: torch.Tensor) -> torch.Tensor:
        return self.pos3(self.pos2(self.pos1(self.pos_proj(offsets))))


class WindowAttention(nn.Module):
    """Multi-head self-attention inside non-overlapping ``window = (height, width)`` windows,
    with the dynamic position bias. Takes q, k, v maps, returns the attended map."""

    def __init__(self, dim: int, num_heads: int, window: tuple[int, int]) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.window = window
        self.pos = PositionBias(dim // 4, num_heads)
        wh, ww = window
        dy, dx = torch.meshgrid(torch.arange(1 - wh, wh), torch.arange(1 - ww, ww), indexing="ij")
        # every possible offset once; the bias table is the MLP of these
        offsets = torch.stack([dy.flatten(), dx.flatten()], dim=1).float()
        ys, xs = torch.meshgrid(torch.arange(wh), torch.arange(ww), indexing="ij")
        ys, xs = ys.flatten(), xs.flatten()
        # offset of token i from token j, as a row of ``offsets``
        index = (ys[:, None] - ys[None, :] + wh - 1) * (2 * ww - 1) + (
            xs[:, None] - xs[None, :] + ww - 1
        )
        # fixed tables: not saved (the official checkpoint's copies are checked, then dropped)
        self.register_buffer("offsets", offsets, persistent=False)
        self.register_buffer("offset_index", index, persistent=False)

    def position_bias(self) -> torch.Tensor:
        """(heads, N, N) bias added to the attention logits."""
        table = self.pos(self.offsets)  # (offsets, heads)
        n = self.window[0] * self.window[1]
        return table[self.offset_index.reshape(-1)].reshape(n, n, -1).permute(2, 0, 1)

    def forward(
        self, q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None = None
    ) -> torch.Tensor:
        """q, k, v: (B, H, W, C) with H, W multiples of the window; mask: (nW, N, N)."""
        batch, height, width, channels = q.shape
        heads, wh, ww = self.num_heads, *self.window

        def split_heads(t: torch.Tensor) -> torch.Tensor:  # -> (B, nW, heads, N, C/heads)
            t = _windows(t, wh, ww)
            return t.reshape(*t.shape[:3], heads, -1).transpose(2, 3)

        bias = self.position_bias().to(q.dtype)
        if mask is not None:
            bias = bias + mask.to(q.dtype)[:, None]  # (nW, heads, N, N)
        out = F.scaled_dot_product_attention(split_heads(q), split_heads(k), split_heads(v), bias)
        out = out.transpose(2, 3).reshape(batch, -1, wh * ww, channels)
        return _unwindows(out, wh, ww, height, width)


def _interaction(channels: int, out: int, pooled: bool) -> nn.Sequential:
    """A 1x1-conv bottleneck giving the gate one branch sends to the other."""
    layers: list[nn.Module] = [nn.AdaptiveAvgPool2d(1)] if pooled else []
    hidden = channels // 8 if pooled else channels // 16
    layers += [
        nn.Conv2d(channels, hidden, 1),
        nn.BatchNorm2d(hidden),
        nn.GELU(),
        nn.Conv2d(hidden, out, 1),
    ]
    return nn.Sequential(*layers)


def _depthwise(channels: int) -> nn.Sequential:
    return nn.Sequential(
        nn.Conv2d(channels, channels, 3, padding=1, groups=channels),
        nn.BatchNorm2d(channels),
        nn.GELU(),
    )


class SpatialAttention(nn.Module):
    """Adaptive spatial self-attention: window attention (half the channels in
    ``split`` windows, half in the transposed shape) beside a depth-wise conv; the conv
    branch gates the attention's channels, the attention gates the conv's pixels."""

    def __init__(
        self,
        dim: int,
        num_heads: int,
        split: tuple[int, int],
        shifted: bool,
        qkv_bias: bool = True,
    ) -> None:
        super().__init__()
        self.split = split
        self.shift = (split[0] // 2, split[1] // 2)
        self.shifted = shifted
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        windows = (split, (split[1], split[0]))
        self.attns = nn.ModuleList(WindowAttention(dim // 2, num_heads // 2, w) for w in windows)
        self.dwconv = _depthwise(dim)
        self.channel_interaction = _interaction(dim, dim, pooled=True)
        self.spatial_interaction = _interaction(dim, 1, pooled=False)
        self._masks: dict[tuple, tuple[torch.Tensor, torch.Tensor]] = {}

    def _masks_for(self, height: int, width: int, device: torch.device):
        key = (height, width, str(device))
        if key not in self._masks:
            shifts = (self.shift, (self.shift[1], self.shift[0]))
            self._masks = {  # keep only the latest size: tiles and frames repeat one size
                key: tuple(
                    shifted_window_mask(height, width, attn.window, s).to(device)
                    for attn, s in zip(self.attns, shifts)
                )
            }
        return self._masks[key]

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        batch, length, channels = x.shape
        half = channels // 2
        qkv = self.qkv(x).reshape(batch, height, width, 3, channels)
        v_image = qkv[..., 2, :].permute(0, 3, 1, 2)
        # windows need the map padded to a multiple of the larger window side; padded tokens
        # are zero q/k/v that still take part in the softmax, as in the official code
        size = max(self.split)
        pad_h, pad_w = (-height) % size, (-width) % size
        qkv = F.pad(qkv, (0, 0, 0, 0, 0, pad_w, 0, pad_h))
        ph, pw = height + pad_h, width + pad_w
        masks = self._masks_for(ph, pw, x.device) if self.shifted else (None, None)
        outs = []
        for i, attn in enumerate(self.attns):
            part = qkv[..., i * half : (i + 1) * half]
            shift = self.shift if i == 0 else (self.shift[1], self.shift[0])
            if self.shifted:
                part = torch.roll(part, shifts=(-shift[0], -shift[1]), dims=(1, 2))
            out = attn(part[..., 0, :], part[..., 1, :], part[..., 2, :], masks[i])
            if self.shifted:
                out = torch.roll(out, shifts=shift, dims=(1, 2))
            outs.append(out[:, :height, :width])
        attended = torch.cat(outs, dim=-1).reshape(batch, length, channels)
        conv = self.dwconv(v_image)
        channel_gate = self.channel_interaction(conv).reshape(batch, 1, channels)
        spatial_gate = self.spatial_interaction(_to_image(attended, height, width))
        attended = attended * torch.sigmoid(channel_gate)
        conv = _to_tokens(torch.sigmoid(spatial_gate) * conv)
        return self.proj(attended + conv)


class ChannelAttention(nn.Module):
    """Adaptive channel self-attention: per head, a (C/heads)^2 attention map between
    channels from L2-normalised q, k over all pixels, scaled by a learnt temperature; the
    attention gates the depth-wise conv's channels and the conv gates the attention's pixels."""

    def __init__(self, dim: int, num_heads: int, qkv_bias: bool = True) -> None:
        super().__init__()
        self.num_heads = num_heads
        self.temperature = nn.Parameter(torch.ones(num_heads, 1, 1))
        self.qkv = nn.Linear(dim, dim * 3, bias=qkv_bias)
        self.proj = nn.Linear(dim, dim)
        self.dwconv = _depthwise(dim)
        self.channel_interaction = _interaction(dim, dim, pooled=True)
        self.spatial_interaction = _interaction(dim, 1, pooled=False)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        batch, length, channels = x.shape
        # (3, B, heads, C/heads, N): channels are the attention's tokens
        qkv = self.qkv(x).reshape(batch, length, 3, self.num_heads, -1).permute(2, 0, 3, 4, 1)
        q, k, v = qkv[0], qkv[1], qkv[2]
        q = F.normalize(q, dim=-1)
        k = F.normalize(k, dim=-1)
        attn = torch.softmax((q @ k.transpose(-2, -1)) * self.temperature, dim=-1)
        attended = (attn @ v).reshape(batch, channels, length).transpose(1, 2)
        conv = self.dwconv(v.reshape(batch, channels, height, width))
        channel_gate = self.channel_interaction(_to_image(attended, height, width))
        spatial_gate = _to_tokens(self.spatial_interaction(conv))
        attended = attended * torch.sigmoid(spatial_gate)
        conv = _to_tokens(conv * torch.sigmoid(channel_gate))
        return self.proj(attended + conv)


class SpatialGate(nn.Module):
    """Half the hidden channels, normalised and depth-wise convolved, gate the other half."""

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.norm = nn.LayerNorm(dim)
        self.conv = nn.Conv2d(dim, dim, 3, padding=1, groups=dim)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        keep, gate = x.chunk(2, dim=-1)
        gate = _to_tokens(self.conv(_to_image(self.norm(gate), height, width)))
        return keep * gate


class GatedFeedForward(nn.Module):
    """SGFN: linear, GELU, spatial gate (halves the width), linear."""

    def __init__(self, dim: int, hidden: int) -> None:
        super().__init__()
        self.fc1 = nn.Linear(dim, hidden)
        self.act = nn.GELU()
        self.sg = SpatialGate(hidden // 2)
        self.fc2 = nn.Linear(hidden // 2, dim)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        return self.fc2(self.sg(self.act(self.fc1(x)), height, width))


class DATBlock(nn.Module):
    """Pre-norm transformer block: spatial or channel attention, then the gated FFN."""

    def __init__(self, dim: int, num_heads: int, attention: nn.Module, expansion: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(dim)
        self.attn = attention
        self.norm2 = nn.LayerNorm(dim)
        self.ffn = GatedFeedForward(dim, int(dim * expansion))

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        x = x + self.attn(self.norm1(x), height, width)
        return x + self.ffn(self.norm2(x), height, width)


def _group_tail(dim: int, kind: str) -> nn.Module:
    """The conv closing a residual group or the body: one 3x3, or the three-conv bottleneck
    (dim/4 wide) the light models use to save parameters."""
    if kind == "1conv":
        return nn.Conv2d(dim, dim, 3, padding=1)
    if kind == "3conv":
        return nn.Sequential(
            nn.Conv2d(dim, dim // 4, 3, padding=1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(dim // 4, dim // 4, 1),
            nn.LeakyReLU(0.2, inplace=True),
            nn.Conv2d(dim // 4, dim, 3, padding=1),
        )
    raise ValueError(f"resi_connection must be '1conv' or '3conv', not {kind!r}")


class ResidualGroup(nn.Module):
    """``depth`` blocks alternating spatial (even) and channel (odd) attention, a conv, and a
    skip. Spatial blocks alternate plain and shifted windows, starting plain in even groups
    and shifted in odd ones."""

    def __init__(
        self,
        dim: int,
        depth: int,
        num_heads: int,
        split: tuple[int, int],
        expansion: float,
        resi_connection: str,
        group_index: int,
        qkv_bias: bool = True,
    ) -> None:
        super().__init__()
        blocks = []
        for b in range(depth):
            if b % 2 == 0:
                shifted = (b // 2 + group_index) % 2 == 1
                attention: nn.Module = SpatialAttention(dim, num_heads, split, shifted, qkv_bias)
            else:
                attention = ChannelAttention(dim, num_heads, qkv_bias)
            blocks.append(DATBlock(dim, num_heads, attention, expansion))
        self.blocks = nn.ModuleList(blocks)
        self.conv = _group_tail(dim, resi_connection)

    def forward(self, x: torch.Tensor, height: int, width: int) -> torch.Tensor:
        res = x
        for block in self.blocks:
            x = block(x, height, width)
        return res + _to_tokens(self.conv(_to_image(x, height, width)))


class DAT(nn.Module):
    """DAT mapping RGB in [0, 1] (N, 3, h, w) to (N, 3, h*scale, w*scale).

    ``upsampler="pixelshuffledirect"`` (the light models) is one conv to 3*scale^2 channels
    and a pixel shuffle; ``"pixelshuffle"`` (DAT, DAT-S) is EDSR's tail on 64 features.
    """

    def __init__(
        self,
        scale: int = 4,
        embed_dim: int = 60,
        depth: Sequence[int] = (18,),
        num_heads: Sequence[int] = (6,),
        expansion_factor: float = 2.0,
        split_size: Sequence[int] = (8, 32),
        resi_connection: str = "3conv",
        upsampler: str = "pixelshuffledirect",
        qkv_bias: bool = True,
        img_range: float = 1.0,
        n_colors: int = 3,
        rgb_mean: Sequence[float] = DIV2K_RGB_MEAN,
    ) -> None:
        super().__init__()
        if len(depth) != len(num_heads):
            raise ValueError(f"depth {depth} and num_heads {num_heads} need one entry per group")
        split = (int(split_size[0]), int(split_size[1]))
        self.scale = scale
        self.img_range = float(img_range)
        self.register_buffer(
            "mean", torch.tensor(rgb_mean, dtype=torch.float32).view(1, -1, 1, 1), persistent=False
        )
        self.conv_first = nn.Conv2d(n_colors, embed_dim, 3, padding=1)
        self.before_RG = nn.Sequential(TokensFromImage(), nn.LayerNorm(embed_dim))
        self.layers = nn.ModuleList(
            ResidualGroup(embed_dim, d, h, split, expansion_factor, resi_connection, i, qkv_bias)
            for i, (d, h) in enumerate(zip(depth, num_heads))
        )
        self.norm = nn.LayerNorm(embed_dim)
        self.conv_after_body = _group_tail(embed_dim, resi_connection)
        self.upsampler = upsampler
        if upsampler == "pixelshuffledirect":
            self.upsample = nn.Sequential(
                nn.Conv2d(embed_dim, n_colors * scale * scale, 3, padding=1), nn.PixelShuffle(scale)
            )
        elif upsampler == "pixelshuffle":
            feats = 64
            self.conv_before_upsample = nn.Sequential(
                nn.Conv2d(embed_dim, feats, 3, padding=1), nn.LeakyReLU(inplace=True)
            )
            self.upsample = Upsampler(scale, feats)
            self.conv_last = nn.Conv2d(feats, n_colors, 3, padding=1)
        else:
            raise ValueError(
                f"upsampler must be 'pixelshuffledirect' or 'pixelshuffle', not {upsampler!r}"
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        height, width = x.shape[-2:]
        mean = self.mean.to(x.dtype)
        x = self.conv_first((x - mean) * self.img_range)
        tokens = self.before_RG(x)
        for layer in self.layers:
            tokens = layer(tokens, height, width)
        x = self.conv_after_body(_to_image(self.norm(tokens), height, width)) + x
        if self.upsampler == "pixelshuffle":
            x = self.conv_last(self.upsample(self.conv_before_upsample(x)))
        else:
            x = self.upsample(x)
        return x / self.img_range + mean
