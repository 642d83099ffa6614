"""The code the notebooks teach, exported from their cells by ``python -m helpers.export``: each
notebook names its module in its ``#| default_exp`` cell and marks the cells it exports with
``#| export``.

Do not edit these modules: edit the notebook cell and export again. ``tests/test_lesson.py``
fails while a module differs from its notebook.
"""
