"""Chapter 8's Sora models through a sandbox zoo: square crops and native sizes train by one command,
sample at any size, and are measured for framing and throughput."""

import dataclasses

import numpy as np
import pytest

from reference import zoo
from reference.recipes import sora, vae
from reference.recipes.sora import Batching, SoraRecipe
from reference.registry import chapter_8
from tests.conftest import train_sandbox_zoo


@pytest.fixture(scope="module")
def sora_zoo(tmp_path_factory):
    monkeypatch = pytest.MonkeyPatch()
    tmp_path = tmp_path_factory.mktemp("sora")
    native = SoraRecipe.tiny(vae="vae-test")
    entries = {
        "vae-test": dataclasses.replace(zoo.REGISTRY["vae-causal-tiny"], name="vae-test", recipe=vae.CausalVAERecipe.tiny()),
        "square-test": dataclasses.replace(chapter_8.SORA_SQUARE, name="square-test", recipe=dataclasses.replace(
            native, native=dataclasses.replace(native.native, square=True))),
        "native-test": dataclasses.replace(chapter_8.SORA_NATIVE, name="native-test", recipe=native),
        "packed-test": dataclasses.replace(chapter_8.SORA_NATIVE, name="packed-test",
                                           recipe=dataclasses.replace(native, batching=Batching.PACKED)),
    }
    train_sandbox_zoo(entries, tmp_path, monkeypatch)
    yield tmp_path
    monkeypatch.undo()


def test_both_pipelines_train_and_are_measured_at_every_shape(sora_zoo):
    for name in ("square-test", "native-test", "packed-test"):
        m = zoo.card(name)["metrics"]
        for shape in ("5x16x16", "5x8x24", "5x24x8"):
            assert 0 <= m[f"{shape}_cut"] <= 1 and m[f"{shape}_rendered_cut"] == 0.0
            assert 0 <= m[f"{shape}_caption_accuracy"] <= 1
        assert m["5x8x24_trained"] == (name != "square-test") and not m["5x24x8_trained"]
        assert m["buckets_tokens_per_s"] > 0 and m["packed_tokens_per_s"] > 0 and 0 <= m["packed_padding_share"] < 1
    assert zoo.card("square-test")["metrics"]["trained_shapes"] == [[5, 8, 8], [5, 16, 16]]  # squares only


def test_square_batches_hold_only_squares_and_packed_draws_mix_shapes(sora_zoo):
    square = zoo.entry("square-test").recipe
    batches = sora.dataset(square)
    for i in range(6):
        _, _, _, h, w = batches[i].video.shape
        assert h == w
    packed = sora.dataset(zoo.entry("packed-test").recipe)
    assert len({tuple(s.video.shape[1:]) for i in range(4) for s in packed[i]}) > 1


def test_sampling_at_any_size_through_the_zoo_command(sora_zoo, tmp_path):
    out = tmp_path / "clips.npz"
    zoo.main(["sample", "native-test", "--prompt", "a red circle moving left", "--n", "2", "--frames", "9",
              "--height", "12", "--width", "20", "--out", str(out)])
    assert np.load(out)["videos"].shape == (2, 3, 9, 12, 20)
    with pytest.raises(ValueError, match="multiples of 4"):
        sora.generate(zoo.load("native-test", "cpu"), zoo.entry("native-test").recipe, ["a red circle"], frames=5, height=10)
