"""Monitoring: recent data collected from the prediction log, drift (Evidently), retraining."""
