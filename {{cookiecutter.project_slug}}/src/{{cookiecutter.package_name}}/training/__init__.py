"""Training a model on the dataset and evaluating it on its holdout, with the run's record."""
