"""METR Task Standard families in rdbench: their image (environment, ``install``), their root-side
steps in sandboxes of their own, and the Inspect task that runs one sample per task of a family
(``docs/metr-tasks.md``)."""
