"""The detector's network in PyTorch, and its export to the .hwm layers that
wakeword/nn.c runs streaming: a causal conv over the mel bands, then
depthwise-separable blocks with growing dilation, then one sigmoid output.
No padding anywhere: output t sees input frames t .. t + context - 1."""

import torch
from torch import nn

import hwm


class Detector(nn.Module):
    def __init__(self, n_mels=40, channels=32, first_kernel=5, kernel=5,
                 dilations=(1, 2, 4, 8), dropout=0.0):
        super().__init__()
        self.n_mels = n_mels
        self.register_buffer("mean", torch.zeros(n_mels))
        self.register_buffer("std", torch.ones(n_mels))
        self.first = nn.Conv1d(n_mels, channels, first_kernel)
        self.first_bn = nn.BatchNorm1d(channels)
        self.dw = nn.ModuleList()
        self.pw = nn.ModuleList()
        self.bn = nn.ModuleList()
        for d in dilations:
            self.dw.append(nn.Conv1d(channels, channels, kernel, dilation=d,
                                     groups=channels, bias=False))
            self.pw.append(nn.Conv1d(channels, channels, 1))
            self.bn.append(nn.BatchNorm1d(channels))
        self.head = nn.Conv1d(channels, 1, 1)
        # Training only (identity in eval mode, so nothing to export).
        self.drop = nn.Dropout(dropout)
        self.context = 1 + (first_kernel - 1) + sum((kernel - 1) * d for d in dilations)

    def forward(self, x):
        """x: [batch, n_mels, frames] log-mel features; returns logits
        [batch, frames - context + 1]."""
        x = (x - self.mean[None, :, None]) / self.std[None, :, None]
        x = self.drop(torch.relu(self.first_bn(self.first(x))))
        for dw, pw, bn in zip(self.dw, self.pw, self.bn):
            x = self.drop(torch.relu(bn(pw(dw(x)))))
        return self.head(x)[:, 0, :]

    def params(self):
        return sum(p.numel() for p in self.parameters())


def _fold_bn(weight, bias, bn):
    """A conv followed by eval-mode batch norm, as one conv."""
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)
    w = weight * scale.reshape(-1, *([1] * (weight.dim() - 1)))
    b = (bias - bn.running_mean) * scale + bn.bias
    return w, b


def export_layers(m):
    """The network as hwm layers: normalisation folded into the first conv,
    batch norms into the conv before them, the depthwise conv's missing bias
    as zeros."""
    m = m.eval()
    with torch.no_grad():
        w = m.first.weight / m.std[None, :, None]
        b = m.first.bias - (m.first.weight * (m.mean / m.std)[None, :, None]).sum(dim=(1, 2))
        w, b = _fold_bn(w, b, m.first_bn)
        layers = [_conv(w, b, 1, hwm.RELU)]
        for dw, pw, bn in zip(m.dw, m.pw, m.bn):
            ch = dw.weight.shape[0]
            layers.append(dict(type=hwm.DEPTHWISE, act=hwm.NONE, in_ch=ch, out_ch=ch,
                               kernel=dw.weight.shape[2], dilation=dw.dilation[0],
                               weights=dw.weight[:, 0, :].t().reshape(-1).tolist(),
                               bias=[0.0] * ch))
            w, b = _fold_bn(pw.weight, pw.bias, bn)
            layers.append(_conv(w, b, 1, hwm.RELU))
        layers.append(_conv(m.head.weight, m.head.bias, 1, hwm.SIGMOID))
    return layers


def _conv(w, b, dilation, act):
    out_ch, in_ch, k = w.shape
    return dict(type=hwm.CONV, act=act, in_ch=in_ch, out_ch=out_ch, kernel=k,
                dilation=dilation, weights=w.permute(0, 2, 1).reshape(-1).tolist(),
                bias=b.reshape(-1).tolist())
