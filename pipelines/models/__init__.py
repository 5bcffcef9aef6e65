"""Data files of the pipelines: `topics.json.gz` is the bundled topic classifier
(written by `scripts/train_topics.py`). A package so the file ships in wheels."""
