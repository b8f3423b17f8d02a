"""rdbench.scoring"""
