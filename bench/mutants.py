"""Mutation testing: plant plausible bugs one at a time and check that the test suite notices.

Each mutant is a one-place edit of an `#| export` cell of a notebook (the source of truth), followed by
`nbdev-export`, in a scratch copy of the repository; then the tests named for it run (notebooks through
`nbdev-test`, pytest node ids through pytest). The mutant is *killed* when any of them fails. The script
prints a table and writes results/cpu-mutants.md (.json), with the kill rate (`--out`: another stem; a run
with `--only` writes a file only when given `--out`).

    python bench/mutants.py                  # every mutant
    python bench/mutants.py --only oof_leak  # some of them
    python bench/mutants.py --list           # what each one plants
    python bench/mutants.py --baseline       # first check that the unmutated copy passes every test used
    python bench/mutants.py --only a b --out bench/results/cpu-mutants-x  # a partial run, in its own file
"""
from __future__ import annotations
import argparse, json, os, re, shutil, subprocess, sys, tempfile, time
from dataclasses import dataclass, field
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from _common import RESULTS, cell, tree_env, write_results
from noisyfast.report import md_table

ROOT = Path(__file__).resolve().parent.parent

@dataclass
class Mutant:
    name: str # short id
    nb: str # the notebook whose export cell is changed, e.g. '07_clean'
    old: str # text of that cell to replace (must occur exactly once in the notebook's export cells)
    new: str # what the bug looks like
    tests: list # notebooks ('nbs/07_clean.ipynb') and pytest node ids ('tests/test_resume.py::test_x')
    why: str = '' # the plausible bug in words

MUTANTS = [] # filled below, one entry per planted bug

def add(name, nb, old, new, tests, why): MUTANTS.append(Mutant(name, nb, old, new, list(tests), why))

# ---------------------------------------------------------------- the planted bugs
RESUME = 'tests/test_resume.py::test_sigkill_during_clean_then_resume'
add('oof_leak', '07_clean', 'train=train.subset(tr), arrays=arrays,\n',
    'train=train, arrays=arrays,\n', ['nbs/07_clean.ipynb'],
    'fold models trained on the whole split (out-of-fold leak)')
add('folds_refit_on_resume', '07_clean', '            if f.exists():\n                if done',
    '            if False:\n                if done',
    ['nbs/07_clean.ipynb', RESUME], 'resume re-trains the finished folds')
add('fold_fingerprint_ignored', '07_clean', '    if old == fp or not rank0(): return barrier()',
    '    return barrier()',
    ['nbs/07_clean.ipynb'], 'fold files of another config or data reused')
add('strikes_any_votes', '07_clean', 'flip = dis & (votes[rows, p] >= strikes)',
    'flip = dis & (votes.sum(1) >= strikes)', ['nbs/07_clean.ipynb'],
    'a label changes after k disagreements that disagree with each other')
add('relabel_threshold_ignored', '07_clean', "ok = flag & (issues['suggested_prob'] >= cc.relabel_threshold)",
    'ok = flag', ['nbs/07_clean.ipynb'], 'clean.relabel_threshold ignored')
add('unlabel_drops_images', '07_clean',
    'unl = concat_splits(data.unlabeled, moved) if len(data.unlabeled) else moved', 'unl = data.unlabeled',
    ['nbs/07_clean.ipynb', 'nbs/10_pipeline.ipynb'], "clean.action: unlabel throws the images away")
add('detection_vs_original', '07_clean', 'detection=detection_metrics(res.flagged, chk.y, chk.y_true)',
    'detection=detection_metrics(res.flagged, train.y, train.y_true)', ['nbs/07_clean.ipynb'],
    'strikes: flags scored against the labels before relabeling')
add('pseudo_baseline_every_round', '06_pseudo', 'probs = predict(cur, data.unlabeled)',
    'probs = predict(start, data.unlabeled)', ['nbs/06_pseudo.ipynb'],
    'every pseudo round labels with the baseline model')
add('pseudo_threshold_ignored', '06_pseudo', 'keep = np.flatnonzero(conf >= threshold)',
    'keep = np.arange(len(conf))', ['nbs/06_pseudo.ipynb'], 'pseudo.threshold ignored')
add('pseudo_init_ignored', '06_pseudo', "init = cur.weights if pc.init == 'previous' else None",
    'init = None',
    ['nbs/06_pseudo.ipynb'], "pseudo.init: previous starts each round from scratch")
add('stages_at_last_size', '05_train', 'size = st.size or inp.tx.shape[1]',
    'size = tc.stages[-1].size or inp.tx.shape[1]', ['nbs/05_train.ipynb'],
    'every progressive-resizing stage trains at the last size')
add('timm_two_groups', '12_models',
    'return [flat(groups[:k]), flat(groups[k:]), list(model[1:].parameters())]',
    'return [flat(groups), list(model[1:].parameters())]', ['nbs/12_models.ipynb', 'nbs/05_train.ipynb'],
    "timm models split in two: the whole body at the lowest lr")
add('weights_count_batches', '03_losses', "n = getattr(self.dls.train, 'n', None)", 'n = len(self.dls.train)',
    ['nbs/03_losses.ipynb', 'nbs/05_train.ipynb'], 'per-sample weights checked against the number of batches')
add('warmup_restarts_each_fit', '03_losses', "    def before_fit(self):\n        n = getattr",
    "    def before_fit(self):\n        self.epochs_done = 0\n        n = getattr",
    ['nbs/03_losses.ipynb', 'nbs/05_train.ipynb'], 'the loss-weight warm-up restarts at every fit call')
add('nan_not_stopped', '05_train', '        if torch.isfinite(self.loss).all(): return',
    '        return', ['nbs/05_train.ipynb'], 'training goes on after the loss turned NaN')
add('perturb_clamps_all', '08_evaluate', 'y = torch.where(on.view(-1, 1, 1, 1), y.to(x.dtype), xp)',
    'y = y.to(x.dtype)', ['nbs/08_evaluate.ipynb'], 'RandomPerturb clamps the images it does not perturb')
add('precision_recall_swapped', '08_evaluate', 'prec, rec = _ratio(tp, tp + fp), _ratio(tp, tp + fn)',
    'prec, rec = _ratio(tp, tp + fn), _ratio(tp, tp + fp)', ['nbs/08_evaluate.ipynb'],
    'detection precision and recall swapped')
add('noise_remainders_to_first', '02_noise',
    "    hit = np.searchsorted(edges, rng.random() + np.arange(left), side='right')",
    "    order, hit = np.argsort(k - x, kind='stable'), np.arange(left) "
    "# largest remainders, ties to class 0",
    ['nbs/02_noise.ipynb'], 'noise counts rounded the same way for every seed')
add('symmetric_flips_to_itself', '02_noise', 'yn[order[:k]] = other[:k] + (other[:k] >= c)',
    'yn[order[:k]] = other[:k]', ['nbs/02_noise.ipynb'],
    'symmetric noise can "flip" a label to its own class')
add('verify_images_dropped', '02_noise',
    'src = verify_images(src, skip_bad=d.skip_bad, known=KnownImages() if d.cache else None, counter=counter,\n'
    '                        decode_to=decode_to)',
    'src = src',
    ['nbs/02_noise.ipynb', 'tests/test_bad_data.py'], 'unreadable images reach training unchecked')
add('valid_outside_label_budget', '01_data',
    'lab, unl = _keep_labels(whole, n_lab, seed + 5) # valid out of them: the label budget includes it\n'
    '    vi = stratified_take(lab.y, valid_pct, seed + 4)\n'
    '    if len(vi) == 0 and len(lab) > 1: # under one valid image per class: a count instead, at least one\n'
    '        vi = stratified_take(lab.y, max(1, round(valid_pct * len(lab))), seed + 4)\n'
    '    return lab.subset(_rest(len(lab), vi)), lab.subset(vi), unl',
    'vi = stratified_take(whole.y, valid_pct, seed + 4)\n    valid, rest = whole.subset(vi), '
    'whole.subset(_rest(len(whole), vi))\n    train, unl = _keep_labels(rest, n_lab, seed + 5)\n'
    '    return train, valid, unl',
    ['nbs/01_data.ipynb'], 'valid labels come on top of data.n_labeled')
add('first_image_sets_size', '01_data',
    'h, w = (sorted(s[i] for s in hws)[(len(hws) - 1) // 2] for i in (0, 1))',
    'h, w = hws[0]', ['nbs/01_data.ipynb', 'tests/test_hardening.py'],
    'the first image (1×1, say) sets the size of every image')
add('nonfinite_accepted', '00_config', "        if not math.isfinite(v): raise bad('a finite number')\n", '',
    ['nbs/00_config.ipynb', 'tests/test_bad_config.py'], 'NaN / inf config values pass the check')
add('duplicate_keys_kept', '00_config', '            if first is not None:', '            if False:',
    ['nbs/00_config.ipynb', 'tests/test_hardening.py'], 'a key given twice silently keeps the last value')
add('write_not_atomic', '00_config',
    "            with open(tmp, 'wb') as f: yield f\n            os.replace(tmp, path)",
    "            with open(path, 'wb') as f: yield f",
    ['tests/test_resume.py::test_atomic_writes_survive_sigkill_mid_write'],
    'run files written in place (a kill leaves half a file)')
add('half_made_folder_kept', '02a_runs',
    "                shutil.rmtree(rf.path, ignore_errors=True)", "                pass",
    ['nbs/02a_runs.ipynb', 'tests/test_hardening.py'],
    'a run that dies at its start leaves a half-made run folder')
add('report_failure_swallowed', '10_pipeline', "    except Exception as e: # the results are on disk",
    "    except Exception as e:\n        return metrics\n"
    "    except ValueError as e: # the results are on disk",
    ['nbs/10_pipeline.ipynb'], 'a failing report is swallowed and the run exits 0')
add('final_init_ignored', '10_pipeline',
    "weights = ctx.run.weights(init) if init in ('train', 'pseudo') else init", 'weights = None',
    ['nbs/10_pipeline.ipynb'], 'final.init: train starts the final model from scratch')
add('grid_ignores_set', '10a_sweep', "list(overrides or []) + extra + [f'name={name}'",
    "list(overrides or []) + [f'name={name}'", ['tests/test_grid.py'],
    '`noisyfast grid --set` values never reach the runs')

# ------------------------------------------------------------ divide, consensus labels, tracking, history.csv
DIV, ANN = 'nbs/07a_divide.ipynb', 'nbs/14_annotators.ipynb'
TRACK, CLEAN = 'nbs/05a_track.ipynb', 'nbs/07_clean.ipynb'
add('reselect_flag_ignored', '07a_divide', 'if not self.reselect or self.epoch < w: return 1.',
    'if self.epoch < w: return 1.', [DIV],
    'divide without a clean stage re-selects the trusted labels from the teacher (reselect=False ignored)')
add('blend_off_by_one', '07a_divide', '0.5 * (1 - (self.epoch - w) / max(self.n_epoch - w, 1))',
    '0.5 * (1 - (self.epoch - w + 1) / max(self.n_epoch - w, 1))', [DIV],
    "the teacher's share of the re-selection probabilities one epoch ahead (off by one)")
add('quota_truncated', '07a_divide', "    return max(int(round((1 - rate) * n)), ",
    "    return max(int((1 - rate) * n), ",
    [DIV], 'per-class quotas truncated, not rounded (0.1 × 10 images keeps 0)')
add('agree_ignored', '07a_divide',
    'kept = (kept | lab & (pred == given) & (conf >= agree_conf)) & ~relabeled', 'kept = kept & ~relabeled',
    [DIV], 'divide.agree_conf ignored: confident agreements beyond the quota not kept')
add('recall_over_kept', '07a_divide', 'kept_recall=float((sel.kept & right).sum() / max(right.sum(), 1))',
    'kept_recall=float((sel.kept & right).sum() / max(sel.kept.sum(), 1))', [DIV],
    'kept recall divided by the kept images (a second precision)')
add('ema_warmup_unused', '07a_divide', 'ema_update(self.teacher, self.student, self.decay_at(self.step))',
    'ema_update(self.teacher, self.student, self.decay)', [DIV],
    'the EMA decay warm-up computed but not used: the teacher stays at its random start')
add('validate_on_student', '07a_divide',
    'def before_validate(self): self.trained, self.learn.model = self.learn.model, self.teacher',
    'def before_validate(self): self.trained = self.learn.model', [DIV],
    'validation (and so checkpoints) use the student, not the EMA teacher')
add('fixmatch_mean_over_mask', '07a_divide',
    "return (F.cross_entropy(logits.float(), target, reduction='none') * mask).mean(), mask",
    "return (F.cross_entropy(logits.float(), target, reduction='none') * mask).sum() / "
    "mask.sum().clamp(min=1), mask", [DIV],
    'the FixMatch loss averaged over the confident images, not the batch')
add('epoch_tick_plain', '07a_divide', 'EpochLine(log, dc.epochs, cost=divide_cost(dc), line=False)',
    'EpochLine(log, dc.epochs, line=False)', [DIV],
    'a divide epoch counted as one plain epoch in the time-left estimate')
add('divide_init_ignored', '07a_divide',
    "weights = ctx.run.weights('train') if ctx.cfg.divide.init == 'train' else None", 'weights = None',
    [DIV, 'tests/test_divide_data.py::test_divide_init_train_starts_from_the_baseline'],
    'divide.init: train starts the divide model from scratch')
add('divide_skips_run_callbacks', '07a_divide', 'cbs=[*cbs, ck, nan, *fit_call_cbs(folder)])',
    'cbs=[*cbs, ck, nan])', [DIV, 'nbs/10_pipeline.ipynb'],
    "the run's trackers and user callbacks never reach the divide fit")
add('divide_plan_says_cleaned', '07a_divide', 'cleaned=probs is not None))', 'cleaned=True))',
    ['tests/test_semi_supervised.py::test_run_keeps_every_label_and_learns_the_pool'],
    'a divide run without a clean stage says its labels are re-selected')
add('history_keeps_stage_rows', '02a_runs', 'old = old[old.run_stage != stage] if len(old) else old',
    'old = old',
    ['nbs/02a_runs.ipynb'], "a stage's history.csv rows written again (a resumed stage) are kept twice")
add('consensus_majority', '14_annotators', 'col[lab] = c.labels', 'col[lab] = c.majority', [ANN],
    'noise.column: crowdlab trains on the majority vote, not the CROWDLAB consensus')
add('consensus_train_only', '14_annotators', 'i = np.concatenate([data.train.idx, data.valid.idx])',
    'i = data.train.idx', [ANN], 'the consensus leaves out the valid images (they keep an annotator label)')
add('csv_overwrites_each_fit', '05a_track', "self.file = f.open('a' if self.n else 'w')",
    "self.file = f.open('w')", [TRACK], 'the CSV tracker keeps only the last fit call of a training')
add('clean_history_folds_from_0', '07_clean', "files = ([(k + 1, fold_file(d, 'history', k))",
    "files = ([(k, fold_file(d, 'history', k))", [CLEAN], "history.csv's fold column off by one (0..K-1)")
add('weak_fold_on_given', '07_clean', "on = 'true' if fa and all('true' in a for a in fa) else 'given'",
    "on = 'given'", [CLEAN], 'weak fold models judged on the given labels even when the true ones are known')
add('relabel_unlabeled', '07a_divide', 'relabeled = lab & (pred != given) & (conf >= relabel_conf)',
    'relabeled = (pred != given) & (conf >= relabel_conf)', [DIV],
    'images without a label are "relabeled" (they leave the unlabeled pool with the prediction as a label)')
add('relabel_conf_ignored', '07a_divide', 'relabeled = lab & (pred != given) & (conf >= relabel_conf)',
    'relabeled = lab & (pred != given)', [DIV], 'divide.relabel_conf ignored: every disagreement relabeled')
add('tb_steps_restart', '05a_track', 'def train_iter(self): return self.steps + self.learn.train_iter',
    'def train_iter(self): return self.learn.train_iter', [TRACK],
    "TensorBoard's step restarts at each fit call (a later stage's curve overwrites the first's)")
add('tb_keeps_old_curves', '05a_track', 'if not self.steps: # a fit that starts again',
    'if False: # a fit that starts again', [TRACK],
    "a resumed fit's TensorBoard curves are written beside the killed run's (two curves per tag)")
add('fit_name_flat', '05a_track',
    'try: return Path(folder).resolve().relative_to(Path(root).resolve()).as_posix()',
    'try: return Path(folder).name', [TRACK],
    "a fit's log name is its folder's last part (folds of clean and divide collide)")

# ------------------------------------------------------------ session 7: divide under --processes N, the fold
# fingerprint, one decode shape for cached and uncached images, divide.kept_weight
DIST = 'tests/test_distributed.py::test_divide_in_two_processes' # ~60 s: a real 2-process run
add('draws_same_slice', '07a_divide', '        return torch.cat(out)[r * n:(r + 1) * n]',
    '        return torch.cat(out)[:n]', [DIV],
    'every process draws the same unlabeled images (not disjoint slices of the global draw)')
add('g_pool_separate', '07a_divide',
    'self.g_pool = self.g if world() == 1 else torch.Generator().manual_seed(seed)',
    'self.g_pool = torch.Generator().manual_seed(seed)', [DIV],
    "one process keeps a second generator for the pool's order (a seed no longer gives its old results)")
add('counters_not_summed', '07a_divide',
    '    c = summed(self.n_seen, self.n_mask, self.n_mask_known, self.n_mask_right)',
    '    c = (self.n_seen, self.n_mask, self.n_mask_known, self.n_mask_right)', [DIST],
    "stats.csv's seen / mask counts are rank 0's share, not the sums over the processes")
add('selection_not_broadcast', '07a_divide', '    sel = Selection(*(from_rank0(np.asarray(v)) for v in',
    '    sel = Selection(*(np.asarray(v) for v in', [DIST],
    "rank 0's selection not sent: the other processes train on their placeholder selection")
add('weights_not_broadcast', '07a_divide',
    "    return sel, (from_rank0(w) if self.kept_weight == 'prob' else None)",
    "    return sel, (w if self.kept_weight == 'prob' else None)", [DIST],
    "rank 0's kept weights not sent: the other processes weight their labels by zeros")
add('ddp_no_reshard', '02b_distrib',
    '        self.learn.dl = self.learn.dls.loaders[0] = shard(self.dls.loaders[0])', '        pass',
    [DIST], "the train loader Reselect re-makes each epoch is not sharded: every process trains on all of it")
add('same_buffers_skipped', '07a_divide',
    "        same_buffers(self.student) # several processes: rank 0's BatchNorm statistics, so one teacher "
    "in all\n", '', [DIST],
    "each process's own BatchNorm statistics go into its EMA teacher: the teachers drift apart")
add('kept_weights_unnormalized', '07a_divide',
    '    return (p / m if m > 0 else lab.astype(np.float64)).astype(np.float32)',
    '    return (p if m > 0 else lab.astype(np.float64)).astype(np.float32)', [DIV],
    'kept weights are the raw probabilities, not divided by their mean over the kept set (mean 1)')
add('weights_batch_order', '07a_divide', 'self.kw.to(y.device)[idx.to(y.device)]',
    'self.kw.to(y.device)[:len(y)]', [DIV],
    "a batch's label weights taken by its position in the batch, not by its items' indices")
add('mixup_weights_unpermuted', '07a_divide', 'self.wmix = self.wl[perm.to(y.device)]',
    'self.wmix = self.wl', [DIV], "MixUp's second labels weighted by the first images' weights")
add('fold_neutral_truthy', '07_clean',
    '            if json.dumps(h[k], default=str) == json.dumps(v, default=str): del h[k]',
    '            if not h[k]: del h[k]', [CLEAN],
    'a FOLD_NEUTRAL key left out of the fingerprint at any false value (False, 0, []), not only at its own')
add('cache_key_hashed', '07_clean',
    "    'data.cache': 'the disk cache decodes at the shape and mode an uncached run does (files_shape): '\n"
    "                  'the same pixels, sooner',\n", '', [CLEAN],
    'data.cache not declared inert: turning the disk cache on or off recomputes every fold')
add('files_shape_first', '01_data',
    '    hw = _hw(size) or (hw if len(x) == 1 else native_size(x, n_workers))', '    hw = _hw(size) or hw',
    ['nbs/01_data.ipynb'], "files of several sizes decoded at the first image's size, not the median")
add('miss_mode_first', '04_loaders', "        mode = 'gray' if disk.shape[2] == 1 else 'rgb'",
    '        mode = self.channels', ['nbs/04_loaders.ipynb'],
    "images missing from the disk cache decoded in the mode of the first missing one (channels: auto)")
add('drop_last_per_process', '07a_divide', 'drop_last=len(keep) > dl.bs * world())',
    'drop_last=len(keep) > dl.bs)', [DIV],
    'the re-made loader drops its last batch when one process\'s batch fits, not the global one (a train '
    'split under bs × processes: no step at all)')
add('pin_loader_unpinned', '07_clean',
    '    return dataclasses.replace(cfg, data=dataclasses.replace(cfg.data, '
    'loader=resolve_loader(cfg, data)))', '    return cfg', [CLEAN],
    "data.loader: auto left unresolved for the fold models: each fold picks its loader again (free "
    "memory may have changed), not the one the fingerprint hashed")
add('train_bs_final_unchecked', '10_pipeline',
    'if tc.baseline or cfg.pseudo.rounds or cfg.final.enabled or (cc.enabled and not cc.oof):',
    'if tc.baseline or cfg.pseudo.rounds or (cc.enabled and not cc.oof):', ['nbs/10_pipeline.ipynb'],
    'with --processes N, an odd batch of a run whose only data-parallel fit is the final stage is refused '
    'only when that fit starts, after the clean stage')
add('train_bs_first_stage_only', '10_pipeline',
    'for i, st in enumerate(tc.stages): rank_bs(st.bs or tc.bs, i)',
    'for i, st in enumerate(tc.stages[:1]): rank_bs(st.bs or tc.bs, i)', ['nbs/10_pipeline.ipynb'],
    "only the first train stage's batch checked before training (a later stage's bs refused mid-run)")
add('noise_estimate_ignored', '07a_divide', "calibrate=cfg.divide.noise_estimate == 'calibrated'))",
    'calibrate=True))', [DIV], 'divide.noise_estimate: confident ignored: the quotas stay calibrated')
add('pool_targets_ignored', '07a_divide',
    "temperature=dc.temperature if dc.pool_targets == 'soft' else None)", 'temperature=None)', [DIV],
    'divide.pool_targets: soft ignored: the pool still learns hard thresholded targets')
add('soft_unsharpened', '07a_divide', 'return (p.float().clamp_min(1e-12).log() / temperature).softmax(1)',
    'return p.float()', [DIV], "divide.temperature ignored: soft targets are the teacher's raw probabilities")
add('soft_thresholded', '07a_divide', '    return soft_loss(logits, self.tp, self.temperature)',
    '    return fixmatch_loss(logits, sharpen(self.tp, self.temperature), self.thr)[0]', [DIV],
    'soft targets sharpened, then held to the threshold as hard ones: the unsure pool images add nothing')
add('covered_not_reduced', '02b_distrib', '    dist.all_reduce(t, op=dist.ReduceOp.MAX)\n', '', [DIST],
    "each process counts only the pool images it drew itself as covered (stats.csv's covered halves with "
    "2 processes)")

FULL_RUN, FULL_CACHE = ('tests/test_disk_full.py::test_run_on_a_full_disk_then_again_with_room',
                        'tests/test_disk_full.py::test_image_cache_on_a_full_disk')
add('cache_not_reserved', '04_loaders', '        _reserve(self.path, pos, int(np.prod(self.shape)))\n', '',
    ['nbs/04_loaders.ipynb', FULL_CACHE], 'decoded images written to the sparse cache file without reserving '
    'their blocks: a full disk kills the process with a bus error')
add('checkpoint_by_name', '05_train', 'with atomic_file(path) as f: torch.save(obj, f)',
    'with atomic_file(path) as f: torch.save(obj, f.name)', ['nbs/05_train.ipynb', FULL_RUN],
    "torch.save given the temporary file's name: a full disk is a RuntimeError with no OSError, a traceback")
add('full_disk_chain_ignored', '00_config', '        e = e.__cause__ or e.__context__', '        e = None',
    ['nbs/00_config.ipynb', 'nbs/11_cli.ipynb'],
    "only an OSError itself is a full disk: torch's RuntimeError around one is a traceback")
add('fastai_prefix_kept', '11_cli',
    "    return s.rsplit('\\n\\t', 1)[-1] if s.startswith('Exception occured in `') else s", '    return s',
    ['nbs/11_cli.ipynb'],
    "an error raised in a callback printed with fastai's 'Exception occured in ...' line before it")

add('optimizer_always_saved', '05_train', "        if self.with_opt and getattr(self, '_meta', None)",
    "        if getattr(self, '_meta', None)", ['nbs/05_train.ipynb'],
    "train.save_optimizer ignored: every last.pth keeps the optimizer's state (3x its size)")

# ------------------------------------------------------------ session 11: noisyfast predict
PRED, PRED_CLI = 'nbs/15_predict.ipynb', 'tests/test_cli.py::test_predict_after_a_run_with_divide'
add('decoded_shape_ignored', '15_predict', '    if m.decoded is not None: size, mode',
    '    if False: size, mode', [PRED],
    "new files decoded to their own median size and channels, not to the run's own decoded shape")
add('decoded_shape_not_saved', '05_train',
    '                decoded=None if decoded is None else [int(s) for s in decoded]',
    '                decoded=None', [PRED], 'checkpoints do not record the decoded image shape')
add('first_stage_model', '15_predict', '    if stage is None: return have[-1]',
    '    if stage is None: return have[0]', [PRED, PRED_CLI],
    "predict uses the baseline's model instead of the run's last (divide, final)")
add('bad_file_shifts_rows', '15_predict',
    '        probs[[s + i for i in range(len(files[s:s + chunk])) if i not in bad]] = p',
    '        probs[s:s + len(p)] = p', [PRED],
    'after an unreadable file, every later file gets the prediction of the file after it')
add('audit_rows_shifted', '15_predict',
    "    audit.loc[ok, 'quality'], audit.loc[ok, 'suspect'] = tab.quality.to_numpy(), tab.suspect.to_numpy()",
    "    audit.loc[:ok.sum() - 1, 'quality'], audit.loc[:ok.sum() - 1, 'suspect'] = tab.quality.to_numpy(), "
    "tab.suspect.to_numpy()", [PRED], 'after an unreadable file, the label verdicts land on the wrong files')
add('audit_against_predictions', '15_predict', '        s, tab = audit_test_labels(given[ok], pr.probs[ok])',
    '        s, tab = audit_test_labels(pr.probs[ok].argmax(1), pr.probs[ok])', [PRED],
    '--labels folders checks the predictions against themselves, not against the known labels')
add('predict_overwrites', '11_cli', '    if out is not None and out.exists() and not args.overwrite:',
    '    if False:', [PRED], 'noisyfast predict replaces an existing predictions file without --overwrite')

# ------------------------------------------------------------ session 12: processes starting together
add('extract_without_lock', '01_data',
    "    with FileLock(dest.with_name(dest.name + '.lock')): # the others wait, then find the marker",
    '    if True:', ['nbs/01_data.ipynb'],
    'processes extracting one archive at once clear each other\'s half-extracted folder (ranks of a '
    'multi-GPU run, parallel notebooks)')

add('report_source_per_gallery', '09_report', "    if '_source' not in r:", '    if True:',
    ['nbs/09_report.ipynb'], "the report loads the run's data set again for every gallery (a CIFAR-10 "
    'report: 3 loads of 50,000 file paths)')

add('fold_checkpoints_all_kept', '07_clean',
    '            drop_spare_checkpoints(r, keep_last=cfg.train.save_optimizer)',
    '            pass', ['nbs/07_clean.ipynb'],
    "every fold model keeps each stage's best and last checkpoints that nothing reads (most of a run folder)")
add('fold_checkpoint_kept_wrong', '07_clean',
    "    keep = {end, checkpoint_file(end.parent, 'last')} if keep_last else {end}",
    "    keep = {checkpoint_file(end.parent, 'last')}", ['nbs/07_clean.ipynb', 'nbs/13_audit.ipynb'],
    'a fold keeps its last.pth, not the checkpoint it ended with (train.load: best) that the audit reads')

add('stale_temps_kept', '02a_runs', '        for p in stale_temp_files(self.path): p.unlink(missing_ok=True)',
    '        pass', ['nbs/02a_runs.ipynb'],
    "a resumed run keeps the half-written temporary files of the writes a kill interrupted")

TURNED = 'tests/test_bad_data.py::test_photos_stored_turned_train_as_shown'
add('exif_ignored', '01_data', '    return im if _orientation(im) == 1 else ImageOps.exif_transpose(im)',
    '    return im', ['nbs/01_data.ipynb', TURNED],
    'photos stored turned with an EXIF orientation tag are decoded as stored, not as they are shown')
add('exif_size_as_stored', '01_data', '    return (w, h) if _quarter_turned(im) else (h, w)',
    '    return (h, w)', ['nbs/01_data.ipynb', TURNED],
    "a photo stored turned a quarter is sized by its stored height and width, not the shown ones")
add('exif_fastai_loader', '04_loaders',
    '            fn = to_mode(open_upright(fn, (cover, cover) if cover else None),\n',
    '            fn = to_mode(Image.open(fn),\n', ['nbs/04_loaders.ipynb'],
    "the fastai DataBlock loader decodes photos as stored, not turned upright")

LOCKED = 'tests/test_nothing_lost.py::test_a_running_run_is_neither_overwritten_nor_resumed'
add('resume_without_lock', '02a_runs',
    "        self.lock() # (a live run's temporary files are not stale: "
    "refused while another process runs it)",
    '        pass', ['nbs/02a_runs.ipynb', LOCKED],
    'a --resume of a folder another process is still running goes ahead (two runs write one folder)')
add('overwrite_under_a_live_run', '02a_runs',
    '        if found: self.lock(); shutil.rmtree(p); self.unlock()',
    '        if found: shutil.rmtree(p)', ['nbs/02a_runs.ipynb', LOCKED],
    '--overwrite deletes the folder of a run that is still running')
add('lock_kept_after_run', '02a_runs', '        finally: rf.unlock()', '        finally: pass',
    ['nbs/02a_runs.ipynb'], "a run that ended in this process keeps its folder's lock (a notebook's kernel "
    "blocks every later run of that folder from a terminal)")

add('processes_start_on_a_busy_folder', '11_cli',
    '        RunFolder.of(cfg).check_start(cfg, resume=args.resume, overwrite=args.overwrite)',
    '        pass', [LOCKED],
    '`--processes 2 --resume` of a folder another run is running starts torchrun anyway')

add('non_images_left_out_silently', '01_data', '    if others and notes is not None:',
    '    if False:', ['nbs/01_data.ipynb',
                     'tests/test_bad_data.py::test_hidden_and_loose_files_are_not_images'],
    "files of the class folders that are not images (an iPhone's .MOV clips) are left out without a word")

add('status_running_missed', '09_report',
    "    if (who := RunFolder(r['folder']).holder()) is not None: return f'running ({who})'", '    pass',
    ['nbs/09_report.ipynb'],
    "the comparison table calls a run another process is running `finished` or `stopped`")
add('status_finished_by_state', '09_report', "    if 'total_seconds' in r['metrics']: return 'finished'",
    "    if 'train' in r['metrics']: return 'finished'", ['nbs/09_report.ipynb'],
    'a run killed after its first stage is called finished')
add('checkpoint_read_twice', '15_predict', '                   checkpoint=obj)',
    '                   checkpoint=None)',
    ['nbs/15_predict.ipynb'], '`load_run_model` reads the checkpoint again for the model (twice per predict)')
add('temp_name_not_found', '00_config', "else f'.{p.name}.tmp{pid}')", "else f'{p.name}.part{pid}')",
    ['nbs/00_config.ipynb'], 'a write goes through a temporary name that a resumed run does not look for')

add('decode_progress_silent', '10_pipeline',
    '    arrays.progress, before, handed = HowFar(n, log, secs=every), arrays.decoded, HANDED.taken',
    '    arrays.progress, before, handed = None, arrays.decoded, HANDED.taken', ['nbs/10_pipeline.ipynb'],
    'a long decode of a folder of photos prints nothing until it ends')
add('data_check_notes_dropped', '01_data', "    return '\\n'.join(lines + [f'note: {n}' for n in chk.notes])",
    "    return '\\n'.join(lines)", ['tests/test_bad_data.py::test_cli_data_check_says_what_it_left_out'],
    '`noisyfast data check` does not say which files it left out or which images are far too small')

add('half_made_folder_of_another_deleted', '02a_runs',
    '            mine = fcntl is None or str(rf.path.resolve()) in _HELD', '            mine = True',
    ['nbs/02a_runs.ipynb'], 'a run refused because another run made its folder meanwhile deletes that folder')

add('heic_called_not_an_image', '01_data',
    "    if isinstance(e, UnidentifiedImageError) and Path(p).suffix.lower() in ('.heic', '.heif'):",
    '    if False:', ['tests/test_bad_data.py::test_csv_listing_iphone_photos'],
    'a damaged HEIC photo is called "not an image", with no word on what it is or converting it')

add('test_split_own_median', '05_train',
    "    size = decode_size(cfg, data) # one size for train and test, not each domain's own median",
    '    size = cfg.data.image_size',
    ['tests/test_bad_data.py::test_train_and_test_of_other_sizes_decode_at_one_size'],
    'a test/ folder of other sizes is decoded at its own median size, not the one the run says')

IPHONE = 'tests/test_bad_data.py::test_folder_of_iphone_photos'
add('heic_opener_not_registered', '01_data', 'pillow_heif.register_heif_opener() # PIL opens iPhone photos',
    'pass # PIL opens iPhone photos', [IPHONE],
    'pillow-heif installed but never registered with PIL: every iPhone photo unreadable')
add('heic_not_an_image_name', '01_data', "'.webp', '.avif', '.heic',\n              '.heif', '.mpo'}",
    "'.webp', '.avif', '.mpo'}", [IPHONE],
    'a folder of iPhone photos is "not images by their names" (as before 2026-11-30)')
add('heic_turned_twice', '01_data',
    '    return im if _orientation(im) == 1 else ImageOps.exif_transpose(im)',
    "    o = im.info.get('original_orientation') or _orientation(im) # pillow-heif keeps the tag there\n"
    '    T = Image.Transpose\n'
    '    return im if o == 1 else im.transpose({6: T.ROTATE_270, 8: T.ROTATE_90}.get(o, T.ROTATE_180))',
    ['tests/test_bad_data.py::test_csv_listing_iphone_photos'],
    "an iPhone photo turned by its `irot` box, then again by the EXIF orientation pillow-heif keeps aside")
add('macosx_folder_is_a_class', '01_data', '    found = [c for c in found if c not in NOT_CLASSES]',
    '    found = found', ['nbs/01_data.ipynb'],
    'the `__MACOSX` folder of an archive unzipped on a Mac is taken for a class (and refused as empty)')

PHOTOS = 'tests/test_bad_data.py::test_large_photos_decode_at_twice_the_training_size'
add('photos_decoded_full_size', '05_train',
    '    return hw if min(hw) <= side else tuple(max(1, round(s * side / min(hw))) for s in hw)',
    '    return hw', [PHOTOS, 'nbs/05_train.ipynb'],
    '12 MP photos trained at 224 px are decoded at 4032x3024 (36 MB each) and resized for every batch')
add('photos_shrunk_square', '05_train',
    '    return hw if min(hw) <= side else tuple(max(1, round(s * side / min(hw))) for s in hw)',
    '    return hw if min(hw) <= side else (side, side)', [PHOTOS],
    'photos shrunk to a square: their aspect lost')
add('loader_choice_at_full_size', '05_train',
    '    size = decode_size(cfg, data) or native_size(data.train.x)\n',
    '    size = cfg.data.image_size or native_size(data.train.x)\n', ['nbs/05_train.ipynb'],
    "`data.loader: auto` sizes the decoded set at the full photo size: fastai's loader where the fast one "
    'fits')

add('only_final_compared', '10_pipeline',
    "    b, last = metrics.get('train'), next((s for s in NO_HELP if isinstance(metrics.get(s), dict)), None)",
    "    b, last = metrics.get('train'), 'final' if isinstance(metrics.get('final'), dict) else None",
    ['nbs/10_pipeline.ipynb'],
    'a run ending with divide and learn (or pseudo-labeling) worse than its baseline says nothing')

add('jpeg_full_decode', '01_data', '        draft_jpeg(im, hw)\n', '',
    ['nbs/01_data.ipynb'], 'a 12 MP JPEG decoded whole to be shrunk to 448 px (4x the decoding time)')
add('jpeg_draft_not_turned', '01_data', '    h, w = hw[::-1] if _quarter_turned(im) else hw', '    h, w = hw',
    ['nbs/01_data.ipynb'], "a photo stored turned is drafted at the shown size's width as its height")

add('own_key_ignores_time', '01_data', "[f'{p}\\t{s.st_size}\\t{s.st_mtime_ns}'", "[f'{p}\\t{s.st_size}'",
    ['nbs/04_loaders.ipynb'],
    "an edited photo of the same byte size is read back from the cache as its old pixels")
add('known_remembers_bad', '01_data',
    '    if known is not None: known.add([(keys[i], *res[i][1:]) for i in todo\n'
    '                                     if keys[i] is not None and res[i][0] is None])',
    '    if known is not None: known.add([(keys[i], res[i][1], res[i][2] or (0, 0), res[i][3])\n'
    '                                      for i in todo\n'
    '                                     if keys[i] is not None])',
    ['nbs/01_data.ipynb'], 'an unreadable file, remembered, passes the next run\'s check as readable')
add('known_counter_counts_all', '01_data',
    '    tell = counter(len(todo)) if counter is not None and todo else None',
    '    tell = counter(len(paths)) if counter is not None and paths else None', ['nbs/01_data.ipynb'],
    'the check\'s progress counts files it will not decode: a wrong time left')
add('stale_cache_kept', '04_loaders', '    if not key.startswith(OWN): return []\n', '    return []\n',
    ['nbs/04_loaders.ipynb'], 'every edit of a photo folder leaves a full copy of its decoded images behind')
add('cache_fills_disk', '04_loaders', '        if need > room:\n', '        if False:\n',
    ['nbs/04_loaders.ipynb'], "users' decoded images kept on disk however little room there is")
add('run_checks_without_memory', '02_noise', 'known=KnownImages() if d.cache else None', 'known=None',
    ['nbs/10_pipeline.ipynb'], 'every run checks (decodes) every photo again: a second a HEIC')
add('run_check_silent', '10_pipeline',
    "        data, noise = make_data(cfg, counter=functools.partial(HowFar, say=say, "
    "what='image files checked'),",
    '        data, noise = make_data(cfg,', ['nbs/10_pipeline.ipynb'],
    'a run checking a thousand iPhone photos says nothing for minutes')
add('data_check_silent', '11_cli',
    '    chk = check_data(args.name, args.path, download_ok=args.download, counter=counter)',
    '    chk = check_data(args.name, args.path, download_ok=args.download)',
    ['tests/test_bad_data.py::test_cli_data_check_says_what_it_left_out'],
    '`noisyfast data check` of a thousand iPhone photos silent for minutes')
add('data_check_forgets', '01_data',
    'src = verify_images(src, skip_bad=True, force=True, known=KnownImages(reuse=False), counter=counter)',
    'src = verify_images(src, skip_bad=True, force=True, counter=counter)',
    ['tests/test_bad_data.py::test_cli_data_check_says_what_it_left_out'],
    '`noisyfast data check`, then a run: every photo decoded twice')
add('data_check_reuses', '01_data', '        if not self.reuse: return res\n', '',
    ['nbs/01_data.ipynb'],
    '`noisyfast data check` skips files an earlier check found readable: no fresh check')

add('fastai_loader_full_decode', '04_loaders',
    'open_upright(fn, (cover, cover) if cover else None)', 'open_upright(fn)',
    ['nbs/04_loaders.ipynb'], "fastai's pipeline decodes a 12 MP JPEG whole in every epoch (4x the decode)")
add('fastai_loader_cover_size', '04_loaders', 'cover=SHRINK_TO * size),', 'cover=size),',
    ['nbs/04_loaders.ipynb'], "fastai's pipeline drafts to the training size: half the fast path's detail")

add('report_always_written', '10_pipeline',
    '    return finish_run(ctx, rf.seconds, report=report)',
    '    return finish_run(ctx, rf.seconds)', ['nbs/10_pipeline.ipynb'],
    '`run(cfg, report=False)` still spends seconds plotting a report nobody asked for')
add('run_no_report_ignored', '11_cli', 'quiet=args.quiet, report=args.report, **quiet)',
    'quiet=args.quiet, **quiet)', ['tests/test_cli.py::test_predict_after_a_run_with_divide'],
    '`noisyfast run --no-report` writes the report anyway')
add('grid_no_report_ignored', '10a_sweep', 'echo=echo, report=report)', 'echo=echo)',
    ['tests/test_grid.py'], '`noisyfast grid --no-report` writes a report per run anyway')

add('mpo_decoded_whole', '01_data', "JPEG_FORMATS = ('JPEG', 'MPO')", "JPEG_FORMATS = ('JPEG',)",
    ['nbs/01_data.ipynb'], "a phone's MPO photo (a JPEG with a depth map after it) checked and decoded whole")
add('mpo_not_an_image', '01_data', "'.heif', '.mpo'}", "'.heif'}", ['nbs/01_data.ipynb'],
    "a stereo camera's .MPO photos left out as not images")

add('fastai_loader_16bit_white', '04_loaders', """            fn = to_mode(open_upright(fn, (cover, cover) if cover else None),
                         kwargs.get('mode', cls._open_args['mode']))""",
    """            fn = open_upright(fn, (cover, cover) if cover else None).convert(
                         kwargs.get('mode', cls._open_args['mode']))""",
    ['nbs/04_loaders.ipynb'], "fastai's pipeline trains on 16-bit scans clipped to white")
add('predict_pil_16bit_white', '04_loaders', "o = np.asarray(to_mode(upright(o), 'L' if",
    "o = np.asarray(upright(o).convert('L' if", ['nbs/04_loaders.ipynb'],
    'a 16-bit PIL image to predict is seen clipped to white, its file as trained')
add('to_mode_clips', '01_data', "    if im.mode in _WIDE_MODES: # PIL's own convert clips",
    "    if False: # PIL's own convert clips", ['nbs/01_data.ipynb'],
    '16-bit grayscale scans decoded clipped to white')

add('grey_depth_unsaid', '10_pipeline', "if not n.startswith('skipped '): ctx.say(n)",
    "if not n.startswith(('skipped ', 'grey depth')): ctx.say(n)",
    ['tests/test_bad_data.py::test_dim_16bit_scans_are_said_before_training'],
    "a run on a 12-bit camera's dim scans trains without saying they keep 16 grey levels")
add('grey_depth_unchecked', '01_data', '    notes += size_notes(chk) + depth_notes(chk)\n',
    '    notes += size_notes(chk)\n', ['nbs/01_data.ipynb'],
    'the check of dim 16-bit scans notes nothing of their grey depth')
add('grey_depth_last_file', '01_data', '        if top is not None: chk.wide_top = max(top, chk.wide_top or 0)',
    '        if top is not None: chk.wide_top = top', ['nbs/01_data.ipynb'],
    "the brightest pixel is the last file's: a warning for a full-range set whose last scan is dim")

add('hand_over_unused', '01_data', "    a = HANDED.take(p, _hw(size), mode) # decoded by this run's check already\n",
    '    a = None\n', ['nbs/01_data.ipynb', 'tests/test_bad_data.py::test_folder_of_iphone_photos'],
    "a folder of iPhone photos: each HEIC decoded by the check, then whole again for training")
add('hand_over_ignores_size', '01_data', "            a = self.d.pop((_file_key(p), hw), None)",
    "            a = next((self.d.pop(k) for k in list(self.d) if k[0] == _file_key(p)), None)",
    ['nbs/01_data.ipynb'], "a check's decode at one size taken by a decode at another: images of two sizes")
add('hand_over_unbounded', '01_data',
    '        return self.nbytes + hw[0] * hw[1] * 3 <= HAND_OVER_BYTES', '        return True', ['nbs/01_data.ipynb'],
    "a check of 20,000 photos holds every one's decode in memory until training takes it")
add('hand_over_never_cleared', '10_pipeline', '    finally: HANDED.clear()\n', '    finally: pass\n',
    ['nbs/10_pipeline.ipynb'], "a run refused after its check keeps up to 1 GiB of decoded photos in the notebook")

add('cache_clear_gone_clears_all', '04_loaders',
    '    es = [e for e in cache_entries(folder) if e.gone or not gone]', '    es = cache_entries(folder)',
    ['nbs/11_cli.ipynb'], '`noisyfast data cache --clear-gone` removes the decoded images of folders still there')
add('cache_folder_unsaid', '04_loaders', 'of=_folder_of(xs) if own else None)', 'of=None)',
    ['nbs/04_loaders.ipynb'], '`noisyfast data cache` cannot say which folder a cache file of decoded photos is of')
add('stale_keeps_folder_file', '04_loaders', "        if f.suffix in ('.u8',) + BESIDE and",
    "        if f.suffix in ('.u8', '.done') and", ['nbs/04_loaders.ipynb'],
    "every edit of a photo folder leaves an old version's .folder file behind")
add('cache_gone_when_there', '04_loaders', '        gone = bool(of) and not Path(of).is_dir()',
    '        gone = bool(of)', ['nbs/11_cli.ipynb'],
    "`noisyfast data cache` calls every folder of photos gone: --clear-gone removes them all")

add('grid_hand_over_unused', '10a_sweep',
    '            data = make_data(cfg, decode_to=None if k else decode_target(cfg))[0]',
    '            data = make_data(cfg)[0]', ['nbs/10a_sweep.ipynb'],
    "a grid over iPhone photos: its check decodes each, then its first run decodes each again")

add('check_jpeg_at_eighth', '01_data',
    "            if keeping: draft_jpeg(im, keep[0]) # a JPEG at the scale the run decodes it at: one decode\n"
    "            elif im.format in JPEG_FORMATS:", "            if im.format in JPEG_FORMATS:",
    ['nbs/01_data.ipynb', 'tests/test_bad_data.py::test_large_photos_decode_at_twice_the_training_size'],
    "a run trains on its check's 1/8-scale decode of each JPEG photo, upscaled: not the pixels predict sees")

add('grid_caption_band_one_line', '08_evaluate', 'band = math.ceil((lines * fontsize * 1.3 / 72 + 0.06) * ppi)',
    'band = math.ceil((fontsize * 1.3 / 72 + 0.06) * ppi)', ['nbs/08_evaluate.ipynb'],
    "a gallery's room for captions fits one line: the 3-4-line captions of flagged images cover the row above")
add('grid_cells_by_column', '08_evaluate', '        r, c = divmod(i, self.cols)\n        return r *',
    '        c, r = divmod(i, self.rows)\n        return r *', ['nbs/08_evaluate.ipynb'],
    'a gallery filled column by column: the most suspicious images no longer read left to right')
add('grid_colours_ignored', '08_evaluate', "color='black' if colors is None else colors[i])", "color='black')",
    ['nbs/08_evaluate.ipynb'], 'flagged images whose given label is known to be wrong are no longer captioned in red')
add('grid_gray_if_any', '08_evaluate', '    gray = all(im.shape[-1] == 1 for im in ims)',
    '    gray = any(im.shape[-1] == 1 for im in ims)', ['nbs/08_evaluate.ipynb'],
    'a gallery mixing grayscale and colour images draws the colour ones as their red channel, in gray')
add('flagged_images_unordered', '08_evaluate', '    return image_grid(a[order], caps,',
    '    return image_grid(a[:len(order)], caps,', ['nbs/08_evaluate.ipynb'],
    "the flagged gallery captions the most suspicious labels under the first images of the set")

add('known_top_not_read', '01_data', '    res = [(None, *old[k]) if k in old else None for k in keys]',
    '    res = [(None, *old[k][:2], None) if k in old else None for k in keys]',
    ['nbs/01_data.ipynb', 'tests/test_bad_data.py::test_dim_16bit_scans_are_said_before_training'],
    "a second run of a folder of dim 16-bit scans no longer says they keep 16 grey levels")
add('known_tops_not_kept', '01_data', '                               [(*k, int(top)) for k, _, _, top in items if top is not None])',
    '                               [])', ['nbs/01_data.ipynb'],
    "every run decodes every 16-bit scan again to check it: the record of checked files never knows them")
add('known_old_16bit_trusted', '01_data',
    '                                if (p, s, m) in want and (top is not None or mode not in _WIDE_MODES)})',
    '                                if (p, s, m) in want})', ['nbs/01_data.ipynb'],
    "after an upgrade, 16-bit scans an earlier version checked are taken as known without their brightest pixel")

add('plan_after_data', '10_pipeline',
    '    check_plan(cfg, stages) # a mistake the config shows, and a run folder that cannot be used: '
    'said before\n',
    '', ['nbs/10_pipeline.ipynb',
         'tests/test_bad_config.py::test_run_says_config_mistakes_before_reading_the_data'],
    "an arch typo or a pretrained arch without weights is said only after minutes of checking photos")
add('start_after_data', '10_pipeline',
    '    if not RunFolder.of(cfg).check_start(cfg, resume=resume, overwrite=overwrite) and resume: '
    '# before the data\n',
    '    if False: # before the data\n', ['nbs/10_pipeline.ipynb',
         'tests/test_bad_config.py::test_run_says_config_mistakes_before_reading_the_data'],
    "a run folder that is already there (no --resume) is said only after the photos are read")
add('launcher_no_batch_check', '11_cli',
    '        with launching(args.processes): check_plan(cfg) '
    '# the model, whether each batch splits over them',
    '        check_plan(cfg)',
    ['tests/test_bad_config.py::test_run_processes_refuses_a_batch_that_does_not_split_before_starting_them'],
    "--processes 2 with an odd batch starts torchrun and two processes that each print the refusal")
add('check_start_no_diff', '02a_runs',
    '    diff = config_changes(self.read(\'config\') or {}, cfg) if resume else []',
    '    diff = []', ['nbs/02a_runs.ipynb'],
    "--resume of a folder started with another config goes on, mixing two configs in one run folder")

add('perturbation_kinds_stale', '00_config',
    "PERTURBATION_KINDS = ('salt_pepper', 'gaussian_noise', 'blur', 'jpeg', 'brightness', 'contrast')",
    "PERTURBATION_KINDS = ('salt_pepper', 'gaussian_noise', 'blur', 'jpeg', 'brightness')",
    ['nbs/08_evaluate.ipynb', 'tests/test_bad_config.py::test_config_check_imports_neither_torch_nor_fastai'],
    "the config's list of perturbation names falls behind evaluate's: a valid evaluate.kinds is refused")

LARGE = 'tests/test_larger_than_memory.py::test_a_folder_larger_than_memory_trains_from_the_cache_file'
add('never_on_disk', '05_train',
    "    if cfg.data.cache and data.cache_key and data.domain_sizes and \\\n"
    "            disk_need(cfg, data) <= (disk_budget(data.cache_key) if disk is None else disk):\n"
    "        return 'disk' # `ArrayData._room` agrees: the same files, the same room (`cache_room`)\n", '',
    ['nbs/05_train.ipynb', LARGE],
    "a folder larger than memory takes fastai's pipeline (every photo decoded every epoch; divide refused)")
add('mapped_rows_in_file_order', '04_loaders', '        out[order] = self.x[p[order]]',
    '        out[:] = self.x[p[order]]', ['nbs/04_loaders.ipynb', LARGE],
    "a batch read from the cache file comes back in file order, not the order asked for: images and labels "
    "mismatched")
add('on_disk_gathered', '04_loaders', '        if self.on_disk: return self._mapped(split)\n', '',
    ['nbs/04_loaders.ipynb'], 'a data set larger than memory is gathered into memory anyway')
add('mapped_bad_retried', '04_loaders',
    'todo = first[~disk.done[pos].astype(bool) & ~np.isin(pos, list(bad))]',
    'todo = first[~disk.done[pos].astype(bool)]', ['nbs/04_loaders.ipynb'],
    'an unreadable file is decoded (and listed) again every time a split holding it is asked for')

add('other_shape_is_room', '04_loaders',
    "               if not DiskImages.file(folder, key, d, s).exists())",
    "               if not any(Path(folder).glob(glob.escape(key) + f'-{d}-*.u8')))",
    ['nbs/05_train.ipynb', 'nbs/04_loaders.ipynb'],
    "a cache file of another data.image_size counts as room: the run is placed on disk, then stops with "
    "'no room' when it makes its own file")
add('stale_not_room', '04_loaders', '    return (shutil.disk_usage(there).free + stale) // 2',
    '    return shutil.disk_usage(there).free // 2', ['nbs/04_loaders.ipynb'],
    "the files of an earlier version of the folder (removed before the new ones are made) do not count as "
    "room: an edited folder takes fastai's pipeline where its cache file would fit")

AUDIT_PIXELS = ('tests/test_larger_than_memory.py::'
                'test_the_audit_without_fold_models_reads_the_pixels_a_chunk_at_a_time')
add('audit_pixels_gathered', '13_audit',
    '    x = ctx.arrays.images(tr) # where the run keeps them: read a chunk at a time',
    '    x = ctx.arrays.images(tr).cpu().numpy()', [AUDIT_PIXELS],
    'the audit without fold models gathers every train image of a folder larger than memory (out of memory)')
add('robustness_gathered', '05_train', "    if res.loader != 'fastai': return res.arrays.images(split) #",
    "    if res.loader != 'fastai': return res.arrays.images(split).cpu().numpy() #", [AUDIT_PIXELS],
    'the robustness stage gathers the test images of a folder larger than memory, and a perturbed copy')
add('perturbed_draws_per_chunk', '08_evaluate', '        for i in range(0, len(a), 256): # 256 at a time',
    '        for i in range(0, len(a), len(a)): # 256 at a time', ['nbs/08_evaluate.ipynb'],
    'robustness read a chunk at a time perturbs other pixels than `perturb` of the whole set')

add('folds_checked_without_oof', '10_pipeline',
    '    if not (cc.enabled and cc.oof): return', '    if not cc.enabled: return', ['nbs/10_pipeline.ipynb'],
    'clean.oof: false (one in-sample model) on a small train split is refused for clean.folds it never uses')

add('audit_k_at_the_audit', '10_pipeline', '    if ac.enabled and n <= ac.k:', '    if False:',
    ['nbs/10_pipeline.ipynb', 'tests/test_bad_config.py::test_run_refused_before_training[audit-k]'],
    'a train split no larger than audit.k is refused at the audit stage, after the training stages ran')

add('predict_gathers_mapped', '05_train',
    '            if not isinstance(x, SplitImages): # views (a store, a cache file): read a batch at a time',
    '            if True:',
    ['nbs/05_train.ipynb'], 'predict on images larger than memory (`MappedImages`) gathers them image by image')

add('chunks_by_count', '08_evaluate',
    '    chunk = chunk or max(1, 2**25 // int(np.prod(images.shape[1:])))', '    chunk = chunk or 2048',
    ['nbs/08_evaluate.ipynb'],
    "the audit's image checks take 2,048 photos at a time whatever their size: 13 GiB at 299x224, more "
    "than the machine at 448 px")

add('blur_rows_as_columns', '08_evaluate',
    '    return _blur_matrix(h, s, k, x).T @ x @ _blur_matrix(w, s, k, x)',
    '    return _blur_matrix(h, s, k, x) @ x @ _blur_matrix(w, s, k, x)', ['nbs/08_evaluate.ipynb'],
    "the blur's column matrix not transposed: at the borders (reflect padding) light goes the wrong way")
add('blur_zero_padding', '08_evaluate', "(k // 2, k // 2), mode='reflect')", "(k // 2, k // 2), mode='constant')",
    ['nbs/08_evaluate.ipynb'], "the blur pads with black: blurred images darken at their borders")

add('robustness_silent', '08_evaluate', '            if tell is not None: tell(len(x))', '            pass',
    ['nbs/08_evaluate.ipynb'], 'the robustness stage says nothing for minutes on photos: no progress lines')

add('audit_reads_twice', '13_audit',
    '        props, stats = image_checks(images, sizes, thresholds=thresholds) # one read of the images',
    '        props, stats = image_properties(images, sizes, thresholds=thresholds), image_stats(images)',
    ['nbs/13_audit.ipynb'], "the audit reads the train images twice (from a cache file: two reads of the disk)")
add('channel_extremes_of_red', '13_audit',
    '    return dict(g=g, hi=functools.reduce(np.maximum, chans), lo=functools.reduce(np.minimum, chans),',
    '    return dict(g=g, hi=chans[0], lo=chans[0],', ['nbs/13_audit.ipynb'],
    'the channel max and min taken from the first channel only: no image has colour, no grayscale check')

add('hub_stats_ignored', '05_train',
    '    return hub_stats(resolve_arch(cfg.model.arch)) if cfg.model.pretrained is True and n_in == 3 else stats',
    '    return stats',
    ['nbs/05_train.ipynb'], "hub weights fed batches normalized with the data's own stats, not ImageNet's")
add('frozen_epochs_from_random', '05_train', '(s.freeze_epochs if trained or j else 0)',
    's.freeze_epochs', ['nbs/05_train.ipynb'],
    "a fit from random weights counts a frozen phase it never trains: 'epoch 4/5' at the end")
add('learner_rebuilt_each_stage', '05_train',
    '        if learn is None:\n            learn, trained = fit_learner(',
    '        if True:\n            learn, trained = fit_learner(', ['nbs/05_train.ipynb'],
    "each progressive-resizing stage starts from new random weights: the earlier stages' training lost")

add('csv_duplicates_allowed', '01_data', '    if p in seen:\n', '    if False:\n',
    ['tests/test_bad_data.py::test_csv_duplicate_path_names_both_rows'],
    'a CSV listing one image twice trains on it twice, its second label against its first')
add('skip_bad_keeps_bad', '01_data', '        keep = np.array([str(p) not in bad for p in x], dtype=bool)',
    '        keep = np.ones(len(x), dtype=bool)',
    ['tests/test_bad_data.py::test_skip_bad_removes_unreadable_files_from_every_split'],
    'data.skip_bad: true says it left the unreadable files out, and trains on them as blank images')
add('noise_rate_zero_allowed', '00_config', '    _check_noise(cfg, w)\n', '',
    ['nbs/00_config.ipynb', 'tests/test_bad_config.py'],
    'noise.kind: symmetric with rate 0 (or a matrix kind with no matrix) runs as if noise were injected')
add('comparison_repeats_shared', '09_report', '            if vals.nunique() == 1: common.append(',
    '            if False: common.append(', ['nbs/09_report.ipynb'],
    '`noisyfast report A B` repeats every setting the runs share in each row: what differs is hard to see')

add('grid_result_skips_divide', '10a_sweep', '    last = _last_model_stage(m)\n',
    "    last = next((s for s in ('final', 'pseudo', 'train') if s in m), None)\n", ['nbs/10a_sweep.ipynb'],
    "a grid of divide runs with no final stage reports the baseline's test accuracy as each run's result")

add('compare_without_divide', '09_report', "MODEL_STAGES = ('train', 'pseudo', 'divide', 'final')",
    "MODEL_STAGES = ('train', 'pseudo', 'final')", ['nbs/09_report.ipynb'],
    "`noisyfast report A B` shows no divide stage's accuracy: a divide run's test_acc with no stage beside it")
add('run_imports_before_config', '11_cli',
    '    cfg = load_config(args.config, args.overrides) # a config mistake: refused at once, before the imports\n'
    '    from noisyfast.pipeline import check_plan, run # torch, fastai, timm: seconds\n',
    '    from noisyfast.pipeline import check_plan, run # torch, fastai, timm: seconds\n'
    '    cfg = load_config(args.config, args.overrides) # a config mistake: refused at once, before the imports\n',
    ['tests/test_bad_config.py::test_run_refuses_a_config_mistake_before_the_imports'],
    '`noisyfast run` imports torch and fastai (8 s on 2 vCPUs) before it says a typo in the config')

add('runs_imports_torch', '02a_runs', "    if 'torch.distributed' not in sys.modules: return True\n",
    "    import torch.distributed\n", ['nbs/02a_runs.ipynb', 'nbs/09_report.ipynb'],
    'reading a run folder imports torch and fastai: `noisyfast report A B` takes 5 s instead of under 1')
add('rank1_writes_too', '02a_runs', '    from noisyfast.distrib import rank0 as _rank0\n    return _rank0()',
    '    return True', ['tests/test_distributed.py::test_run_folder_ranks_without_importing_torch'],
    "every process of a 2-process run writes the run folder's files, not only rank 0")
add('report_imports_evaluate', '09_report',
    '                            without_skipped)\n',
    '                            without_skipped)\nimport noisyfast.evaluate\n', ['nbs/09_report.ipynb'],
    'comparing runs imports torch, fastai and matplotlib for plots it never draws')

add('pipe_flushed_at_exit', '11_cli',
    '        sys.stdout.flush() # here, not at exit, so that a reader who left is caught below\n', '',
    ['tests/test_cli.py::test_a_reader_that_leaves_early_gets_no_traceback'],
    "`noisyfast data list | head -1`: Python's flush at exit fails outside main: 'Exception ignored', exit 120")
add('broken_pipe_traceback', '11_cli', '    except BrokenPipeError: #', '    except ZeroDivisionError: #',
    ['tests/test_cli.py::test_a_reader_that_leaves_early_gets_no_traceback'],
    '`noisyfast config keys | head` ends with a BrokenPipeError traceback')

add('any_broken_pipe_is_stdout', '11_cli',
    "        if not _stdout_gone(): raise # another pipe (a worker process's): a real error\n", '',
    ['nbs/11_cli.ipynb'], "a worker process's broken pipe is taken for `| head`: the run ends with 141 and no traceback")

add('grid_imports_before_sets', '10a_sweep', 'from noisyfast.report import md_table',
    'from noisyfast.report import md_table\nimport noisyfast.pipeline',
    ['tests/test_bad_config.py::test_run_refuses_a_config_mistake_before_the_imports'],
    '`noisyfast grid` imports torch and fastai (13 s on 2 vCPUs) before it says a mistyped --set key')
add('n_channels_dropped', '05_train', '        return self.n_in if self.n_in != self.c_img else None\n',
    '        return None\n', [DIV, 'nbs/05_train.ipynb'],
    'grayscale images reach a 3-channel model with one channel (the divide stage and every fit)')

add('long_epoch_silent', '05_train',
    "    def before_train(self): self.how = self._how(f\"batches of epoch {self.n + 1}/{self.total or '?'}\",",
    "    def before_train(self): self.how = None and (f\"batches of epoch {self.n + 1}/{self.total or '?'}\",",
    ['nbs/05_train.ipynb'],
    'an epoch of many minutes (CIFAR-10 on a CPU) says nothing until it ends')
add('run_left_without_epoch_part', '05_train', "self.log(f'{msg}; {self.log.overall(part)}'",
    "self.log(f'{msg}; {self.log.overall()}'", ['nbs/05_train.ipynb'],
    "a long first epoch's lines give no estimate of the run (none until an epoch has ended)")
add('slow_rate_rounded_to_zero', '01_data', "f'{r:,.0f}' if r >= 9.5 else f'{r:.2g}'", "f'{r:,.0f}'",
    ['nbs/01_data.ipynb'], "slow work (a batch every 6 s, a HEIC photo a second) said as '0/s'")
add('long_prediction_silent', '05_train',
    "        if not self.trained: self.how = self._how('batches predicted', self.log)\n", '        pass\n',
    ['nbs/05_train.ipynb'], "a prediction of many minutes (a CPU run's test set) says nothing until it ends")
add('loaded_model_silent', '05_train',
    '    if log is not None: learn.add_cb(EpochLine(log, line=False)) # as the model of a fit in this process\n',
    '', ['nbs/05_train.ipynb'], "a model loaded back from its checkpoint predicts for many minutes in silence")
add('run_loads_models_silently', '10_pipeline',
    'load = functools.partial(load_fit, cfg, data, arrays=arrays, log=log)',
    'load = functools.partial(load_fit, cfg, data, arrays=arrays)',
    ['tests/test_progress.py::test_long_epochs_and_predictions_say_how_far_they_are'],
    "the audit's fold models (loaded back) take many minutes on a CPU and say nothing")
add('divide_epochs_unknown', '07a_divide', 'EpochLine(log, dc.epochs, cost=divide_cost(dc), line=False)',
    'EpochLine(log, cost=divide_cost(dc), line=False)', [DIV],
    "a long divide epoch's progress lines say `epoch 3/?`: the divide stage's epoch count is not given")

SEMI = 'tests/test_semi_supervised.py'
add('divide_keeps_pseudo_rows', '07a_divide',
    '        if probs is not None: train, probs = given_rows(ctx.checked, probs, train)\n',
    '        if probs is not None: train = ctx.checked\n',
    [SEMI + '::test_after_pseudo_labels_divide_chooses_among_the_given_labels_only'],
    "after a pseudo stage, divide takes the pool's pseudo-labels as given labels and learns them in its pool too")
add('pool_keeps_pseudo_labeled', '07_clean',
    '        pool = pool_without(ctx.data.unlabeled, given) # after a pseudo stage: without its pseudo-labeled\n',
    '        pool = ctx.data.unlabeled\n',
    [SEMI + '::test_after_pseudo_labels_unlabeling_leaves_each_image_once'],
    "pseudo then clean (unlabel): the final stage's pool holds images twice, and images of its train split")
add('fastai_vocab_sorted', '04_loaders', 'CategoryBlock(vocab=vocab, sort=False)', 'CategoryBlock(vocab=vocab)',
    ['nbs/04_loaders.ipynb'], "fastai's loader numbers the classes in string order: folders 1..10 scored shifted")
add('divide_pool_moved_whole', '07a_divide', 'join_images(take_images(x, un), self.extra_x)',
    'torch.cat([take_images(x, un), self.extra_x.to(x.device)])',
    ['tests/test_larger_than_memory.py::test_divide_with_unlabeled_images_learns_its_pool_from_the_cache_file'],
    'divide with an unlabeled split on images larger than memory crashes in its first epoch')
add('audit_default_filter', '13_audit',
    'find_issues(labels, probs, filter_by=filter_by, frac_noise=frac_noise) if label_flags is None',
    'find_issues(labels, probs) if label_flags is None', ['nbs/13_audit.ipynb'],
    "the audit's label check ignores clean.filter_by / frac_noise: its count differs from the clean stage's")
add('class_map_number_as_index', '02_noise',
    '        if 0 <= k < len(vocab) and names[k] != str(k):\n', '        if False:\n', ['nbs/02_noise.ipynb'],
    "noise.map {1: 2} on classes named 1, 2, 3, 10 flips other classes than the ones named, without a word")
add('hub_stats_always_imagenet', '05_train', "    pc = get_pretrained_cfg(arch) if isinstance(arch, str) else None",
    '    pc = None', ['nbs/05_train.ipynb'], 'a ViT (trained on 0.5 / 0.5 inputs) is fed ImageNet-normalized inputs')
add('fastai_arrays_squeezed', '05_train',
    "            if res.loader == 'fastai' and not framed: x = fastai_framed(x, res.learn.dls.valid) # as files\n",
    '', ['nbs/05_train.ipynb'],
    "the robustness stage squeezes wide photos a fastai-pipeline model saw centre-cropped: its clean row is off")
add('train_shrink_aliased', '04_loaders', '            x = _shrink_for(x, size, theta) # antialiased first, as the unaugmented path below\n',
    '', ['nbs/04_loaders.ipynb'], 'training shrinks by bilinear sampling alone: aliased images evaluation never sees')
add('confident_joint_ignored_warning', '07_clean',
    "    kw = {} if filter_by == 'confident_learning' else dict(confident_joint=cj) # which warns it makes its own)",
    '    kw = dict(confident_joint=cj)', ['nbs/07_clean.ipynb'],
    'every clean stage with filter_by confident_learning prints cleanlab\'s warning that it ignored the joint')
add('divide_ignores_silent', '07a_divide', '        if off := divide_ignores(ctx.cfg.train): # said, not silently dropped\n',
    '        if off := None:\n', [SEMI + '::test_after_pseudo_labels_divide_chooses_among_the_given_labels_only'],
    'train.mixup or random erasing set: the divide stage trains without them and says nothing')

# session 28: a second review
add('store_whole_domain', '04_loaders',
    "        rows = np.union1d(np.union1d(have, pos), self.plan.get(domain, have)) # the run's images, no others\n",
    "        rows = np.arange(int(max(have.max(initial=-1), pos.max())) + 1)\n",
    ['nbs/04_loaders.ipynb'], # (bench/split_memory.py's smoke test needs git: not in the scratch copy)
    "a slice of a data set decodes into a store as large as its whole domain (placement counted the slice)")
add('overwrite_deletes_any_folder', '02a_runs', '    if (theirs or resume) and not self.is_run():',
    '    if resume and not self.is_run():',
    ['nbs/02a_runs.ipynb'], "--overwrite deletes a folder noisyfast never made (name: photos beside the photos)")
add('resume_restarts_the_clock', '02a_runs', "    self._t0 = t0 - self.state.get('seconds', 0.)\n",
    '    self._t0 = t0\n', ['nbs/02a_runs.ipynb', RESUME],
    'a resumed run reports only its last invocation as total_seconds')
add('final_unlabel_train_size', '10_pipeline',
    "            r, m['rounds'], cdata = pr.fit, pr.rounds, dataclasses.replace(cdata, train=pr.train)\n",
    "            r, m['rounds'] = pr.fit, pr.rounds\n", ['nbs/10_pipeline.ipynb'],
    'the final stage with clean.action unlabel reports the kept labels as the set its model trained on')
add('stage_seconds_last_fit', '10_pipeline', 'stage=st.name, tta=tta, seconds=took),',
    'stage=st.name, tta=tta),', ['nbs/10_pipeline.ipynb'],
    "a stage's seconds are its last model's fit: a pseudo round's stage misses the others")
add('noise_error_vs_injected', '07_clean',
    "            m['noise_matrix_error'] = matrix_error(cr.noise_matrix, real)",
    "            m['noise_matrix_error'] = matrix_error(cr.noise_matrix, ctx.noise.matrix)",
    ['nbs/10_pipeline.ipynb'],
    "with strikes, cleanlab's estimate is scored against the noise before the relabels")
add('override_alias_shared', '00_config',
    "        stages = tr['stages'] = [dict(s) if isinstance(s, dict) else s for s in stages]\n",
    "        tr['stages'] = stages\n", ['nbs/00_config.ipynb'],
    'train.stages.0.epochs=1 changes every stage a YAML alias repeats')
add('override_hash_cut', '00_config',
    "    if _COMMENT.search(s) and not s.startswith(('\"', \"'\", '[', '{')): return s\n", '',
    ['nbs/00_config.ipynb'], "name=exp #2 on the command line names the run 'exp'")
add('mixup_partner_own_weight', '03_losses',
    '        if shuffle is not None and mix.stack_y and targ is mix.yb1[0]: '
    'return w[shuffle.to(w.device)]\n', '',
    ['nbs/03_losses.ipynb'], "a MixUp partner's label trains with the weight of the image it is mixed into")
add('report_source_unordered', '09_report',
    '        src = load_source(d.name, d.path, download_ok=False, classes=d.classes, '
    'label_columns=d.label_columns)\n',
    '        src = load_source(d.name, d.path, download_ok=False)\n', ['nbs/09_report.ipynb'],
    "with data.classes in another order, the report's galleries show other files than the ones flagged")
add('report_source_with_skipped', '09_report',
    "        r['_source'] = cfg, without_skipped(src, (r.get('data') or {}).get('skipped'))\n",
    "        r['_source'] = cfg, src\n", ['nbs/09_report.ipynb'],
    "with data.skip_bad, every gallery image after a skipped file is the next file's")

add('frozen_grads_kept', '05_train', '        if not p.requires_grad: p.grad = None\n', '        pass\n',
    ['nbs/05_train.ipynb'], "a frozen phase after an unfrozen one still moves the 'frozen' body (stale momentum, decay)")
add('builtin_key_no_decoder', '01_data', "[f'decoder {DECODE_VERSION}'] + ['/'.join(", "['/'.join(",
    ['nbs/01_data.ipynb'], "a built-in data set's cache decoded by an older decoder is read as if current")
add('stratified_no_floor', '01_data',
    "int(every_class and (n if n >= 1 else n * len(y)) >= len(classes))", '0',
    ['nbs/01_data.ipynb', 'nbs/13_audit.ipynb'], 'a rare class rounds to none: left out of the labels or the audit')
add('keep_labels_drop_class', '01_data', 'stratified_take(pool.y, n, seed, every_class=True)',
    'stratified_take(pool.y, n, seed)', ['nbs/01_data.ipynb'],
    'a rare class keeps no label with data.n_labeled: the model never learns it')
add('audit_subset_random', '13_audit', '    return stratified_take(y, most, seed, every_class=True)\n',
    '    return np.sort(np.random.default_rng(seed).choice(len(y), most, replace=False))\n',
    ['nbs/13_audit.ipynb'], 'the audit draws a plain random subset: a rare class may be left out of it')

add('overwrite_any_config', '02a_runs', "    return isinstance(st, dict) and isinstance(st.get('done'), list)\n",
    "    return self.has('config')\n", ['nbs/02a_runs.ipynb'],
    "--overwrite deletes a project of the user's that has a config.yaml")
add('predict_resize_not_rrc', '15_predict', 'augment=valid_augment(m.augment)', "augment='none'",
    ['nbs/15_predict.ipynb'], 'noisyfast predict frames files unlike training with augment: rrc: other classes')
add('load_fit_resize_not_rrc', '05_train', 'augment=valid_augment(cfg.train.augment)', "augment='none'",
    ['nbs/15_predict.ipynb'], "a resumed rrc run's model scores files framed unlike its training")
add('final_init_unchecked', '10_pipeline', '    try: check_weights_file(cfg.model, cfg.train, path, n_in=n_in)\n',
    '    try: pass\n', ['tests/test_bad_config.py::test_run_refuses_a_final_init_it_could_not_load_before_training'],
    'a final.init of another arch is found only after every earlier stage trained')
add('audit_flags_recomputed', '13_audit', "                  label_flags=clean_flags(ctx.run, ctx.checked)[pos])",
    ")", ['tests/test_audit_stage.py::test_audit_subset_flags_what_the_clean_stage_flagged'],
    "the audit of a subset flags other labels than the clean stage pruned")
add('audit_no_sizes', '13_audit', 'sizes=file_sizes(tr.x), ', '',
    ['tests/test_audit_stage.py::test_audit_odd_size_and_unchecked_leaks'],
    'odd_size never runs in a run: a 200x40 photo among 32 px ones is not flagged')
add('leaks_said_zero_unchecked', '13_audit', "    if 'is_near_duplicate_issue' in tab: # leaks", '    if True: # leaks',
    ['nbs/13_audit.ipynb', 'tests/test_audit_stage.py::test_audit_odd_size_and_unchecked_leaks'],
    'with near_duplicate left out of audit.checks, train/test leaks are reported as 0')
add('leaks_count_pairs', '13_audit', "        n = len(np.unique(np.where(lk.split_a == 'train', lk.index_a, lk.index_b)))",
    '        n = len(lk)', ['nbs/13_audit.ipynb'], "train_test_leak counts pairs in the 'images' column")

add('one_class_cleanlab', '13_audit', '    checked = len(np.unique(y)) > 1 #', '    checked = True #',
    ['nbs/15_predict.ipynb'], 'predict --labels folders on a folder of one class stops with cleanlab\'s error')
add('idle_annotator_unchecked', '14_annotators', '    if idle: raise DataError(', '    if False: raise DataError(',
    ['nbs/14_annotators.ipynb'], "an annotator with no label in the run stops CROWDLAB with cleanlab's error")
add('valid_noise_rounded_alike', '02_noise', 'exact=i == 0, **kw)', 'exact=True, **kw)', ['nbs/02_noise.ipynb'],
    'one valid image per class: its labels all clean at 40 % noise, all wrong at 60 %')

add('csv_log_under_fit', '05a_track', "CSVTracker(rf.file('csv_logs').resolve()/", "CSVTracker(rf.file('csv_logs')/",
    ['nbs/05a_track.ipynb'], "track: csv with output_dir trained (relative) writes under each fit's folder")
add('in_chans_unchecked', '05_train', '    _check_in_chans(cfg, data, loader)\n', '', ['nbs/05_train.ipynb'],
    'model.in_chans: 1 on colour photos fails at the first batch with a convolution error')
add('null_not_default', '00_config', '            _del_dotted(d, k); continue', '            pass',
    ['nbs/00_config.ipynb', 'tests/test_bad_config.py::test_command_line_undoes_a_yaml_setting_and_keeps_text'],
    'noise.rate=null is refused: a noisy YAML cannot be run clean from the command line')
add('text_key_as_number', '00_config', '            v = raw # name=2024', '            pass # name=2024',
    ['nbs/00_config.ipynb'], 'name=2024 on the command line is refused as a number')

add('arch_any_callable', '05_train', "_model_function(getattr(mod, arch, None))", "callable(getattr(mod, arch, None))",
    ['nbs/05_train.ipynb'], "model.arch: XResNet passes the check and fails after the data stage")

add('pseudo_rounds_not_kept', '06_pseudo', '                          load=ctx.load_model)', '                          load=None)',
    ['tests/test_hardening.py::test_interrupted_pseudo_stage_resumes_after_its_finished_rounds'],
    'a resumed pseudo stage trains every finished round again')
add('sweep_column_unnamed', '10a_sweep', "_c=named(res, cols) if cols else value", "_c=lab(res, cols) if cols else value",
    ['nbs/10a_sweep.ipynb'], "results.md's columns say 1, 2 for seeds, not which setting they are")

add('own_labels_called_clean', '02_noise', "        for sp in (*splits, data.unlabeled): sp.y_true = ref[sp.idx]\n",
    "        for sp in (*splits, data.unlabeled): sp.y_true = ref[sp.idx]\n        data.true_known = True\n",
    ['tests/test_hardening.py::test_run_prints_the_chosen_size_and_whose_test_labels'],
    "noise injected into your own labels: the summary calls your test labels clean")
add('notes_not_said', '10_pipeline', "            if not n.startswith('skipped '): ctx.say(n)",
    "            if n.startswith(('image size', 'grey depth', 'consensus')): ctx.say(n)",
    ['tests/test_bad_data.py::test_a_run_says_the_files_it_leaves_out'],
    'a run leaves out non-image files without a word (only data.json says so)')
add('resume_refuses_unstarted_change', '02a_runs', '    self.changed = self.unstarted(diff)', '    self.changed = []',
    ['nbs/02a_runs.ipynb', 'tests/test_hardening.py::test_resume_takes_new_settings_of_a_stage_not_started'],
    "final.enabled cannot be turned on when resuming a run killed in its clean stage")

# session 30: a fourth review (the divide stage's numerics, image framing across paths, a new user's walk)
add('strong_view_aliased', '07a_divide', '    x = self._colour(_shrink_for(x, size, theta).contiguous(), p)',
    '    x = self._colour(x.contiguous(), p)', ['nbs/07a_divide.ipynb'],
    "divide's strong views of photos decoded at twice the size read 2x2 pixels per output pixel (aliased)")
add('divide_keeps_alpha', '07a_divide', '                 alpha=1., beta=1.) #', '                 ) #',
    ['nbs/07a_divide.ipynb'], 'train.alpha with nce+rce: divide dies after the baseline and every fold model')
add('quota_rounds_to_none', '07a_divide', '    return max(int(round((1 - rate) * n)), math.ceil((1 - max_noise) * n - 1e-9))',
    '    return int(round((1 - rate) * n))', ['nbs/07a_divide.ipynb'],
    'a class of 2 images at the max_noise cap keeps none of its labels (round half to even)')
add('divide_loss_unsaid', '07a_divide', "    on = dict(loss=tc.loss != 'ce', label_smoothing=tc.label_smoothing,",
    '    on = dict(', ['nbs/07a_divide.ipynb'], "train.loss: nce+rce is silently not divide's loss")
add('robustness_stretched_files', '08_evaluate',
    '        tbl = robustness_table(lambda a: predict(res, a, ev.tta, framed=True), # each file as the model saw it\n'
    '                               model_view(res, test), test.y, kinds=ev.kinds,',
    '        tbl = robustness_table(lambda a: predict(res, a, ev.tta),\n'
    '                               ctx.arrays.images(test), test.y, kinds=ev.kinds,',
    ['tests/test_fastai_tools.py::test_robustness_of_a_fastai_pipeline_model_scores_the_test_images_as_the_run_did'],
    "robustness of a fastai-loader model cuts files of another shape from the run's stretched arrays")
add('model_view_random_crop', '05_train', '    dl.before_iter() # their split_idx', '    pass # their split_idx',
    ['tests/test_fastai_tools.py::test_robustness_of_a_fastai_pipeline_model_scores_the_test_images_as_the_run_did'],
    "the robustness stage perturbs a random training crop of each file, not the validation crop the model saw")
add('resume_typo_silent', '10_pipeline', "        say(f'{RunFolder.of(cfg).path}: no such run yet: starting it')",
    '        pass', ['tests/test_hardening.py::test_resume_of_a_run_not_there_says_it_starts_it'],
    '--resume with a mistyped name= trains a whole new run without a word')
add('timings_clean_kept', '09_report', "    n = lambda s: s.get('checked', s.get('train_size', s.get('images')))",
    "    n = lambda s: s.get('train_size', s.get('images'))", ['nbs/09_report.ipynb'],
    "report.md's timings give the clean stage the labels it kept, not the ones its folds checked")
add('fastai_gray_ignored', '05_train',
    "        ('data.channels: gray', 'data.channels: auto', cfg.data.channels == 'gray')) if on]",
    "        ) if on]", ['nbs/05_train.ipynb'], "data.channels: gray on fastai's loader trains on colour, unsaid")
add('gallery_squeezed', '09_report', '        th, tw = max(1, round(h * s / max(h, w))), max(1, round(w * s / max(h, w)))',
    '        th, tw = s, s', ['nbs/09_report.ipynb'], "a gallery's portrait photo among landscape ones is squeezed")
add('gallery_first_file_grey', '09_report', "gray=cfg.data.channels == 'gray')",
    "gray=open_image(xs[idx[0]]).shape[-1] == 1)", ['nbs/09_report.ipynb'],
    "a gallery whose first image is grey shows every colour photo grey")
add('predict_ignores_run_tta', '11_cli', '    tta = m.tta if args.tta is None else args.tta', '    tta = bool(args.tta)',
    ['nbs/15_predict.ipynb'], 'noisyfast predict scores without the flip TTA the run scored its test images with')
add('compare_hides_settings', '09_report', "    extra = other_settings([r['config'] for r in runs])",
    '    extra = pd.DataFrame(index=range(len(runs)))', ['nbs/09_report.ipynb'],
    'noisyfast report of two runs with other clean.folds says nothing of it')
add('folds_fix_names_unset_keys', '10_pipeline', 'only part of them)" if cut', 'only part of them)" if True',
    ['nbs/10_pipeline.ipynb'], 'a class of 2 photos: told to set data.n_labeled, which is not set')
add('unmeasured_class_unsaid', '10_pipeline', '        for w in unmeasured_classes(data): ctx.warn(w)', '        pass',
    ['tests/test_bad_data.py::test_a_class_of_one_photo_is_said_to_go_unmeasured'],
    'a class with no valid or test image: its accuracy silently not measured')
add('own_test_labels_reference', '09_report', "    return bool(d['true_known']) if 'true_known' in d else",
    "    return True if 'true_known' in d else", ['nbs/09_report.ipynb'],
    "report.md calls your own photos' test labels the reference labels")
add('lr_suggests_lr_mult', '00_config',
    "        if '.' in key and _norm(k.split('.')[0]) == top and _norm(k.split('.')[-1]) == leaf: return k",
    '        pass', ['nbs/00_config.ipynb'], 'train.lr typed: did you mean train.lr_mult (the lr divisor)?')

def copy_repo(dest:Path) -> Path:
    "The tracked files (and untracked, not ignored ones) of the working tree, copied to `dest`"
    files = subprocess.run(['git', 'ls-files', '-co', '--exclude-standard'], cwd=ROOT, capture_output=True,
                           text=True, check=True).stdout.split('\n')
    for f in filter(None, files):
        src = ROOT/f
        if not src.is_file(): continue
        (dest/f).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest/f)
    return dest

def export_cells(nb:dict) -> list:
    return [c for c in nb['cells'] if c['cell_type'] == 'code' and '#| export' in ''.join(c['source'])]

def plant(repo:Path, m:Mutant):
    "Apply `m` to its notebook in `repo` and re-export the package"
    path = repo/'nbs'/f'{m.nb}.ipynb'
    nb = json.loads(path.read_text())
    hits = [c for c in export_cells(nb) if m.old in ''.join(c['source'])]
    n = sum(''.join(c['source']).count(m.old) for c in hits)
    if n != 1:
        raise SystemExit(f'mutant {m.name}: {m.old!r} occurs {n} times in the export cells of '
                         f'{path.name}; update the mutant to the current code')
    c = hits[0]
    c['source'] = ''.join(c['source']).replace(m.old, m.new).splitlines(keepends=True)
    path.write_text(json.dumps(nb, indent=1, ensure_ascii=False) + '\n')
    subprocess.run(['nbdev-export'], cwd=repo, env=env(repo), check=True, capture_output=True)
    r = subprocess.run([sys.executable, '-c', 'import noisyfast.pipeline, noisyfast.cli'], cwd=repo,
                       env=env(repo), capture_output=True, text=True)
    if r.returncode != 0: # a mutant that does not even import is no test of the tests
        raise SystemExit(f'mutant {m.name} breaks the import of noisyfast:\n{r.stderr[-2000:]}')

def env(repo:Path) -> dict:
    return tree_env(repo)

def failure(out:str) -> str:
    "The line that says why a test failed: the last assertion or error line of its output"
    keep = [l.strip() for l in out.splitlines() if re.match(r'\s*(E\s+)?\w*(Error|Exception|Failure)\b', l)
            and 'Warning' not in l]
    return (keep[-1] if keep else out.strip().splitlines()[-1] if out.strip() else '')[:160]

def run_tests(repo:Path, tests:list, timeout:float) -> tuple:
    "(all passed, the first failing test, why it failed, seconds)"
    t0 = time.time()
    for t in tests:
        cmd = (['nbdev-test', t] if t.endswith('.ipynb') else
               [sys.executable, '-m', 'pytest', '-q', '-x', '--runslow', '-p', 'no:cacheprovider', t])
        try: r = subprocess.run(cmd, cwd=repo, env=env(repo), capture_output=True, text=True, timeout=timeout)
        except subprocess.TimeoutExpired:
            return False, t, f'timed out after {timeout:.0f} s', time.time() - t0
        if r.returncode != 0: return False, t, failure(r.stdout + r.stderr), time.time() - t0
    return True, None, '', time.time() - t0

def restore(repo:Path):
    "Put the pristine notebooks and package back"
    for d in ('nbs', 'noisyfast'):
        shutil.rmtree(repo/d)
        shutil.copytree(ROOT/d, repo/d, ignore=shutil.ignore_patterns('__pycache__', '.ipynb_checkpoints'))

def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    p.add_argument('--only', nargs='*', help='mutant names')
    p.add_argument('--list', action='store_true', help='list the mutants and exit')
    p.add_argument('--baseline', action='store_true', help='first run every test used on the unmutated copy')
    p.add_argument('--timeout', type=float, default=900, help='seconds per test command')
    p.add_argument('--note', default='', help='a line for the results file (e.g. what else ran)')
    p.add_argument('--out', default=None, help='results file stem: writes STEM.md and STEM.json '
                   '(default: results/cpu-mutants, and with --only no file)')
    a = p.parse_args(argv)
    ms = [m for m in MUTANTS if not a.only or m.name in a.only]
    if a.list: # with a check that each mutant still finds its place in today's code
        for m in ms:
            nb = json.loads((ROOT/'nbs'/f'{m.nb}.ipynb').read_text())
            n = sum(''.join(c['source']).count(m.old) for c in export_cells(nb))
            print(f'{m.name:28s} {m.nb:12s} {"ok" if n == 1 else f"STALE ({n} places)":14s} {m.why}')
        return
    rows, t_all = [], time.time()
    with tempfile.TemporaryDirectory(prefix='noisyfast-mutants-') as tmp:
        repo = copy_repo(Path(tmp))
        if a.baseline:
            tests = sorted({t for m in ms for t in m.tests})
            ok, bad, why, sec = run_tests(repo, tests, a.timeout)
            print(f'baseline: {"every test passes" if ok else f"FAILS at {bad}: {why}"} ({sec:.0f} s)')
            if not ok: raise SystemExit('the unmutated code fails a test: fix that first')
        for i, m in enumerate(ms):
            plant(repo, m)
            passed, failed, why, sec = run_tests(repo, m.tests, a.timeout)
            restore(repo)
            rows.append(dict(mutant=m.name, notebook=m.nb, bug=m.why, killed='yes' if not passed else 'NO',
                             by=failed or '', failure=why.replace('|', '/'), seconds=round(sec)))
            res = f'killed by {failed}: {why}' if not passed else 'SURVIVED'
            print(f'[{i + 1}/{len(ms)}] {m.name}: {res} '
                  f'({sec:.0f} s)', flush=True)
    killed = sum(r['killed'] == 'yes' for r in rows)
    rate = killed / max(len(rows), 1)
    table = md_table(rows, ['mutant', 'notebook', 'bug', 'killed', 'by', 'failure', 'seconds'], fmt=cell)
    print(f'\n{table}\n\nkilled {killed} of {len(rows)} mutants ({rate:.0%}) in {time.time() - t_all:.0f} s')
    notes = [f'killed {killed} of {len(rows)} mutants: {rate:.0%}',
             'a mutant is killed when one of its tests fails; pytest ran with --runslow, notebooks without '
             'their `#| slow` cells (nbdev-test with no --flags)'] + \
            ([a.note] if a.note else [])
    if a.out or not a.only: # a partial run does not overwrite the full run's file
        out = Path(a.out or RESULTS/'cpu-mutants')
        write_results(out.name, 'Mutation testing: planted bugs the tests catch', settings=dict(
            mutants=len(rows), timeout=a.timeout), sections=[('Mutants', table)], notes=notes,
            data=dict(rows=rows, killed=killed, rate=rate), folder=out.parent)

if __name__ == '__main__': main()
