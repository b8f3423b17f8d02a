"""rdbench.harness"""
