"""Training SR models: config, paired-patch datasets, losses, DDP helpers and the trainer.

Imported only by ``srpipe train`` (it pulls in torch).
"""
