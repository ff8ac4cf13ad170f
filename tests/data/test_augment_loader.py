import pytest
import torch
import torch.nn.functional as F
from hypothesis import given
from hypothesis import strategies as st

from addnn.data import BatchLoader, synthetic
from addnn.data.augment import random_crop_flip


@given(n=st.integers(1, 6), c=st.integers(1, 3), h=st.integers(1, 9), w=st.integers(1, 9),
       pad=st.integers(0, 4), seed=st.integers(0, 1000))
def test_every_output_is_a_crop_of_the_padded_input(n, c, h, w, pad, seed):
    images = torch.randint(0, 256, (n, c, h, w), dtype=torch.uint8,
                           generator=torch.Generator().manual_seed(seed))
    out = random_crop_flip(images, torch.Generator().manual_seed(seed), pad=pad)
    assert out.shape == images.shape and out.dtype == torch.uint8
    padded = F.pad(images, (pad,) * 4)
    for k in range(n):
        candidates = [padded[k, :, dy:dy + h, dx:dx + w] for dy in range(2 * pad + 1)
                      for dx in range(2 * pad + 1)]
        candidates += [cand.flip(2) for cand in candidates]
        assert any(torch.equal(out[k], cand) for cand in candidates)


def test_crop_offsets_and_flips_are_all_used():
    images = torch.arange(64, dtype=torch.uint8).view(1, 1, 8, 8).repeat(400, 1, 1, 1)
    out = random_crop_flip(images, torch.Generator().manual_seed(0), pad=2)
    unchanged = (out == images).flatten(1).all(1).float().mean().item()
    assert 0 < unchanged < 0.2          # identity needs offset (2, 2) and no flip: 1/50
    corners = {tuple(o[0, :2, :2].flatten().tolist()) for o in out}
    assert len(corners) > 20


def test_loader_is_deterministic_per_epoch_and_covers_everything():
    data = synthetic("cifar10", n=50)
    loader = BatchLoader(data, 8, shuffle=True, augment=True, seed=3)
    loader.set_epoch(1)
    a = [(x.clone(), y.clone()) for x, y in loader]
    b = [(x.clone(), y.clone()) for x, y in loader]
    assert all(torch.equal(x1, x2) and torch.equal(y1, y2) for (x1, y1), (x2, y2) in zip(a, b))
    loader.set_epoch(2)
    c = [y for _, y in loader]
    assert not all(torch.equal(y1, y2) for (_, y1), y2 in zip(a, c))
    plain = BatchLoader(data, 8)
    labels = torch.cat([y for _, y in plain])
    assert torch.equal(labels, data.labels) and len(plain) == 7


@pytest.mark.parametrize("equal", [True, False])
def test_shards(equal):
    data = synthetic("cifar10", n=53)
    data.labels = torch.arange(53)                  # label = index, to see the shards
    shards = [torch.cat([y for _, y in BatchLoader(data, 4, shuffle=True, seed=1, rank=r,
                                                   world_size=3, equal_shards=equal)])
              for r in range(3)]
    seen = torch.cat(shards)
    assert len(set(seen.tolist())) == len(seen)      # disjoint
    if equal:
        assert [len(s) for s in shards] == [17, 17, 17]
    else:
        assert sorted(seen.tolist()) == list(range(53))


def test_normalisation():
    data = synthetic("fashion-mnist", n=4)
    x = data.normalize(torch.full((1, 1, 2, 2), 255, dtype=torch.uint8))
    assert torch.allclose(x, torch.full_like(x, (1 - 0.5) / 0.25))
