"""The code the notebooks teach, exported from their ``#| export`` cells by
``python -m helpers.export`` (one module per notebook; see ``helpers/export.py``).

Do not edit these modules: edit the notebook cell and export again. ``tests/test_lesson.py``
fails while a module differs from its notebook.

- ``combiners``: notebook 05 (log-loss, combiners, the weighted-average layer, cross-fitting);
- ``judging``: notebook 06 (temperature scaling, ECE, paired bootstrap, McNemar);
- ``corruptions``: notebook 07 (ImageNet-C corruptions, scoring under shift);
- ``distillation``: notebook 08 (the distillation loss).
"""
