"""One module per CLI verb; `srpipe.cli` imports them only when the verb is used."""
