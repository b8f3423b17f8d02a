"""rdbench.cli"""
