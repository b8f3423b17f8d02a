"""rdbench: a benchmark of machine-learning research engineering for AI agents and people.

Built on Inspect AI. Layers, each a subpackage, import downwards only::

    cli -> analysis -> agents -> harness -> scoring -> sandbox -> task
"""

__version__ = "0.1.0"
