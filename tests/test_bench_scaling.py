"bench/scaling.py: the epochs behind its images-per-second columns are the epochs the models trained"
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import scaling as bench
from noisyfast.config import load_config, to_dict

def test_epochs_count_the_frozen_phases_fit_trains():
    st = [dict(size=16, epochs=2, freeze_epochs=1), dict(size=24, epochs=3, freeze_epochs=1)]
    cfg = to_dict(load_config(None, data=dict(name='digits'), train=dict(stages=st),
                              clean=dict(enabled=True, epochs=4), final=dict(enabled=True)))
    # from random weights the first stage has no frozen phase, a later (resized) stage has one
    assert (bench.epochs(cfg, 'train'), bench.epochs(cfg, 'clean')) == (2 + 3 + 1, 4 + 4 + 1)
    cfg['final']['init'] = 'train' # the final model starts from the baseline's weights: both frozen phases
    assert bench.epochs(cfg, 'final') == 1 + 2 + 1 + 3
