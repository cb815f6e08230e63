"bench/rerun_photos.py end to end (small photos): a folder run twice by a commit's files and by this checkout"
import sys
from pathlib import Path
import pytest

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT/'bench'))
import rerun_photos as bench

@pytest.mark.slow
def test_second_runs_read_every_image_back(archive):
    "HEAD as the commit before (a shallow clone has no older one): both sides' second runs decode nothing"
    rows = bench.main(['--smoke', '--photos', '8', '--formats', 'heic', '--before', 'HEAD'])
    assert [(r['side'], r['run']) for r in rows] == [('before (HEAD)', 1), ('before (HEAD)', 2), ('after', 1),
                                                     ('after', 2)], rows
    # each side has its own empty cache: its first run decodes all 8 photos, its second none
    assert [r['from_cache'] for r in rows] == [0, 8, 0, 8], rows
    # a first run's check decodes each HEIC once, and training takes that decode (`data.HANDED`)
    assert [r['from_check'] for r in rows] == [8, 0, 8, 0], rows
    assert all(r['wall_s'] > r['load_s'] + r['decode_s'] for r in rows), rows
    assert bench.seconds('3 min 05 s') == 185 and bench.seconds('12.7 s') == 12.7
