"""rdbench.task"""
