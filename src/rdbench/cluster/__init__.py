"""Runs at scale: many machines through Slurm (``rdbench run --slurm``, ``rdbench check --slurm``)."""
