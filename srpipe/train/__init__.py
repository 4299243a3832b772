"""Training SR models: config, paired-patch datasets, losses, the network, its
optimisation, DDP, the resume state and the trainer.

Imported only by ``srpipe train`` (it pulls in torch).
"""
