"""rdbench.tasklib"""
