"""rdbench.agents"""
