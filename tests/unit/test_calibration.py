"""Calibration metrics against values worked out by hand.

Pairs (auto, real): (5,5) (4,5) (3,2) (1,2) (2,1)
- MAE = (0 + 1 + 1 + 1 + 1) / 5 = 0.8; means 15/5 = 3 on both sides
- Pearson: deviations auto (2, 1, 0, -2, -1), real (2, 2, -1, -1, -2); Sxy = 4+2+0+2+2 = 10, Sxx = 10, Syy = 14
  -> 10 / sqrt(140) = 0.845154
- Spearman: ranks auto (5, 4, 3, 1, 2); real 5,5,2,2,1 -> (4.5, 4.5, 2.5, 2.5, 1) (ties share their average rank)
  deviations from 3: (2, 1, 0, -2, -1) and (1.5, 1.5, -0.5, -0.5, -2); Sxy = 3+1.5+0+1+2 = 7.5, Sxx = 10, Syy = 9
  -> 7.5 / sqrt(90) = 0.790569
- exact 1/5; within one point 5/5
"""

from __future__ import annotations

from datetime import date

import pytest

from concierge.surveys.calibration import calibrate, pairs_between, pearson, ranks, spearman, table

PAIRS = [(5, 5), (4, 5), (3, 2), (1, 2), (2, 1)]


def test_metrics_match_the_hand_computed_values():
    report = calibrate(PAIRS)
    assert report.pairs == 5
    assert report.mae == pytest.approx(0.8)
    assert (report.mean_auto, report.mean_real) == (pytest.approx(3.0), pytest.approx(3.0))
    assert report.pearson == pytest.approx(10 / 140**0.5) == pytest.approx(0.845154, abs=1e-6)
    assert report.spearman == pytest.approx(7.5 / 90**0.5) == pytest.approx(0.790569, abs=1e-6)
    assert report.exact == pytest.approx(0.2)
    assert report.within_one == pytest.approx(1.0)


def test_the_confusion_table_has_auto_in_rows_and_the_answer_in_columns():
    confusion = calibrate(PAIRS).confusion
    assert confusion == [
        [0, 1, 0, 0, 0],  # auto 1: answered 2
        [1, 0, 0, 0, 0],  # auto 2: answered 1
        [0, 1, 0, 0, 0],  # auto 3: answered 2
        [0, 0, 0, 0, 1],  # auto 4: answered 5
        [0, 0, 0, 0, 1],  # auto 5: answered 5
    ]
    assert sum(map(sum, confusion)) == len(PAIRS)


def test_ties_share_their_average_rank():
    assert ranks([5, 5, 2, 2, 1]) == [4.5, 4.5, 2.5, 2.5, 1.0]
    assert ranks([3, 1, 2]) == [3.0, 1.0, 2.0]


def test_a_perfect_and_a_reversed_prediction():
    assert calibrate([(1, 1), (3, 3), (5, 5)]).pearson == pytest.approx(1.0)
    assert calibrate([(1, 5), (3, 3), (5, 1)]).spearman == pytest.approx(-1.0)
    # monotonic but not linear: Spearman is 1, Pearson is not
    # auto (1, 2, 5), mean 8/3: deviations (-5/3, -2/3, 7/3); real (1, 2, 3): (-1, 0, 1)
    # Sxy = 5/3 + 0 + 7/3 = 4, Sxx = (25 + 4 + 49)/9 = 26/3, Syy = 2 -> 4 / sqrt(52/3) = 0.960769
    assert spearman([1, 2, 5], [1, 2, 3]) == pytest.approx(1.0)
    assert pearson([1, 2, 5], [1, 2, 3]) == pytest.approx(4 / (52 / 3) ** 0.5) == pytest.approx(0.960769, abs=1e-6)


def test_no_variance_or_no_pairs_gives_no_correlation_rather_than_a_number():
    constant = calibrate([(4, 5), (4, 3)])
    assert constant.pearson is None and constant.spearman is None
    assert constant.mae == pytest.approx(1.0)
    empty = calibrate([])
    assert empty.pairs == 0 and empty.mae is None and empty.pearson is None


def test_scores_off_the_scale_are_refused():
    with pytest.raises(ValueError, match=r"1 to 5, got \(0, 3\)"):
        calibrate([(0, 3)])


def test_the_markdown_table():
    text = table(calibrate(PAIRS))
    assert "| 5 | 0.80 | 0.85 | 0.79 | 20% | 100% | 3.00 | 3.00 |" in text
    assert "| 4 | 0 | 0 | 0 | 0 | 1 |" in text


class DayPartitions:
    def __init__(self, days: dict[date, list[dict]]) -> None:
        self.days = days
        self.asked: list[date] = []

    def pairs(self, day: date) -> list[dict]:
        self.asked.append(day)
        return self.days.get(day, [])


def test_stored_pairs_are_read_one_day_at_a_time_inclusive():
    store = DayPartitions(
        {
            date(2026, 11, 1): [{"auto": 4, "real": 5}],
            date(2026, 11, 3): [{"auto": 2, "real": 1}],
            date(2026, 11, 4): [{"auto": 5, "real": 5}],
        }
    )
    assert pairs_between(store, date(2026, 11, 1), date(2026, 11, 3)) == [(4, 5), (2, 1)]
    assert store.asked == [date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)]
    with pytest.raises(ValueError):
        pairs_between(store, date(2026, 11, 3), date(2026, 11, 1))
