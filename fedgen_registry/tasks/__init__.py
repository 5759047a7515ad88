"""Tasks: what a federation trains and how the result is judged (image, table, text generation).

A task loads and partitions its data, builds networks, and evaluates the final server in ``finish``;
strategies and implementations build on a task so that every method of a family is judged alike.
"""
