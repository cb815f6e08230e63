"The audit stage through `noisyfast audit` on real images: it agrees with the clean stage and the files"
import numpy as np
from PIL import Image
from reliability_helpers import main_inproc, make_folder, run_config

def _audit(tmp_path, data, **kw):
    "`noisyfast audit` of a tiny run config; the run folder"
    from noisyfast.runs import RunFolder
    f = run_config(tmp_path, data=data, clean=dict(enabled=True, folds=2), **kw)
    rc, out, err, sec = main_inproc('audit', f)
    assert rc == 0, err
    return RunFolder(tmp_path/'out'/'r-audit'), out

def test_audit_subset_flags_what_the_clean_stage_flagged(tmp_path, archive):
    ("With audit.max_images below the train split, the audit's label flags are the clean stage's own (not "
     "cleanlab's again on the subset, with other quotas), and the subset holds every class")
    rf, out = _audit(tmp_path, dict(name='digits', max_train=600), noise=dict(kind='symmetric', rate=0.4),
                     audit=dict(max_images=120))
    iss, clean = rf.read('audit_issues'), rf.read('all_labels', 'clean').set_index('index')
    assert len(iss) == 120 < len(clean)
    assert (iss.is_label_issue.to_numpy() == clean.loc[iss['index'], 'flagged'].to_numpy()).all()
    assert 10 < iss.is_label_issue.sum() < 120 # 40 % noise: the subset has flags of its own to agree on
    assert sorted(set(iss.given)) == sorted(set(clean.given)) # stratified: every class
    assert f"label {int(iss.is_label_issue.sum())}" in out

def test_audit_odd_size_and_unchecked_leaks(tmp_path, archive):
    ("A folder of 32 px photos with one 200×40 file: odd_size flags that file (the stage reads the files' "
     "sizes); with audit.checks leaving out near_duplicate, leaks are not said to be 0")
    root = make_folder(tmp_path/'photos', per_class=20)
    wide = []
    for d in sorted(p for p in root.iterdir()): # one 200×40 file per class
        first = sorted(d.glob('*.png'))[0]
        wide.append(d/'zz_wide.png'); Image.open(first).resize((200, 40)).save(wide[-1])
    rf, out = _audit(tmp_path, dict(name='folder', path=str(root), valid_pct=0.1, test_pct=0.2),
                     audit=dict(checks=['odd_size', 'label']))
    iss, summ = rf.read('audit_issues'), rf.read('audit_summary').set_index('issue')
    lab = rf.read('all_labels', 'clean').set_index('index')
    odd = sorted(lab.path[iss['index'][iss.is_odd_size_issue]])
    assert odd == sorted(p for p in lab.path if p.endswith('zz_wide.png')) and len(odd) >= 1, odd
    assert 'train_test_leak' not in summ.index and 'train_test_leak' not in out, out
    report = rf.file('report').read_text()
    assert 'Train/test leaks (train images with a near-duplicate in the test split): not checked' in report
