"""rdbench.sandbox"""
