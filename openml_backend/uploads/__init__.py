"""Dataset uploads: receive a file with a byte limit (`receive`), tell its format by content
(`formats`), check it with bounded memory (`checks`); the modules here know nothing of Flask."""
