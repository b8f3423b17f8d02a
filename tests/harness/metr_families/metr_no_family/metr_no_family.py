"""Test family without a TaskFamily class (malformed)."""


class Family:
    pass
