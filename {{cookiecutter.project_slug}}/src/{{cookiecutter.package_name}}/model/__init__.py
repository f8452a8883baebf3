"""What a model is: its settings (params.yaml), pipeline, metrics, bootstrap, baseline and files.

The lowest stage: it imports only the shared helpers at the package's top level.
"""
