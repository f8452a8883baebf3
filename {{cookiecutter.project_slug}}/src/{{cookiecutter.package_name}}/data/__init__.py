"""The data: its contract, tables, validation and its cache, the dataset, DVC, recent data.

Imports the model stage (the contract reads a trained model's columns and params.yaml's roles).
"""
