"""Churn prediction from behaviour: the features (features.py, from activity.py and the other stores), a scorer of a
trained model's artifact (scorer.py, numpy only), and, on a developer's machine only, the synthetic population
(population.py) and the training (train.py, scikit-learn). See docs/churn.md."""
