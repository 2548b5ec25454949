"""Offline evaluation of generators: evaluator classifiers, metrics, reports."""
