"""rdbench.analysis"""
