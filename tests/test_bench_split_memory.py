"bench/split_memory.py --smoke end to end: a CIFAR-10 slice trained by the commit before splits became views"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import split_memory as bench

@pytest.mark.slow
def test_a_slice_holds_its_own_images_only_and_trains_the_same():
    before, after = bench.main(['--smoke'])
    assert before['train_size'] == after['train_size'] == 270 # 300 less a 10 % valid split
    assert after['test_acc'] == before['test_acc'] # the same pixels in the same order
    # before: CIFAR-10's whole train and test domains (50,000 + 10,000 images, 176 MiB) for 400 images
    assert after['peak_gib'] < before['peak_gib'] - 0.1, (before, after)
