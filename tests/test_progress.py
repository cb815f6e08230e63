"""What a practitioner sees: the log of a piped `noisyfast run` (a readable line per epoch, stage and fold,
no raw Recorder lists), log.txt, `--quiet`, the summary's numbers, the sanity warnings on real tiny runs."""
import json, os, re, subprocess, sys
from pathlib import Path
import numpy as np, pandas as pd, pytest

ROOT = Path(__file__).resolve().parent.parent
# digits, 40 % symmetric noise; 300 images, 1 epoch, 2 folds: fold models near chance (too weak, on purpose).
# The runs below pin the quickstart's model of the time they were written for (test_resnet): their premises
# (weak or good fold models, a worse final model) are that model's at these sizes.
NET = 'model.arch=test_resnet'
TINY = ['configs/quickstart.yaml', NET, 'train.stages.0.epochs=1', 'clean.folds=2', 'data.max_train=300',
        'evaluate.robustness=false']
EPOCH = re.compile(r'^\[(?P<name>[\w-]+)\] (?P<where>[\w /]+?) epoch (?P<n>\d+)/(?P<of>\d+)'
                   r'  train_loss (?P<tl>\d+\.\d{4})  valid_loss (?P<vl>\d+\.\d{4})'
                   r'  accuracy (?P<acc>\d\.\d{4})  (?P<s>\d+\.\d) s$')

def cli(tmp, name, *args, first:str=''): # first: Python run before the command (a patched setting)
    "`noisyfast run ...` in a subprocess, stdout piped (not a terminal): its stdout lines and the run folder"
    code = first + 'import sys; from noisyfast.cli import main; sys.exit(main())'
    cmd = [sys.executable, '-c', code, 'run', *args, f'name={name}', f'output_dir={tmp}']
    env = {**os.environ, 'PYTHONPATH': str(ROOT), 'MPLBACKEND': 'Agg'}
    p = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stdout.splitlines(), Path(tmp)/name

@pytest.fixture(scope='module')
def piped(tmp_path_factory): return cli(tmp_path_factory.mktemp('runs'), 'tiny', *TINY)

def test_piped_log_has_a_line_per_epoch_with_stage_and_fold(piped):
    out, rf = piped
    assert not [l for l in out if l.lstrip().startswith('[0, ')], 'raw Recorder lists in the log'
    epochs = [m.groupdict() for m in map(EPOCH.match, out) if m]
    assert [(e['where'], e['n'], e['of']) for e in epochs] == [
        ('train', '1', '1'), ('clean fold 1/2', '1', '1'), ('clean fold 2/2', '1', '1'), ('final', '1', '1')]
    assert {e['name'] for e in epochs} == {'tiny'}
    h = pd.read_csv(rf/'history.csv') # the numbers of the lines are the epochs' numbers
    for e in (epochs[0], epochs[3]):
        row = h[h.run_stage == e['where']].iloc[0]
        want = (f'{row.train_loss:.4f}', f'{row.valid_loss:.4f}', f'{row.accuracy:.4f}')
        assert (e['tl'], e['vl'], e['acc']) == want
    for k, st in enumerate(['data', 'train', 'clean', 'audit', 'final'], 1): # the overall line of each stage
        assert any(l.startswith(f'[tiny] stage {k}/5 {st}, elapsed ') for l in out), st
    fold2 = r'^\[tiny\] clean fold 2/2 1 epoch on 135 images \(stage 3/5 clean, elapsed \d+\.\d s'
    assert any(re.match(fold2, l) for l in out)
    assert any(re.match(r'^\[tiny\] decoded [\d,]+ images in \d+\.\d s$', l) for l in out)
    assert any(re.match(r'^\[tiny\] report written in ', l) for l in out)

def test_long_epochs_and_predictions_say_how_far_they_are(tmp_path):
    ("Piped, an epoch or a prediction that takes longer than `EPOCH_PROGRESS_EVERY` (60 s) says how far it "
     "is, an epoch with where the whole run stands; here every 0 s, so each batch but the last speaks: the "
     "train stage's epoch and its predictions, and the audit's fold models, loaded back from checkpoints")
    every0 = 'import noisyfast.train as t; t.EPOCH_PROGRESS_EVERY = 0\n'
    out, rf = cli(tmp_path, 'every', *TINY, first=every0)
    epoch = re.compile(r'\[every\] train (\d+) of (\d+) batches of epoch 1/1 \(.+/s, about .+ left\); '
                       r'stage 2/5 train, elapsed [^,]+, about .+ left$')
    got = [m.groups() for m in map(epoch.match, out) if m]
    assert len(got) > 1 and got == [(str(k), got[0][1]) for k in range(1, int(got[0][1]))], got
    assert [l for l in out if re.fullmatch(r'\[every\] train \d+ of \d+ batches predicted \(.+\)', l)], out
    audit = out[out.index(next(l for l in out if l.startswith('[every] stage 4/5 audit'))):]
    audit = audit[:audit.index(next(l for l in audit if l.startswith('[every] audit: ')))]
    assert [l for l in audit if re.fullmatch(r'\[every\] \d+ of \d+ batches predicted \(.+\)', l)], audit
    said = sum(' batches predicted (' in l for l in out)
    assert (rf/'log.txt').read_text().count(' batches predicted (') == said # log.txt has them too

def test_piped_summary_and_metrics_lines_read_for_people(piped):
    out, rf = piped
    m = json.loads((rf/'metrics.json').read_text())
    head = next(i for i, l in enumerate(out) if l.startswith('tiny: summary'))
    table = out[head + 1:head + 6]
    assert not [l for l in table if 'None' in l or re.search(r'\b\d+\.0000\b', l)], table
    clean_row = next(l for l in table if l.startswith('clean')).split()
    # train_size, flagged as integers, then precision, recall; seconds as `2.3 s`
    assert clean_row[1:3] == [str(m['clean']['train_size']), str(m['clean']['flagged'])], clean_row
    assert clean_row[-1] == 's' and clean_row[-2] == f"{m['clean']['seconds']:.1f}"
    line = next(l for l in out if l.startswith('[tiny] clean: flagged'))
    c = m['clean']
    assert line.startswith(f"[tiny] clean: flagged {c['flagged']}, checked {c['checked']}, ")
    assert f"seconds {m['clean']['seconds']:.1f} s" in line and '.0000' not in line, line

def test_log_txt_holds_the_same_lines(piped):
    out, rf = piped
    log = (rf/'log.txt').read_text().splitlines()
    assert [l for l in log if l] == [l for l in out if l]

def test_weak_fold_models_warn(piped):
    "1-epoch fold models on 135 images are near chance: the warning fires, with each fold's held-out accuracy"
    from noisyfast.clean import kfold_indices
    out, rf = piped
    m = json.loads((rf/'metrics.json').read_text())
    chk = pd.read_csv(rf/'clean'/'checked_labels.csv')
    probs, y = np.load(rf/'clean'/'probs.npy'), chk.label.to_numpy()
    folds = kfold_indices(y, 2, seed=42) # the quickstart's seed
    want = [float((probs[te].argmax(1) == y[te]).mean()) for _, te in folds]
    assert [a['given'] for a in m['clean']['fold_accuracy']] == pytest.approx(want)
    line = np.bincount(y).max() / len(y) * 0.75 + 0.25 # a quarter of the way from majority-class to 1
    # planted noise: the true labels are known, and the accuracy on them is what is judged
    true = [a['true'] for a in m['clean']['fold_accuracy']]
    assert max(true) < line # the condition holds...
    weak = [w for w in m['warnings'] if w.startswith('the fold models are too weak')] # ...and it fires
    assert weak and 'on the true labels' in weak[0] and f'{true[0]:.4f} (fold 1)' in weak[0], weak
    assert any(l.startswith('[tiny] warning: the fold models are too weak') for l in out)
    assert '**Warning:** the fold models are too weak' in (rf/'report.md').read_text().split('## ')[0]

def test_quiet_prints_only_warnings_and_the_report(piped, tmp_path):
    loud, _ = piped
    out, rf = cli(tmp_path, 'tiny', *TINY, '--quiet')
    assert len(out) < len(loud) / 5, out
    assert [l for l in out if not l.startswith('[tiny] warning: ')] == [f'report: {rf/"report.md"}']
    log = (rf/'log.txt').read_text().splitlines() # everything still in log.txt
    assert sum(bool(EPOCH.match(l)) for l in log) == 4

@pytest.mark.slow
def test_too_many_flagged_warns(tmp_path):
    "No noise, good fold models, `predicted_neq_given`: each fold-model mistake is flagged, over the estimate"
    out, rf = cli(tmp_path, 'flags', 'configs/quickstart.yaml', NET, 'noise.kind=none', 'noise.rate=0',
                  'clean.filter_by=predicted_neq_given', 'train.baseline=false', 'final.enabled=false',
                  'evaluate.robustness=false', 'data.max_train=1000', 'clean.epochs=6', '--quiet')
    m = json.loads((rf/'metrics.json').read_text())
    c = m['clean']
    assert c['flagged'] > 1.5 * c['estimated_noise_rate'] * c['checked'] # the condition holds
    assert min(a['given'] for a in c['fold_accuracy']) > 0.8 # good fold models: not the weak warning
    assert len(m['warnings']) == 1
    assert m['warnings'][0].startswith(f"cleaning flagged {c['flagged']} of 900 labels")
    assert out == [f"[flags] warning: {m['warnings'][0]}", f'report: {rf/"report.md"}']

@pytest.mark.slow
def test_final_worse_than_baseline_warns(tmp_path):
    "Weak fold models (400 images, 2 folds) flag most labels: the final model trains on the few left: worse"
    out, rf = cli(tmp_path, 'worse', 'configs/quickstart.yaml', NET, 'clean.folds=2', 'data.max_train=400',
                  'evaluate.robustness=false', '--quiet')
    m = json.loads((rf/'metrics.json').read_text())
    b, f, n = m['train']['valid_accuracy_true'], m['final']['valid_accuracy_true'], 40 # 10 % of 400 for valid
    assert f < b - 2 * np.sqrt((b * (1 - b) + f * (1 - f)) / n) # the condition holds
    want = (f'the final model is worse than the baseline on the validation split (valid_accuracy_true '
            f'{f:.4f} < {b:.4f} on {n} images, more than 2 standard errors apart): cleaning did not help; '
            "see the clean stage's numbers (fold_accuracy, flagged) in the report, or use the baseline's "
            'model (noisyfast predict --stage train)')
    assert m['warnings'][-1] == want
    assert f'[worse] warning: {want}' in out
    assert f"**Warning:** {want}" in (rf/'report.md').read_text().split('## ')[0]
