"bench/run_folder_size.py end to end: the same real run with and without the optimizer state in last.pth"
import json, sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import run_folder_size as bench

@pytest.mark.slow
def test_the_optimizer_state_takes_disk(tmp_path, archive):
    out = tmp_path/'size.md'
    bench.main(['--arch', 'test_resnet', '--out', str(out)])
    rows = json.loads(out.with_suffix('.json').read_text())['results']
    assert [r['save_optimizer'] for r in rows] == [False, True]
    # train and final: best and last; each of the 2 folds only the checkpoint it ended with (+ last.pth when
    # train.save_optimizer asks for it)
    assert [r['checkpoints'] for r in rows] == [2 + 2 + 2, 2 + 2 * 2 + 2]
    assert rows[1]['largest_mb'] > 2.5 * rows[0]['largest_mb'] # a last.pth with Adam's two moments
    assert rows[1]['run_folder_mb'] - rows[0]['run_folder_mb'] > rows[0]['checkpoints_mb'] / 2
    assert 'run folder takes' in out.read_text()
