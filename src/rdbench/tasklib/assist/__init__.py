"""Shared generator of the research-assistance families: clean scripts, fault injector, runner."""
