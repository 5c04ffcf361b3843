"""Notebook 08 (capstone): the dashboard's recordings, the mystery networks, the checks and the live widget."""

from __future__ import annotations

import math
import threading
import time

import numpy as np
import pytest

import vanishing as vn
from vanishing.checks import check_diagnosis, check_fix
from vanishing.diagnostics import collect_activations
from vanishing.experiments.capstone import (
    CAUSES,
    FIX_ACCURACY,
    FIXED_FOR_FIX,
    MYSTERIES,
    SCENARIOS,
    DashboardRun,
    DashboardSettings,
    DashboardTrainer,
    dashboard_data,
    fixed_settings,
    init_options,
    mystery_run,
    optimizer_options,
    symptom_table,
    symptoms,
    train_dashboard,
)
from vanishing.plots.capstone import dashboard
from vanishing.train import Callback

# ------------------------------------------------------------------------------------------------ settings and data


def test_settings_reject_bad_values_naming_the_setting():
    with pytest.raises(ValueError, match="activation='swish' is not known; allowed: 'identity'"):
        DashboardSettings(activation="swish")
    with pytest.raises(ValueError, match=r"depth=0 is out of range; allowed: \[1, 20\]"):
        DashboardSettings(depth=0)
    with pytest.raises(ValueError, match="seed=-1"):
        DashboardSettings(seed=-1)
    with pytest.raises(TypeError, match="unknown setting.*'learning_rate'.*allowed: dataset"):
        DashboardSettings().replace(learning_rate=0.1)


def test_init_scale_goes_to_the_initializers_own_option():
    assert init_options("uniform", 0.5) == {"limit": 0.5}
    assert init_options("normal", 2.0) == {"std": 2.0}
    assert init_options("he_uniform", 1.5) == {"gain": 1.5}
    assert init_options("glorot_normal", 1.0) == {"gain": 1.0}


def test_optimizer_settings_reach_the_right_keywords():
    common = dict(lr=0.1, momentum=0.9, beta1=0.8, beta2=0.99, weight_decay=0.01)
    assert optimizer_options("sgd", **common) == {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01}
    assert optimizer_options("rmsprop", **common) == {"lr": 0.1, "rho": 0.99, "weight_decay": 0.01}
    assert optimizer_options("adam", **common) == {"lr": 0.1, "beta1": 0.8, "beta2": 0.99, "weight_decay": 0.01}
    assert optimizer_options("adamw", **common) == {"lr": 0.1, "beta1": 0.8, "beta2": 0.99,
                                                    "decoupled_weight_decay": 0.01}
    trainer = DashboardTrainer(optimizer="adamw", weight_decay=0.02, lr=0.003)
    assert isinstance(trainer.optimizer, vn.optim.AdamW)
    assert trainer.optimizer.decoupled_weight_decay == 0.02 and trainer.optimizer.weight_decay == 0.0


@pytest.mark.parametrize("dataset", ["two_moons", "digits"])
def test_data_are_standardized_split_and_fixed(dataset):
    data = dashboard_data(dataset)
    assert dashboard_data(dataset) is data  # drawn once: every run sees the same examples
    n = len(data.X_train) + len(data.X_test)
    assert n == (597 if dataset == "digits" else 400) and len(data.X_test) == round(0.25 * n)
    varying = data.X_train.std(axis=0) > 0
    np.testing.assert_allclose(data.X_train.mean(axis=0), 0.0, atol=1e-12)
    np.testing.assert_allclose(data.X_train.std(axis=0)[varying], 1.0, rtol=1e-12)
    if dataset == "digits":
        assert data.loss == "softmax_ce" and data.outputs == 10 and data.y_train.ndim == 1
    else:
        assert data.loss == "bce_logits" and data.outputs == 1 and data.y_train.shape == (len(data.X_train), 1)


# ------------------------------------------------------------------------------------------------ recordings


@pytest.fixture(scope="module")
def baseline() -> DashboardRun:
    return train_dashboard()


def test_run_records_every_panel_with_consistent_shapes(baseline):
    run = baseline
    s = run.settings
    assert run.complete and not run.diverged and not run.stopped and run.steps == s.steps == 300
    assert run.loss.shape == (300,)
    d, a = s.depth + 1, s.depth
    assert run.grad_norms.shape == run.update_ratio.shape == (len(run.grad_steps), d)
    assert run.grad_steps[0] == 1 and 90 <= len(run.grad_steps) <= 110
    assert run.probe_steps[0] == 0 and run.probe_steps[-1] == 300
    assert run.histograms.shape == (len(run.probe_steps), a, run.hist_edges.shape[1] - 1)
    # every histogram holds all of a layer's probe outputs (as fractions)
    np.testing.assert_allclose(run.histograms.sum(axis=2), 1.0, rtol=1e-12)
    assert run.health_kinds == ("dead",) * a and run.dense_names[0] == "Dense 1"
    assert np.all((run.health >= 0) & (run.health <= 1))
    assert 0.9 <= run.final_accuracy <= 1.0


def test_first_gradient_record_is_the_engines_gradient_of_the_first_batch():
    """Rebuild the network and the first mini-batch by hand and backpropagate: the dashboard must agree."""
    s = DashboardSettings(steps=20)
    run = train_dashboard(s)
    data = dashboard_data(s.dataset)
    rng = np.random.default_rng(s.seed)
    model = vn.mlp([2, *[s.width] * s.depth, 1], s.activation, rng=rng, init=s.init, init_options={"gain": 1.0})
    order = rng.permutation(len(data.X_train))  # fit's first draw from the same generator
    batch = order[:s.batch_size]
    loss = vn.make_loss("bce_logits")
    loss.forward(model.forward(data.X_train[batch]), data.y_train[batch])
    model.backward(loss.backward())
    expected = [np.linalg.norm(layer.grads["W"]) for _, layer in vn.models.dense_layers(model)]
    np.testing.assert_allclose(run.grad_norms[0], expected, rtol=1e-10)
    # and the histogram at step 0 is that of the untrained network's outputs on the probe examples
    activations = collect_activations(model.train(), data.X_train[:128], train_mode=True)
    first_relu = next(a for a in activations if isinstance(a.layer, vn.activations.ReLU))
    edges = run.hist_edges[0]
    counts, _ = np.histogram(np.clip(first_relu.out, edges[0], edges[-1]), bins=edges)
    assert np.abs(run.histograms[0, 0] - counts / first_relu.out.size).sum() <= 2 / first_relu.out.size


def test_a_stop_request_ends_the_run_after_that_step():
    class StopAt(Callback):
        def __init__(self, trainer, step):
            self.trainer, self.step = trainer, step

        def on_step_begin(self, state):
            if state.step == self.step:
                self.trainer.request_stop()

    trainer = DashboardTrainer(steps=200)
    run = trainer.run(callbacks=[StopAt(trainer, 37)])
    assert run.stopped and run.steps == 37 and len(run.loss) == 37
    assert run.probe_steps[-1] == 37 and run.status == "stopped at step 37 of 200"


def test_snapshots_during_training_are_partial_copies():
    seen = []

    class Snap(Callback):
        def on_step_end(self, state):
            if state.step in (1, 60):
                seen.append(trainer.snapshot())

    trainer = DashboardTrainer(steps=120)
    final = trainer.run(callbacks=[Snap()])
    first, middle = seen
    assert not first.complete and first.steps == 1 and len(first.loss) == 1
    assert middle.steps == 60 and len(middle.loss) == 60 and middle.probe_steps[-1] == 60
    assert middle.status == "training: step 60 of 120"
    assert final.complete and final.steps == 120 and len(middle.loss) == 60  # the snapshot did not grow


@pytest.mark.parametrize("name", ["B", "E"])
def test_a_run_without_records_trains_exactly_the_same(name):
    full, quick = mystery_run(name), train_dashboard(MYSTERIES[name], record=False)
    assert list(quick.probe_steps) == [0, full.steps] and len(quick.grad_steps) == 1
    np.testing.assert_array_equal(quick.loss, full.loss)
    assert quick.final_accuracy == full.final_accuracy
    np.testing.assert_array_equal(quick.histograms[-1], full.histograms[-1])


def test_a_diverging_run_returns_its_partial_record_and_the_message():
    run = mystery_run("A")
    assert run.diverged and run.complete and run.steps < 50
    assert "learning rate 2 is probably too high" in run.divergence
    assert not np.isfinite(run.loss[-1]) and math.isnan(run.final_accuracy)
    s = symptoms(run)
    assert s.diverged_at == run.steps and math.isnan(s.test_accuracy)


# ------------------------------------------------------------------------------------------------ the mysteries


def test_every_mystery_fails_and_every_cause_is_a_name_of_the_list():
    assert set(MYSTERIES) == {"A", "B", "C", "D", "E"} and len(CAUSES) == 6
    for name in MYSTERIES:
        run = mystery_run(name)
        assert run.diverged or run.final_accuracy < 0.65, name


def test_mystery_b_has_a_dead_last_layer_and_no_gradient_at_all():
    run = mystery_run("B")
    assert run.health[-1, -1] == 1.0
    assert np.all(run.grad_norms[-10:] == 0.0) and np.all(run.update_ratio[-10:] == 0.0)
    assert math.isnan(symptoms(run).gradient_ratio_end)  # 0 / 0


def test_mystery_c_is_saturated_and_mystery_e_is_not():
    c, e = symptoms(mystery_run("C")), symptoms(mystery_run("E"))
    assert c.saturated > 0.9 and math.isnan(c.dead)
    assert e.saturated < 0.05 and e.gradient_ratio_end < 1e-2 and e.std_last > 0.05


def test_mystery_d_loses_its_signal_layer_by_layer():
    run = mystery_run("D")
    start, end = run.act_std[0], run.act_std[-1]
    assert np.all(np.diff(start) < 0) and start[-1] < 1e-3 * start[0]  # each layer shrinks the signal
    assert np.all(end[1:] < 0.2 * end[0]) and end.min() < 0.01 * end[0]  # 300 steps do not bring it back
    assert symptoms(run).saturated == 0.0


@pytest.mark.parametrize("name, fix", [("A", {"lr": 0.05}), ("B", {"bias": 0.0}),
                                       ("C", {"init": "glorot_uniform", "scale": 1.0}),
                                       ("D", {"init": "glorot_uniform", "scale": 1.0}),
                                       ("E", {"batchnorm": "before"})])
def test_each_mystery_has_a_fix_that_passes(name, fix):
    result = check_fix(name, fix)
    assert result.passed is True, result.message
    assert f"at least {FIX_ACCURACY:.0%} needed" in result.message


def test_fixed_settings_keep_the_task_and_the_size():
    for key in FIXED_FOR_FIX:
        value = getattr(MYSTERIES["B"], key)
        other = {"dataset": "circles"}.get(key, value + 1 if not isinstance(value, str) else value)
        if other == value:
            continue
        with pytest.raises(ValueError, match=f"a fix keeps .*{key}"):
            fixed_settings("B", {key: other})
    assert fixed_settings("B", {"bias": 0.0, "depth": MYSTERIES["B"].depth}).bias == 0.0


def test_symptom_table_rounds_and_marks_missing_values():
    runs = {"B": mystery_run("B"), "A": mystery_run("A")}
    text = symptom_table(runs)
    lines = text.splitlines()
    assert lines[0].startswith("run") and len(lines) == 3
    assert "100%" in lines[1] and f"step {runs['A'].steps}" in lines[2]
    assert "- -> -" in lines[1]  # no gradient at all: 0/0 is not a ratio


# ------------------------------------------------------------------------------------------------ self-checks


def test_diagnosis_check_outcomes():
    assert check_diagnosis("A", None).passed is None
    assert check_diagnosis("a", "Learning_Rate too-high").passed is True
    wrong = check_diagnosis("D", "learning rate too low")
    assert wrong.passed is False and wrong.hint
    unknown = check_diagnosis("B", "exploding gradients")
    assert unknown.passed is False and "dead ReLU" in unknown.message
    assert check_diagnosis("Z", "saturation").passed is False
    answers = {name: next(c for c in CAUSES if check_diagnosis(name, c).passed) for name in MYSTERIES}
    assert len(set(answers.values())) == len(MYSTERIES)  # one cause per mystery, all different


def test_fix_check_refuses_non_fixes():
    assert check_fix("A", ...).passed is None
    assert "nothing changed" in check_fix("A", {"lr": 2.0}).message
    assert check_fix("A", [("lr", 0.1)]).passed is False
    assert "keeps" in check_fix("E", {"depth": 2}).message
    failed = check_fix("E", {"lr": 1.0})
    assert failed.passed is False and "48%" in failed.message and failed.hint


# ------------------------------------------------------------------------------------------------ the figure


def test_dashboard_figure_has_six_panels_and_says_how_the_run_ended(baseline):
    fig = dashboard(baseline)
    texts = " ".join(t.get_text() for t in fig.texts)
    assert "300 steps · test accuracy" in texts
    titles = [ax.get_title() for ax in fig.axes]
    assert titles[:6] == ["training loss and test accuracy", "gradient norm per layer",
                          "update-to-data ratio per layer", "activation histograms over training",
                          "dead units per layer", "gradient norm by layer"]
    diverged = dashboard(mystery_run("A"))
    assert "diverged at step" in " ".join(t.get_text() for t in diverged.texts)
    elu = dashboard(train_dashboard(activation="elu", steps=50))
    assert any("not measured for elu" in t.get_text() for t in elu.axes[4].texts)
    with pytest.raises(TypeError, match="DashboardRun"):
        dashboard({"loss": []})


# ------------------------------------------------------------------------------------------------ the widget


def test_scenarios_and_mysteries_are_in_the_menu():
    app = vn.widgets.gradient_dashboard()
    assert set(app.presets) == set(SCENARIOS) | {f"mystery {name}" for name in MYSTERIES}
    app.preset_picker.value = "mystery C"
    assert app.stale and app.values["activation"] == "tanh" and app.values["scale"] == 3.0
    app.close()


def test_widget_shows_the_divergence_message_with_the_figure():
    app = vn.widgets.gradient_dashboard(preset="mystery A")
    assert app.error is None and app.result.diverged
    assert "Training diverged: loss became" in app.message.value and app.image.layout.display is None
    app.close()


def wait_for(condition, timeout=60.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.01)


def test_background_run_draws_live_frames(monkeypatch):
    from vanishing.widgets import _training

    monkeypatch.setattr(_training, "FRAME_INTERVAL", 0.0)  # the first frame is asked for after the first step
    monkeypatch.setattr(_training.Session, "_ends_first", lambda self, fraction, now: False)  # however short
    app = vn.widgets.gradient_dashboard(steps=200)
    app.background, app.live = True, True
    shown = []
    app.image.observe(lambda change: shown.append(change["new"]), names="value")
    assert app.run() is True
    assert app.run() is False  # one run at a time
    assert app.wait(120)
    # the frame asked for is drawn before the final figure (the run waits for the drawing thread)
    assert len(app.frame_times) >= 1 and len(shown) >= 2 and shown[-1] == app.png
    assert app.result.complete and app.result.steps == 200 and len(app.progress_times) >= 2
    assert not any(t.name.startswith("gradient_dashboard-") and t.is_alive() for t in threading.enumerate())
    app.close()


def test_no_frame_is_asked_for_when_training_ends_before_it_could_be_drawn(monkeypatch):
    from vanishing.widgets import _training

    monkeypatch.setattr(_training, "FRAME_INTERVAL", 0.0)
    app = vn.widgets.gradient_dashboard(steps=200)
    app.background, app.live = True, True
    app.timings["draw"] = 1000.0  # as if a drawing took 1000 s: any frame would outlast the run
    assert app.run() is True
    assert app.wait(120)
    assert app.frame_times == [] and app.result.complete and app.error is None
    assert len(app.progress_times) >= 2
    app.close()


def test_a_frame_is_skipped_only_near_the_end():
    from vanishing.widgets._training import Session

    app = vn.widgets.gradient_dashboard(steps=100)
    app.timings["draw"] = 0.2  # a frame takes 0.2 s to draw
    live = Session(app, frames=True)
    live._started = 0.0
    assert not live._ends_first(0.5, now=1.0)  # 1 s for half the run: 1 s left, more than 1.5 x 0.2 s
    assert live._ends_first(0.5, now=0.2)  # 0.2 s left
    assert not live._ends_first(0.0, now=0.2)  # nothing to estimate from yet
    live._frames.seconds = None
    assert not live._ends_first(0.5, now=0.2)  # no drawing timed yet
    live.close()
    app.close()


def test_stop_button_ends_a_background_run():
    # a slow network (about 10 ms a step), so that the run is still going when Stop is pressed
    app = vn.widgets.gradient_dashboard(preset="06: deep sigmoid + batchnorm before", steps=1000)
    app.background, app.live = True, False
    app.run()
    assert app.running and app.run_button.disabled and not app.stop_button.disabled
    wait_for(lambda: len(app.progress_times) >= 2)
    app.stop_button.click()
    assert app.wait(120)
    run = app.result
    assert run.stopped and run.steps < 1000 and f"Stopped at step {run.steps} of 1000" in app.message.value
    assert not app.run_button.disabled and app.stop_button.disabled and app.progress.layout.display == "none"
    assert np.all(np.diff(app.progress_times) >= 0)
    app.close()


def test_a_control_moved_during_a_background_run_marks_the_result_stale():
    app = vn.widgets.gradient_dashboard(steps=1000)
    app.background, app.live = True, False
    app.run()
    wait_for(lambda: len(app.progress_times) >= 2)
    app.controls["seed"].value = 5
    app.stop()
    assert app.wait(60)
    assert app.stale and "press Run" in app.message.value
    app.close()


def test_synchronous_run_is_deterministic_and_matches_the_experiment(baseline):
    app = vn.widgets.gradient_dashboard()
    assert app._in_background() is False  # no kernel here: Run trains in the calling thread
    app.run_button.click()
    np.testing.assert_array_equal(app.result.loss, baseline.loss)
    np.testing.assert_array_equal(app.result.grad_norms, baseline.grad_norms)
    assert app.frame_times == [] and len(app.progress_times) >= 1
    app.close()
