"""Datasets: the offline training corpus, benchmark-set fetchers and path resolution."""
