"""The shared plotting helpers of vanishing.plots._style, and figures of runs that diverged.

A diverging run leaves losses and gradient norms near 1e300 next to ordinary values; a log axis over that
range once made matplotlib overflow (a RuntimeWarning, then "cannot convert float infinity to integer").
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
from matplotlib.text import Text

import vanishing as vn
from vanishing.plots._style import (
    LOG_CEILING,
    LOG_FLOOR,
    clamp_log_limits,
    log_decades,
    new_figure,
    power_of_ten,
    to_png,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("exponent", "text"), [(0, "1"), (1, "10"), (2, "10²"), (-20, "10⁻²⁰"), (2.9999999, "10³"),
                                                (np.inf, ""), (-np.inf, ""), (np.nan, "")])
def test_power_of_ten(exponent, text):
    assert power_of_ten(exponent) == text


def test_log_decades_of_values_whose_ratio_overflows():
    values = np.array([1e-20, 3.0, 1e300, np.inf, np.nan, 0.0, -5.0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert log_decades(values) == pytest.approx(320.0)
    assert log_decades(np.array([2.0, 2.0])) == 0.0
    assert log_decades(np.array([0.0, -1.0, np.nan])) == 0.0
    assert log_decades([1.0, 10.0]) == pytest.approx(1.0)


def test_clamp_log_limits_widens_by_the_margin_in_decades():
    fig = new_figure()
    ax = fig.axes[0]
    clamp_log_limits(ax, np.array([1e-2, 1e2]))
    low, high = ax.get_ylim()
    assert np.log10(low) == pytest.approx(-2.2) and np.log10(high) == pytest.approx(2.2)
    clamp_log_limits(ax, np.array([5.0]), axis="x")  # one value: a small fixed margin
    low, high = ax.get_xlim()
    assert low < 5.0 < high and np.log10(high / low) == pytest.approx(0.1)


def test_clamp_log_limits_ignores_values_it_cannot_place():
    fig = new_figure()
    ax = fig.axes[0]
    before = ax.get_ylim()
    clamp_log_limits(ax, np.array([0.0, -1.0, np.inf, np.nan]))
    assert ax.get_ylim() == before
    with pytest.raises(ValueError, match="axis='z'.*allowed: 'x', 'y'"):
        clamp_log_limits(ax, np.array([1.0]), axis="z")


def test_a_log_axis_over_three_hundred_decades_draws_without_warnings():
    fig = new_figure()
    ax = fig.axes[0]
    loss = np.array([0.7, 1e-14, 3.0, 1e120, 1e278, 1e306])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        clamp_log_limits(ax, loss)  # before the scale: the log scale autoscales at once
        ax.set_yscale("log")
        ax.plot(np.arange(loss.size), loss)
        png = to_png(fig)
    low, high = ax.get_ylim()
    assert LOG_FLOOR <= low and high <= LOG_CEILING
    assert png.startswith(PNG_MAGIC)


# settings the widget fuzz test found: each diverges, with finite losses up to about 1e278 before the first inf
DIVERGING = {
    "dying_explorer": {"lr": 3.1622776601683795, "bias": 0.1, "optimizer": "momentum", "weight_decay": 0.01,
                       "batchnorm": False, "steps": 400, "seed": 546787295},
    "gradient_dashboard": {"dataset": "circles", "depth": 12, "width": 28, "activation": "leaky_relu",
                           "init": "normal", "scale": 10.0, "bias": -2.4, "batchnorm": "none", "optimizer": "sgd",
                           "lr": 10.0, "momentum": 0.99, "weight_decay": 0.094, "batch_size": 64, "steps": 850,
                           "seed": 269365177},
}


@pytest.mark.parametrize("name", sorted(DIVERGING))
def test_a_diverged_run_is_drawn_not_reported_as_an_error(name):
    app = getattr(vn.widgets, name)()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            app.set(**DIVERGING[name])
            app.run_button.click()
        assert app.error is None, f"{name} shows a message instead of the diverged run: {app.message.value}"
        assert app.png.startswith(PNG_MAGIC)
        shown = " ".join(text.get_text() for text in app.figure.findobj(Text)) + app.message.value
        assert "diverged" in shown, f"{name}: nothing on the figure or in the message says the run diverged"
    finally:
        app.close()


@pytest.mark.parametrize(("low", "high"), [(0.2, 1.5), (0.03, 2.0), (1e-6, 1.0), (0.5, 0.9)])
def test_a_log_axis_labels_at_least_three_ticks(low, high):
    """Decade ticks alone would label one point of a loss between 0.2 and 1.5, which nobody can read."""
    from vanishing.plots._style import log_y

    fig = new_figure()
    ax = fig.axes[0]
    values = np.geomspace(low, high, 50)
    ax.plot(values)
    log_y(ax, values)
    fig.canvas.draw()
    lo, hi = ax.get_ylim()
    labels = [tick.get_text() for tick, where in zip(ax.get_yticklabels(), ax.get_yticks(), strict=True)
              if lo <= where <= hi and tick.get_text()]
    assert len(labels) >= 3, f"values from {low} to {high}: labelled ticks {labels}"


def test_log_tick_labels():
    from vanishing.plots._style import log_tick_label

    assert [log_tick_label(v) for v in (1e-3, 2e-5, 0.5, 20.0, 0.1, 1.0, 0.0, np.inf)] == \
        ["10⁻³", "2·10⁻⁵", "0.5", "20", "10⁻¹", "1", "", ""]
    assert [log_tick_label(v, plain_decades=True) for v in (0.1, 1.0, 10.0, 1e-3, 0.2)] == \
        ["0.1", "1", "10", "10⁻³", "0.2"]
